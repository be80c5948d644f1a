import { stream } from '../common/rng.ts';
import type { ParamSpec } from '../common/params.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import type { EvaluateReply, FitInstructions, Metrics } from '../protocol/messages.ts';
import type { HostInfo, HostSetup } from '../protocol/host-api.ts';
import type { BackendChoice, Scenario } from '../scenario/schema.ts';
import { initialParameters, parameterSpec } from '../models/architecture.ts';
import { admitEvaluateReply, admitFitReply, ProtocolViolation } from './boundary.ts';
import { Ledger, type ByteTotals, type Crossing } from './ledger.ts';
import { compareIds } from './sampling.ts';
import { createStrategy } from './strategies/index.ts';
import type {
  AggregatedEvaluation,
  EvaluateResult,
  Failure,
  FitResult,
  HospitalRef,
} from './strategies/strategy.ts';
import { WorkerFailure, WorkerPool } from './worker-pool.ts';
import { hostSetup } from './host-setup.ts';
import { perCountry, weightedMetricMeans } from './aggregate-metrics.ts';

/** How to run a scenario, beyond the scenario itself. */
export interface RunOptions {
  /** Most worker threads to start; hospitals share threads when there are fewer threads than hospitals. */
  readonly threads: number;
  /** Backend after flag and environment overrides. */
  readonly backend: BackendChoice;
  /** Folder that relative paths in the scenario resolve against (the scenario file's folder). */
  readonly baseDir: string;
  /** Real-time guard on every call to a worker, in milliseconds. */
  readonly timeoutMs: number;
  /**
   * Worker threads already started for these hospitals (by a bench running many runs); they are set up
   * afresh for this run and left running. Absent: the run starts its own and closes them.
   */
  readonly pool?: WorkerPool;
  /** Receives every record as soon as it exists, so nothing is lost if the run stops. */
  readonly sink: RunSink;
}

/** Where a run's records go as they are made. */
export interface RunSink {
  round(record: RoundRecord, crossings: readonly Crossing[]): void;
  /** Crossings outside rounds (setup, baselines). */
  crossings(crossings: readonly Crossing[]): void;
}

/** Per-hospital evaluation of one model. */
export type HospitalMetrics = Record<string, { numExamples: number; metrics: Metrics }>;

/** Everything recorded about one round. */
export interface RoundRecord {
  readonly round: number;
  readonly fit: {
    readonly sampled: readonly string[];
    readonly admitted: readonly string[];
    readonly failures: readonly Failure[];
    /** Example-weighted mean of the hospitals' training metrics. */
    readonly metrics: Metrics;
    readonly hospitals: HospitalMetrics;
  };
  readonly evaluate: AggregatedEvaluation & {
    readonly hospitals: HospitalMetrics;
    /** The same means within each country. */
    readonly countries: Record<string, AggregatedEvaluation>;
    readonly failures: readonly Failure[];
  };
  readonly bytes: ByteTotals;
}

/**
 * A baseline beside the federation, evaluated on each hospital's held-out split: local-only (each hospital
 * alone) or pooled (one model on every hospital's records: a sovereignty violation, for research only).
 */
export interface BaselineResult extends AggregatedEvaluation {
  readonly baseline: 'local-only' | 'pooled';
  readonly epochs: number;
  readonly hospitals: HospitalMetrics;
  readonly countries: Record<string, AggregatedEvaluation>;
  /** Unweighted mean over hospitals of each metric. */
  readonly hospitalMean: Metrics;
  /** True for the pooled oracle: patient records would have had to leave their hospitals. */
  readonly sovereigntyViolation: boolean;
}

/** How a run ended and what it produced. */
export interface RunResult {
  readonly status: 'completed' | 'stopped';
  /** Why the run stopped early. */
  readonly stopReason?: string;
  /** A worker thread died or hung: the run stopped after its last completed round (the CLI exits 4). */
  readonly workerFailure?: boolean;
  readonly roundsCompleted: number;
  readonly spec: ParamSpec;
  readonly inputShape: readonly number[];
  readonly parameters: Float32Array;
  readonly backend: string;
  readonly threads: readonly HostInfo[];
  readonly assignment: Record<string, number>;
  readonly strategy: Record<string, unknown>;
  readonly final?: RoundRecord;
  readonly localOnly?: BaselineResult;
  readonly pooled?: BaselineResult;
  /** Bytes the federation's own messages crossed. */
  readonly bytes: ByteTotals;
  /** Bytes of the baselines' crossings, kept apart (the pooled oracle's are what a real pooling would send). */
  readonly baselineBytes: { readonly localOnly: ByteTotals; readonly pooled: ByteTotals };
  /** Real seconds each part took, for reporting only: setup and rounds, then each baseline that ran. */
  readonly seconds: PhaseSeconds;
}

/** Real seconds spent in each part of a run. */
export interface PhaseSeconds {
  readonly federation: number;
  readonly localOnly?: number;
  readonly pooled?: number;
}

/** A run that started but cannot go on (too few valid replies). */
export class RoundFailure extends Error {
  override readonly name = 'RoundFailure';
}

/** Runs the scenario's federation: sample → broadcast → fit → admit → aggregate → evaluate → record. */
export async function runFederation(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const clock = stopwatch();
  const inputShape = inputShapeOf(scenario.data);
  const spec = parameterSpec(scenario.model, inputShape);
  const initial = initialParameters(spec, stream(scenario.seed, 'init'));
  const strategy = await createStrategy(scenario, options.baseDir);
  const hospitals: HospitalRef[] = scenario.hospitals.map((h) => ({ id: h.id, country: h.country }));
  const countryOf = new Map(hospitals.map((h) => [h.id, h.country]));
  const ledger = new Ledger(scenario.coordinator.site, countryOf);
  const contract = (hospital: string) => ({
    hospital,
    parameterLength: spec.length,
    vectors: strategy.vectors,
    metrics: strategy.fitMetrics ?? [],
  });

  const setupFor = (ids: readonly string[]) => hostSetup(scenario, options.backend, options.baseDir, ids);
  for (const h of hospitals) ledger.record(0, h.id, 'to-hospital', 'setup', setupFor([h.id]));

  const pool =
    options.pool ??
    (await WorkerPool.start(
      hospitals.map((h) => h.id),
      options.threads,
      setupFor,
      options.timeoutMs,
    ));
  if (options.pool !== undefined) await options.pool.reconfigure(setupFor);
  try {
    const backends = [...new Set(pool.threads.map((t) => t.backend))];
    if (backends.length !== 1)
      throw new WorkerFailure(`worker threads run different backends: ${backends.join(', ')}`);
    options.sink.crossings(ledger.takeUnflushed());

    /** The global model, kept in shared memory: one copy per round serves every fit and evaluate broadcast. */
    let global = shared(initial);
    let final: RoundRecord | undefined;
    let stopReason: string | undefined;
    let round = 1;
    // A worker that dies or hangs stops the run; the rounds before it are kept (the CLI exits 4).
    let completed = global;
    let workerFailure = false;
    try {
      for (; round <= scenario.rounds; round++) {
        const assignments = strategy.configureFit(
          round,
          hospitals,
          stream(scenario.seed, 'sample-fit', `round-${round}`),
        );
        const extra = strategy.broadcastVectors?.(round, global) ?? {};
        const control = extra.control === undefined ? undefined : shared(extra.control);
        /** Sends one hospital the model to start from; the reply is admitted later, in assignment order. */
        const send = (hospital: string, instructions: FitInstructions, start: Float32Array) => {
          ledger.record(round, hospital, 'to-hospital', 'global-model', start);
          if (control !== undefined)
            ledger.record(round, hospital, 'to-hospital', 'control-variate', control);
          ledger.record(round, hospital, 'to-hospital', 'fit-instructions', instructions);
          return settle(
            pool.call(hospital, 'fit', (host) => host.fit(hospital, start, instructions, control)),
          );
        };
        const receive = (hospital: string, outcome: Outcome) =>
          admit(ledger, round, hospital, 'fit-reply', outcome, (raw) =>
            admitFitReply(raw, contract(hospital)),
          );
        const fitResults: FitResult[] = [];
        const fitFailures: Failure[] = [];
        if (strategy.sequential === true) {
          let start = global;
          for (const { hospital, instructions } of assignments) {
            const admitted = receive(hospital, await send(hospital, instructions, shared(start)));
            if ('reason' in admitted) fitFailures.push(admitted);
            else {
              fitResults.push({ hospital, reply: admitted.reply });
              start = admitted.reply.vectors.parameters!;
            }
          }
        } else {
          const outcomes = await Promise.all(
            assignments.map(({ hospital, instructions }) => send(hospital, instructions, global)),
          );
          for (const [i, { hospital }] of assignments.entries()) {
            const admitted = receive(hospital, outcomes[i]!);
            if ('reason' in admitted) fitFailures.push(admitted);
            else fitResults.push({ hospital, reply: admitted.reply });
          }
          fitResults.sort((a, b) => compareIds(a.hospital, b.hospital));
        }
        if (fitResults.length < scenario.minClients) {
          stopReason =
            `round ${round}: ${fitResults.length} valid fit replies, fewer than minClients = ${scenario.minClients}` +
            (fitFailures.length > 0 ? `; ${fitFailures.map((f) => f.reason).join('; ')}` : '');
          break;
        }
        try {
          global = shared(strategy.aggregateFit(round, global, fitResults, fitFailures));
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          stopReason = `round ${round}: ${strategy.name} cannot aggregate: ${e.message}`;
          break;
        }

        const evaluated = await evaluateAll(
          pool,
          ledger,
          round,
          strategy.configureEvaluate(
            round,
            hospitals,
            stream(scenario.seed, 'sample-evaluate', `round-${round}`),
          ),
          global,
          scenario.evaluation.histogramBins,
        );
        const record: RoundRecord = {
          round,
          fit: {
            sampled: assignments.map((a) => a.hospital),
            admitted: fitResults.map((r) => r.hospital),
            failures: fitFailures,
            metrics: weightedMetricMeans(fitResults.map((r) => r.reply)).metrics,
            hospitals: Object.fromEntries(
              fitResults.map((r) => [
                r.hospital,
                { numExamples: r.reply.numExamples, metrics: r.reply.metrics },
              ]),
            ),
          },
          evaluate: {
            ...strategy.aggregateEvaluate(round, evaluated.results),
            hospitals: byHospital(evaluated.results),
            countries: perCountry(withCountry(evaluated.results, countryOf)),
            failures: evaluated.failures,
          },
          bytes: ledger.totals(round),
        };
        options.sink.round(record, ledger.takeUnflushed());
        final = record;
        completed = global;
      }
    } catch (e) {
      if (!(e instanceof WorkerFailure)) throw e;
      stopReason = `round ${round}: ${e.message}`;
      workerFailure = true;
    }

    const federationSeconds = clock.lap();
    const localOnly =
      !workerFailure && scenario.baselines.includes('local-only')
        ? await runLocalOnly(pool, ledger, scenario, hospitals, initial)
        : undefined;
    const localOnlySeconds = clock.lap();
    const pooled =
      !workerFailure && scenario.baselines.includes('pooled')
        ? await runPooled(ledger, scenario, initial, setupFor([]), options.timeoutMs)
        : undefined;
    const pooledSeconds = clock.lap();
    options.sink.crossings(ledger.takeUnflushed());
    return {
      status: stopReason === undefined ? 'completed' : 'stopped',
      ...(stopReason === undefined ? {} : { stopReason }),
      ...(workerFailure ? { workerFailure } : {}),
      roundsCompleted: final?.round ?? 0,
      spec,
      inputShape,
      parameters: completed,
      backend: backends[0]!,
      threads: pool.threads,
      assignment: Object.fromEntries(pool.assignment),
      strategy: strategy.summary(),
      ...(final === undefined ? {} : { final }),
      ...(localOnly === undefined ? {} : { localOnly }),
      ...(pooled === undefined ? {} : { pooled }),
      bytes: ledger.totals(),
      baselineBytes: {
        localOnly: ledger.totals(undefined, 'local-only'),
        pooled: ledger.totals(undefined, 'pooled'),
      },
      seconds: {
        federation: federationSeconds,
        ...(localOnly === undefined ? {} : { localOnly: localOnlySeconds }),
        ...(pooled === undefined ? {} : { pooled: pooledSeconds }),
      },
    };
  } finally {
    if (options.pool === undefined) await pool.close();
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

function settle(p: Promise<unknown>): Promise<Outcome> {
  return p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** Passes an outcome through the boundary and records the crossing; worker death or hangs end the run. */
function admit<T>(
  ledger: Ledger,
  round: number,
  hospital: string,
  kind: 'fit-reply' | 'evaluate-reply' | 'local-only-reply' | 'pooled-reply',
  outcome: Outcome,
  check: (raw: unknown) => T,
): { reply: T } | Failure {
  if (!outcome.ok) {
    if (outcome.error instanceof WorkerFailure) throw outcome.error;
    const text = clientErrorText(outcome.error);
    const reason = text.startsWith(`hospital ${hospital}:`) ? text : `hospital ${hospital}: ${text}`;
    ledger.record(round, hospital, 'to-coordinator', 'error', { message: reason });
    return { hospital, reason };
  }
  try {
    const reply = check(outcome.value);
    ledger.record(round, hospital, 'to-coordinator', kind, outcome.value);
    return { reply };
  } catch (e) {
    if (!(e instanceof ProtocolViolation)) throw e;
    ledger.record(round, hospital, 'to-coordinator', kind, outcome.value, {
      admitted: false,
      reason: e.message,
    });
    return { hospital, reason: e.message };
  }
}

/** The first line of an error raised in a client, bounded in length; stacks do not cross. */
function clientErrorText(e: unknown): string {
  const text = e instanceof Error ? e.message : 'a non-Error failure';
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

async function evaluateAll(
  pool: WorkerPool,
  ledger: Ledger,
  round: number,
  chosen: readonly string[],
  /** The global model in shared memory, broadcast to every chosen hospital. */
  global: Float32Array,
  histogramBins: number,
): Promise<{ results: EvaluateResult[]; failures: Failure[] }> {
  const instructions = { round };
  const outcomes = await Promise.all(
    chosen.map((hospital) => {
      ledger.record(round, hospital, 'to-hospital', 'global-model', global);
      ledger.record(round, hospital, 'to-hospital', 'evaluate-instructions', instructions);
      return settle(pool.call(hospital, 'evaluate', (host) => host.evaluate(hospital, global, instructions)));
    }),
  );
  return collectEvaluations(ledger, round, chosen, outcomes, 'evaluate-reply', histogramBins);
}

function collectEvaluations(
  ledger: Ledger,
  round: number,
  chosen: readonly string[],
  outcomes: readonly Outcome[],
  kind: 'evaluate-reply' | 'local-only-reply',
  histogramBins: number,
): { results: EvaluateResult[]; failures: Failure[] } {
  const results: EvaluateResult[] = [];
  const failures: Failure[] = [];
  chosen.forEach((hospital, i) => {
    const a = admit(ledger, round, hospital, kind, outcomes[i]!, (raw) =>
      admitEvaluateReply(raw, hospital, histogramBins),
    );
    if ('reason' in a) failures.push(a);
    else results.push({ hospital, reply: a.reply });
  });
  results.sort((a, b) => compareIds(a.hospital, b.hospital));
  return { results, failures };
}

async function runLocalOnly(
  pool: WorkerPool,
  ledger: Ledger,
  scenario: Scenario,
  hospitals: readonly HospitalRef[],
  initial: Float32Array,
): Promise<BaselineResult> {
  const epochs = scenario.rounds * scenario.training.localEpochs;
  const ids = hospitals.map((h) => h.id).sort(compareIds);
  const broadcast = shared(initial);
  const outcomes = await Promise.all(
    ids.map((hospital) => {
      ledger.record(0, hospital, 'to-hospital', 'local-only-instructions', {
        initial: broadcast,
        training: scenario.training,
        epochs,
      });
      return settle(
        pool.call(hospital, 'local-only training', (host) =>
          host.localOnly(hospital, broadcast, scenario.training, epochs),
        ),
      );
    }),
  );
  const { results, failures } = collectEvaluations(
    ledger,
    0,
    ids,
    outcomes,
    'local-only-reply',
    scenario.evaluation.histogramBins,
  );
  if (failures.length > 0)
    throw new RoundFailure(`local-only baseline: ${failures.map((f) => f.reason).join('; ')}`);
  return baseline('local-only', epochs, results, new Map(hospitals.map((h) => [h.id, h.country])));
}

/** The name under which the pooled oracle's thread is reached: it hosts no hospital, it builds them all. */
const POOLED_ORACLE = 'pooled-oracle';

async function runPooled(
  ledger: Ledger,
  scenario: Scenario,
  initial: Float32Array,
  setup: HostSetup,
  timeoutMs: number,
): Promise<BaselineResult> {
  const epochs = scenario.rounds * scenario.training.localEpochs;
  const oracle = await WorkerPool.start([POOLED_ORACLE], 1, () => setup, timeoutMs);
  try {
    const reply = await oracle.call(POOLED_ORACLE, 'pooled-oracle training', (host) =>
      host.pooled(shared(initial), scenario.training, epochs),
    );
    const ids = scenario.hospitals.map((h) => h.id).sort(compareIds);
    const inputSize = inputShapeOf(scenario.data).reduce((a, b) => a * b, 1);
    const results: EvaluateResult[] = [];
    for (const id of ids) {
      const count = reply.trainExamples[id];
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
        throw new ProtocolViolation(id, 'pooled trainExamples', 'a non-negative integer', 'something else');
      }
      ledger.recordPooledRecords(id, count * (inputSize + 1) * 4);
      const outcome: Outcome = { ok: true, value: reply.evaluations[id] };
      const admitted = admit(ledger, 0, id, 'pooled-reply', outcome, (raw) =>
        admitEvaluateReply(raw, id, scenario.evaluation.histogramBins),
      );
      if ('reason' in admitted) throw new RoundFailure(`pooled baseline: ${admitted.reason}`);
      results.push({ hospital: id, reply: admitted.reply });
    }
    return baseline('pooled', epochs, results, new Map(scenario.hospitals.map((h) => [h.id, h.country])));
  } finally {
    await oracle.close();
  }
}

function baseline(
  name: BaselineResult['baseline'],
  epochs: number,
  results: readonly EvaluateResult[],
  countryOf: ReadonlyMap<string, string>,
): BaselineResult {
  return {
    ...weightedMetricMeans(results.map((r) => r.reply)),
    baseline: name,
    epochs,
    hospitals: byHospital(results),
    countries: perCountry(withCountry(results, countryOf)),
    hospitalMean: unweightedMeans(results.map((r) => r.reply)),
    sovereigntyViolation: name === 'pooled',
  };
}

function withCountry(results: readonly EvaluateResult[], countryOf: ReadonlyMap<string, string>) {
  return results.map((r) => ({ country: countryOf.get(r.hospital)!, ...r.reply }));
}

function byHospital(results: readonly EvaluateResult[]): HospitalMetrics {
  return Object.fromEntries(
    results.map((r) => [r.hospital, { numExamples: r.reply.numExamples, metrics: r.reply.metrics }]),
  );
}

/**
 * Each metric's plain mean over hospitals. Subgroup counts (`n__…`) are left out, so subgroup metrics are not
 * weighted by them either: every hospital counts once.
 */
function unweightedMeans(replies: readonly EvaluateReply[]): Metrics {
  const withoutCounts = (m: Metrics) =>
    Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('n__')));
  return weightedMetricMeans(replies.map((r) => ({ numExamples: 1, metrics: withoutCounts(r.metrics) })))
    .metrics;
}

/** The global model in shared memory: every thread reads the same bytes, none is copied per hospital. */
function shared(params: Float32Array): Float32Array {
  const out = new Float32Array(new SharedArrayBuffer(params.byteLength));
  out.set(params);
  return out;
}

/** Real seconds since the previous lap (or the start); used only to report how long parts took. */
function stopwatch(): { lap(): number } {
  let last = performance.now();
  return {
    lap() {
      const now = performance.now();
      const seconds = (now - last) / 1000;
      last = now;
      return seconds;
    },
  };
}
