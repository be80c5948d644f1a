import { stream } from '../common/rng.ts';
import type { EvaluateInstructions, EvaluateReply, FitInstructions, FitReply } from '../protocol/messages.ts';
import type { HospitalConfig, TrainingConfig } from '../scenario/schema.ts';
import type { Examples, LocalTrainer } from '../models/types.ts';
import { binaryMetrics } from './metrics.ts';

/** One hospital: its own partition and model, reachable only through fit, evaluate and local-only training. */
export class Hospital {
  readonly #config: HospitalConfig;
  readonly #seed: number;
  readonly #trainer: LocalTrainer;
  readonly #train: Examples;
  readonly #test: Examples;

  constructor(
    config: HospitalConfig,
    seed: number,
    trainer: LocalTrainer,
    partition: { train: Examples; test: Examples },
  ) {
    if (partition.train.n === 0) throw new Error(`hospital ${config.id}: the training split is empty`);
    this.#config = config;
    this.#seed = seed;
    this.#trainer = trainer;
    this.#train = partition.train;
    this.#test = partition.test;
  }

  get id(): string {
    return this.#config.id;
  }

  /** Local training from the global model; returns the new parameters and the training loss. */
  fit(global: Float32Array, ins: FitInstructions): FitReply {
    this.#trainer.setParameters(global);
    const rng = stream(this.#seed, 'train', this.id, `round-${ins.round}`);
    const result = this.#trainer.train(this.#train, ins.training, rng);
    return {
      vectors: { parameters: this.#trainer.getParameters() },
      numExamples: this.#train.n,
      metrics: Number.isFinite(result.loss) ? { train_loss: result.loss } : {},
    };
  }

  /** Metrics of the given model on the held-out split. */
  evaluate(global: Float32Array, _ins: EvaluateInstructions): EvaluateReply {
    this.#trainer.setParameters(global);
    return this.#evaluateCurrent();
  }

  /** Trains alone for `epochs` epochs from `initial` and evaluates; only metrics leave. */
  localOnly(initial: Float32Array, training: TrainingConfig, epochs: number): EvaluateReply {
    this.#trainer.setParameters(initial);
    this.#trainer.train(
      this.#train,
      { ...training, localEpochs: epochs },
      stream(this.#seed, 'local-only', this.id),
    );
    return this.#evaluateCurrent();
  }

  /** A few training inputs, for the test-only fault that tries to smuggle rows out. */
  sampleRows(count: number): number[][] {
    const d = this.#train.x.length / this.#train.n;
    const rows: number[][] = [];
    for (let r = 0; r < Math.min(count, this.#train.n); r++)
      rows.push(Array.from(this.#train.x.subarray(r * d, (r + 1) * d)));
    return rows;
  }

  #evaluateCurrent(): EvaluateReply {
    const probs = this.#trainer.predict(this.#test);
    return { numExamples: this.#test.n, metrics: binaryMetrics(this.#test.y, probs) };
  }
}
