import { stream, type Rng } from '../common/rng.ts';
import type { BackdoorTrigger } from '../protocol/host-api.ts';
import { attackSuccess, poisoned } from './backdoor.ts';
import { labelFlipped } from './label-flip.ts';
import type {
  EvaluateInstructions,
  EvaluateReply,
  FitInstructions,
  FitReply,
  Metrics,
} from '../protocol/messages.ts';
import type { EvaluationConfig, HospitalConfig, TrainingConfig } from '../scenario/schema.ts';
import type { Examples, LocalTrainer, TrainOptions } from '../models/types.ts';
import type { LocalData } from './data/index.ts';
import { BINARY_HEAD, type OutputHead } from '../protocol/outcome.ts';
import { clinicalMetrics, scoreHistogram } from './metrics.ts';
import { classHistograms, meanLoss, multiclassMetrics, regressionMetrics } from './outcome-metrics.ts';
import type { DpSgdConfig } from '../scenario/privacy-schema.ts';
import { dpSteps } from '../models/dp-sgd.ts';
import { initialParameters } from '../models/architecture.ts';
import type { AuditInstructions } from '../protocol/membership-audit.ts';
import { dpSgdEpsilon } from '../common/dp/dp-sgd-epsilon.ts';
import { membershipAudit, type AuditOutcome, type ReferenceStats } from './privacy/membership-audit.ts';
import { HospitalRefusal } from './error-reports.ts';
import { dataSecret } from './privacy/data-secret.ts';

/**
 * Metrics of a model's predictions on held-out examples, by the scenario's evaluation settings and the
 * outcome's head: clinical metrics (binary), multi-class metrics with the confusion matrix (small cells
 * withheld below the smallest reportable subgroup size), or regression metrics.
 */
export function evaluateOn(
  trainer: LocalTrainer,
  test: Examples,
  groups: Readonly<Record<string, Uint8Array>>,
  evaluation: EvaluationConfig,
  head: OutputHead = BINARY_HEAD,
): EvaluateReply {
  const probs = trainer.predict(test);
  if (head.kind === 'multiclass') {
    const { metrics, confusion } = multiclassMetrics(test.y, probs, head.classes, {
      calibrationBins: evaluation.calibrationBins,
      minCellSize: evaluation.minSubgroupSize,
    });
    return {
      numExamples: test.n,
      metrics,
      confusion: Array.from(confusion),
      ...(evaluation.histogramBins > 0
        ? { classHistograms: classHistograms(test.y, probs, head.classes, evaluation.histogramBins) }
        : {}),
    };
  }
  if (head.kind === 'continuous') return { numExamples: test.n, metrics: regressionMetrics(test.y, probs) };
  const reportable = Object.fromEntries(
    Object.entries(groups).filter(([, mask]) => sum(mask) >= evaluation.minSubgroupSize),
  );
  return {
    numExamples: test.n,
    metrics: clinicalMetrics(test.y, probs, {
      threshold: evaluation.threshold,
      calibrationBins: evaluation.calibrationBins,
      ...(evaluation.subgroups ? { subgroups: reportable } : {}),
    }),
    ...(evaluation.histogramBins > 0
      ? { histogram: scoreHistogram(test.y, probs, evaluation.histogramBins) }
      : {}),
  };
}

/** The sum of a subgroup mask's values (its size), in a plain loop: `reduce` calls a closure per patient. */
function sum(mask: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < mask.length; i++) s += mask[i]!;
  return s;
}

/** A Byzantine attack on a hospital's own training data. */
export type DataAttack =
  | { readonly kind: 'label-flip' }
  | {
      readonly kind: 'backdoor';
      readonly trigger: BackdoorTrigger;
      /** Share of its training examples that carry the trigger. */
      readonly fraction: number;
      /** Chooses those examples (seeded per hospital, so the same ones every round). */
      readonly rng: Rng;
    };

/** Name of SCAFFOLD's client control variate in a hospital's state. */
const SCAFFOLD_CONTROL = 'scaffold.control';
/** Name of the DP-SGD steps a hospital has taken, in its state (what its ε is computed from). */
const DP_SGD_STEPS = 'dpsgd.steps';

/** What a hospital may be set up with besides its data and model. */
export interface HospitalOptions {
  /** The outcome the model predicts (binary if absent). */
  readonly head?: OutputHead;
  /** The scenario's backdoor trigger, measured on each global model it evaluates. */
  readonly probe?: BackdoorTrigger | undefined;
  /** Sample-level DP-SGD of its local training, when the scenario asks for it. */
  readonly dpSgd?: DpSgdConfig | undefined;
  /**
   * Where its audit's reference statistics are kept: the host's, so that a hospital rebuilt for each request
   * (data released between rounds) trains its reference models once per run all the same.
   */
  readonly references?: Map<string, ReferenceStats>;
}

/** One hospital: its own data and model, reachable only through fit, evaluate and local-only training. */
export class Hospital {
  readonly #config: HospitalConfig;
  readonly #seed: number;
  readonly #trainer: LocalTrainer;
  readonly #data: LocalData;
  readonly #evaluation: EvaluationConfig;
  readonly #head: OutputHead;
  readonly #probe: BackdoorTrigger | undefined;
  /**
   * SCAFFOLD's client control variate c_i. Between rounds it lives in the hospital's state blob, which the
   * coordinator's process keeps for it ({@link exportState}, {@link importState}); no one else reads it.
   */
  #control: Float32Array | undefined;
  /** Sample-level DP-SGD of its local training, when the scenario asks for it. */
  readonly #dpSgd: DpSgdConfig | undefined;
  /** DP-SGD steps taken over the run (kept in its state blob like c_i). */
  #dpSteps = 0;
  /** The audit's reference statistics, by instructions: trained once per run, whatever model is audited. */
  readonly #references: Map<string, ReferenceStats>;
  #secret: string | undefined;

  constructor(
    config: HospitalConfig,
    seed: number,
    trainer: LocalTrainer,
    data: LocalData,
    evaluation: EvaluationConfig,
    { head = BINARY_HEAD, probe, dpSgd, references = new Map() }: HospitalOptions = {},
  ) {
    if (data.train.n === 0) throw new Error(`hospital ${config.id}: the training split is empty`);
    this.#config = config;
    this.#seed = seed;
    this.#trainer = trainer;
    this.#data = data;
    this.#evaluation = evaluation;
    this.#head = head;
    this.#references = references;
    this.#probe = probe;
    this.#dpSgd = dpSgd;
  }

  get id(): string {
    return this.#config.id;
  }

  /** The {@link dataSecret} of its examples, which never leaves its worker. */
  secret(): string {
    return (this.#secret ??= dataSecret(this.#data));
  }

  /**
   * Local training from the global model; returns the new parameters and scalar training metrics. With
   * FedProx the proximal term pulls toward the received model; with SCAFFOLD gradients are corrected by
   * (c − c_i), and c_i — kept here across rounds — is updated and its change returned. `attack`: an injected
   * Byzantine fault in the data — a label-flipping attacker trains on reversed labels, a backdoor attacker on a split with
   * its trigger planted.
   */
  fit(
    global: Float32Array,
    ins: FitInstructions,
    serverControl?: Float32Array,
    attack?: DataAttack,
  ): FitReply {
    const train =
      attack === undefined
        ? this.#data.train
        : attack.kind === 'label-flip'
          ? labelFlipped(this.#data.train, this.#head)
          : poisoned(this.#data.train, attack.trigger, attack.fraction, attack.rng);
    this.#trainer.setParameters(global);
    const metrics: Metrics = {};
    if (ins.reportInitialLoss === true) {
      const loss = meanLoss(this.#head, this.#data.train.y, this.#trainer.predict(this.#data.train));
      if (loss !== undefined && Number.isFinite(loss)) metrics.initial_loss = loss;
    }
    const scaffold =
      ins.scaffold === true ? this.#scaffoldCorrection(serverControl, global.length) : undefined;
    const options: TrainOptions = {
      ...ins.training,
      ...(ins.proximalMu !== undefined && ins.proximalMu > 0
        ? { proximal: { mu: ins.proximalMu, reference: global } }
        : {}),
      ...(scaffold === undefined ? {} : { gradientCorrection: scaffold.correction }),
      ...(ins.maxSteps === undefined ? {} : { maxSteps: ins.maxSteps }),
      ...(this.#dpSgd === undefined ? {} : { dpSgd: this.#dpSgdWithinBudget(ins) }),
    };
    // DP-SGD's sampling and noise must not be known to whoever receives the update: its stream takes the secret.
    const secret = this.#dpSgd === undefined ? [] : [this.secret()];
    const rng = stream(this.#seed, 'train', this.id, `round-${ins.round}`, ...secret);
    const result = this.#trainer.train(train, options, rng);
    if (this.#dpSgd !== undefined) {
      this.#dpSteps += result.steps;
      metrics.dpsgd_epsilon = dpSgdEpsilon(this.#dpSgd, this.#dpSteps);
    }
    if (Number.isFinite(result.loss)) metrics.train_loss = result.loss;
    metrics.local_steps = result.steps;
    const parameters = this.#trainer.getParameters();
    const control =
      scaffold === undefined
        ? undefined
        : this.#updateControl(scaffold.server, global, parameters, result.steps, ins.training.learningRate);
    return {
      vectors: control === undefined ? { parameters } : { parameters, control },
      numExamples: this.#data.train.n,
      metrics,
    };
  }

  /**
   * The round's DP-SGD step, unless its steps would take the hospital past its budget: then it declines the
   * round (a `privacy-budget` report the coordinator records as the hospital's failure that round).
   */
  #dpSgdWithinBudget(ins: FitInstructions) {
    const dp = this.#dpSgd!;
    const planned = dpSteps(dp.sampleRate, ins.training.localEpochs, ins.maxSteps);
    if (dp.budget !== undefined && dpSgdEpsilon(dp, this.#dpSteps + planned) > dp.budget.epsilon) {
      throw new HospitalRefusal('privacy-budget', 'privacy.dpSgd.budget.epsilon');
    }
    return { clipNorm: dp.clipNorm, noiseMultiplier: dp.noiseMultiplier, sampleRate: dp.sampleRate };
  }

  /**
   * The membership-inference audit of `global` on this hospital's own patients (see membership-audit.ts);
   * with DP-SGD, also the ε it has spent. Only counts and bounded metrics come back.
   */
  audit(global: Float32Array, ins: AuditInstructions): AuditOutcome {
    const rng = (...purpose: string[]) => stream(this.#seed, 'audit', this.id, ...purpose);
    const dp = this.#dpSgd;
    const outcome = membershipAudit(
      {
        trainer: this.#trainer,
        data: this.#data,
        head: this.#head,
        initial: initialParameters(this.#trainer.spec, stream(this.#seed, 'init')),
        rng,
        memo: (key, compute) => {
          const known = this.#references.get(key);
          if (known !== undefined) return known;
          const stats = compute();
          this.#references.set(key, stats);
          return stats;
        },
        ...(dp === undefined
          ? {}
          : {
              dpSgd: {
                clipNorm: dp.clipNorm,
                noiseMultiplier: dp.noiseMultiplier,
                sampleRate: dp.sampleRate,
              },
            }),
      },
      global,
      ins,
    );
    if (dp === undefined) return outcome;
    return { ...outcome, metrics: { ...outcome.metrics, dpsgd_epsilon: dpSgdEpsilon(dp, this.#dpSteps) } };
  }

  #scaffoldCorrection(server: Float32Array | undefined, length: number) {
    if (server === undefined || server.length !== length) {
      throw new Error(`SCAFFOLD needs the server control variate of ${length} values with the global model`);
    }
    this.#control ??= new Float32Array(length);
    const correction = new Float32Array(length);
    for (let i = 0; i < length; i++) correction[i] = server[i]! - this.#control[i]!;
    return { server, correction };
  }

  /** c_i⁺ = c_i − c + (x − y_i)/(K·η); keeps c_i⁺ and returns Δc_i = c_i⁺ − c_i. */
  #updateControl(
    server: Float32Array,
    x: Float32Array,
    y: Float32Array,
    steps: number,
    lr: number,
  ): Float32Array {
    const ci = this.#control!;
    const delta = new Float32Array(ci.length);
    const next = new Float32Array(ci.length);
    for (let i = 0; i < ci.length; i++) {
      next[i] = ci[i]! - server[i]! + (x[i]! - y[i]!) / (steps * lr);
      delta[i] = next[i]! - ci[i]!;
    }
    this.#control = next;
    return delta;
  }

  /** What this hospital keeps between rounds, by name (empty when it keeps nothing). */
  exportState(): Map<string, Float32Array> {
    const state = new Map<string, Float32Array>();
    if (this.#control !== undefined) state.set(SCAFFOLD_CONTROL, this.#control.slice());
    if (this.#dpSteps > 0) state.set(DP_SGD_STEPS, Float32Array.of(this.#dpSteps));
    return state;
  }

  /** Replaces what this hospital keeps between rounds with `state` (empty: a hospital that kept nothing). */
  importState(state: ReadonlyMap<string, Float32Array>): void {
    for (const name of state.keys()) {
      if (name !== SCAFFOLD_CONTROL && name !== DP_SGD_STEPS)
        throw new Error(`hospital ${this.id}: unknown client state ${name}`);
    }
    this.#control = state.get(SCAFFOLD_CONTROL)?.slice();
    this.#dpSteps = state.get(DP_SGD_STEPS)?.[0] ?? 0;
  }

  /** Metrics of the given model on the held-out split. */
  evaluate(global: Float32Array, _ins: EvaluateInstructions): EvaluateReply {
    this.#trainer.setParameters(global);
    const reply = evaluateOn(
      this.#trainer,
      this.#data.test,
      this.#data.testGroups,
      this.#evaluation,
      this.#head,
    );
    if (this.#probe === undefined) return reply;
    const backdoor = attackSuccess(
      this.#trainer,
      this.#data.test,
      this.#probe,
      this.#head,
      this.#evaluation.threshold,
    );
    return { ...reply, metrics: { ...reply.metrics, ...backdoor } };
  }

  /** Trains alone for `epochs` epochs from `initial` and evaluates; only metrics leave. */
  localOnly(initial: Float32Array, training: TrainingConfig, epochs: number): EvaluateReply {
    this.#trainer.setParameters(initial);
    this.#trainer.train(
      this.#data.train,
      { ...training, localEpochs: epochs },
      stream(this.#seed, 'local-only', this.id),
    );
    return evaluateOn(this.#trainer, this.#data.test, this.#data.testGroups, this.#evaluation, this.#head);
  }

  /** Frees the hospital's model. */
  dispose(): void {
    this.#trainer.dispose();
  }

  /** A few training inputs, for the test-only fault that tries to smuggle rows out. */
  sampleRows(count: number): number[][] {
    const { x, n } = this.#data.train;
    const d = x.length / n;
    const rows: number[][] = [];
    for (let r = 0; r < Math.min(count, n); r++) rows.push(Array.from(x.subarray(r * d, (r + 1) * d)));
    return rows;
  }
}
