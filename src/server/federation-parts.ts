import { foldsAdmittedCopies } from './strategies/fedavg.ts';
import { stream } from '../common/rng.ts';
import type { ParamSpec } from '../common/params.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import type { HostInfo } from '../protocol/host-api.ts';
import type { MessageSizes } from '../protocol/kinds.ts';
import { headOf } from '../protocol/outcome.ts';
import type { Scenario } from '../scenario/schema.ts';
import { initialParameters, parameterSpec } from '../models/architecture.ts';
import { perCountry, weightedMetricMeans } from './aggregate-metrics.ts';
import { runCountryOnly, type CountryOnlyResult } from './baselines/country-only.ts';
import { exactly, type ReplyContract } from './boundary.ts';
import { Channel } from './channel.ts';
import type { EnvelopeBody } from '../protocol/envelope.ts';
import {
  byHospital,
  checkedModel,
  runLocalOnly,
  runPooled,
  setUp,
  withCountry,
  type BaselineResult,
  type RoundRecord,
  type RunOptions,
} from './coordinator.ts';
import { SetupError } from './setup-error.ts';
import type { Ledger } from './ledger.ts';
import {
  evaluationVectors,
  ownDataSizes,
  preprocess,
  type PreprocessingHops,
  type PreprocessingRecord,
} from './preprocessing.ts';
import { borderTraffic } from './outputs/country-matrix.ts';
import { complianceReport } from './compliance/report.ts';
import { STATE_VECTOR } from './state-store.ts';
import type {
  EvaluateResult,
  Failure,
  FitAssignment,
  FitResult,
  HospitalRef,
  Strategy,
} from './strategies/strategy.ts';
import { startHospitalPool, WorkerFailure, type PooledHospital, type WorkerPool } from './worker-pool.ts';
import type { ViolationStop } from './jurisdiction/violation.ts';
import type { FaultSummary } from './fault-record.ts';
import { sendSurviving, type PhaseOutcome } from './recovery.ts';
import type { EvaluateInstructions } from '../protocol/messages.ts';

/**
 * The pieces every topology's run shares (flat in coordinator.ts, hierarchical in topology/): what follows from
 * the scenario alone, setting the hospitals up, the reply contracts, a round's record and the baselines.
 */

/** What a run derives from its scenario before any thread starts. */
export function federationBasics(scenario: Scenario) {
  const inputShape = inputShapeOf(scenario.data);
  const spec: ParamSpec = parameterSpec(scenario.model, inputShape, headOf(scenario.data));
  const hospitals: HospitalRef[] = scenario.hospitals.map((h) => ({ id: h.id, country: h.country }));
  const sizes: MessageSizes = {
    parameters: spec.length,
    histogramBins: scenario.evaluation.histogramBins,
    ...ownDataSizes(scenario.data),
  };
  return {
    inputShape,
    spec,
    initial: initialParameters(spec, stream(scenario.seed, 'init')),
    hospitals,
    countryOf: new Map(hospitals.map((h) => [h.id, h.country])),
    sizes,
  };
}

/**
 * Sets every hospital up in its thread and runs the scenario's preprocessing; a hospital's bad input stops the
 * run as a {@link SetupError}, threads on different backends as a {@link WorkerFailure}.
 */
export async function prepareHospitals(
  channel: Channel,
  pool: WorkerPool,
  scenario: Scenario,
  options: RunOptions,
  sizes: MessageSizes,
  hops?: PreprocessingHops,
) {
  const { holdings, threads, missing } = await setUp(channel, pool, scenario, options, sizes);
  const prepared = await preprocess(channel, scenario, holdings, sizes, missing, hops);
  if (prepared.failures.length > 0) {
    const badInput = prepared.failures.every((f) => f.report?.category === 'bad-input');
    throw new SetupError(prepared.failures.map((f) => f.reason).join('; '), badInput);
  }
  const backends = [...new Set(threads.map((t) => t.backend))];
  if (backends.length !== 1)
    throw new WorkerFailure(`worker threads run different backends: ${backends.join(', ')}`);
  return { holdings, threads, prepared, backend: backends[0]! };
}

/**
 * What a hospital's fit and evaluate replies must carry: the strategy's vectors, its exact example counts.
 * A request sent with its contract is admitted early (see {@link Channel}).
 */
export function replyContracts(
  sizes: MessageSizes,
  strategy: Strategy,
  holdings: ReadonlyMap<string, { readonly train: number; readonly test: number }>,
) {
  const histogramVectors = evaluationVectors(sizes);
  return {
    fitContract: (hospital: string) => ({
      sizes,
      vectors: strategy.vectors,
      optionalVectors: [STATE_VECTOR],
      requiredMetrics: strategy.fitMetrics ?? [],
      counts: { numExamples: exactly(holdings.get(hospital)!.train) },
      ...(foldsAdmittedCopies(strategy) ? {} : { inPlace: true as const }),
    }),
    evaluateContract: (hospital: string) => ({
      sizes,
      vectors: histogramVectors,
      counts: { numExamples: exactly(holdings.get(hospital)!.test) },
    }),
  };
}

/**
 * The body of a fit request: the start model, the strategy's broadcast control variate, the hospital's state
 * blob. Hospitals without state can share one body, sealed (and its vectors hashed) once.
 */
export function fitBody(
  start: Float32Array,
  control: Float32Array | undefined,
  state: Uint8Array | undefined,
): EnvelopeBody {
  return Channel.body([
    ['parameters', start],
    ...(control === undefined ? [] : [['control', control] as const]),
    ...(state === undefined ? [] : [[STATE_VECTOR, state] as const]),
  ]);
}

/** The fit half of a round's record: who was sampled and admitted, and their training metrics. */
export function fitRecord(
  sampled: readonly FitAssignment[],
  results: readonly FitResult[],
  failures: readonly Failure[],
): RoundRecord['fit'] {
  return {
    sampled: sampled.map((a) => a.hospital),
    admitted: results.map((r) => r.hospital),
    failures: [...failures],
    metrics: weightedMetricMeans(results.map((r) => r.reply)).metrics,
    hospitals: Object.fromEntries(
      results.map((r) => [r.hospital, { numExamples: r.reply.numExamples, metrics: r.reply.metrics }]),
    ),
  };
}

/** The evaluate half of a round's record: the strategy's aggregate, per hospital and per country. */
export function evaluateRecord(
  strategy: Strategy,
  round: number,
  evaluated: { readonly results: readonly EvaluateResult[]; readonly failures: readonly Failure[] },
  countryOf: ReadonlyMap<string, string>,
): RoundRecord['evaluate'] {
  return {
    ...strategy.aggregateEvaluate(round, evaluated.results),
    hospitals: byHospital(evaluated.results),
    countries: perCountry(withCountry(evaluated.results, countryOf)),
    failures: [...evaluated.failures],
  };
}

/** The baselines the scenario asks for, after the rounds, and the real seconds the first two took. */
export interface Baselines {
  readonly localOnly?: BaselineResult;
  readonly pooled?: BaselineResult;
  readonly countryOnly?: CountryOnlyResult;
  readonly seconds: { readonly localOnly?: number; readonly pooled?: number };
}

/**
 * Runs the scenario's baselines when `go` (the run neither failed nor was stopped by a violation or the user):
 * each hospital alone, the pooled oracle, each country alone. `lap` times the first two.
 */
export async function runBaselines(
  go: boolean,
  run: {
    readonly scenario: Scenario;
    readonly options: RunOptions;
    readonly channel: Channel;
    readonly ledger: Ledger;
    readonly hospitals: readonly HospitalRef[];
    readonly initial: Float32Array;
    readonly spec: ParamSpec;
    readonly sizes: MessageSizes;
    readonly holdings: ReadonlyMap<string, { readonly train: number; readonly test: number }>;
    readonly contracts: ReturnType<typeof replyContracts>;
    readonly lap: () => number;
  },
): Promise<Baselines> {
  const { scenario, options, channel, ledger, hospitals, initial, spec, contracts, lap } = run;
  const asks = (b: Scenario['baselines'][number]) => go && scenario.baselines.includes(b);
  const localOnly = asks('local-only')
    ? await runLocalOnly(channel, scenario, hospitals, initial, contracts.evaluateContract)
    : undefined;
  const localOnlySeconds = lap();
  const pooled = asks('pooled')
    ? await runPooled(ledger, scenario, initial, options, run.sizes, run.holdings)
    : undefined;
  const pooledSeconds = lap();
  const countryOnly = asks('country-only')
    ? await runCountryOnly({
        scenario,
        baseDir: options.baseDir,
        channel,
        ledger,
        hospitals,
        initial,
        fitContract: contracts.fitContract,
        evaluateContract: contracts.evaluateContract,
        checked: (m, name) => checkedModel(m, spec.length, name),
      })
    : undefined;
  return {
    ...(localOnly === undefined ? {} : { localOnly }),
    ...(pooled === undefined ? {} : { pooled }),
    ...(countryOnly === undefined ? {} : { countryOnly }),
    seconds: {
      ...(localOnly === undefined ? {} : { localOnly: localOnlySeconds }),
      ...(pooled === undefined ? {} : { pooled: pooledSeconds }),
    },
  };
}

/** How a run's rounds ended. */
export interface RunStop {
  readonly stopReason: string | undefined;
  readonly workerFailure: boolean;
  readonly violation: ViolationStop | undefined;
  readonly interrupted: boolean;
  readonly faultTotals: FaultSummary | undefined;
}

/** Opens the scenario's hospital threads, unless the caller lends a pool it started (and closes) itself. */
export async function hospitalPool(
  options: RunOptions,
  hospitals: readonly PooledHospital[],
): Promise<WorkerPool> {
  return (
    options.pool ?? (await startHospitalPool(hospitals, options.threads, { timeoutMs: options.timeoutMs }))
  );
}

/** What a run reports the same way whatever its topology, after its rounds and baselines. */
export function commonResult(run: {
  readonly stop: RunStop;
  readonly final: RoundRecord | undefined;
  readonly completed: Float32Array;
  readonly spec: ParamSpec;
  readonly inputShape: readonly number[];
  readonly backend: string;
  readonly threads: readonly HostInfo[];
  readonly pool: WorkerPool;
  readonly baselines: Baselines;
  readonly federationSeconds: number;
  readonly ledger: Ledger;
  readonly scenario: Scenario;
  readonly preprocessing: PreprocessingRecord | undefined;
}) {
  const { final, baselines, ledger } = run;
  const { stopReason, workerFailure, violation, interrupted, faultTotals } = run.stop;
  return {
    status: stopReason === undefined ? ('completed' as const) : ('stopped' as const),
    ...(stopReason === undefined ? {} : { stopReason }),
    ...(workerFailure ? { workerFailure } : {}),
    ...(violation === undefined ? {} : { violation }),
    ...(interrupted ? { interrupted } : {}),
    ...(faultTotals === undefined ? {} : { faults: faultTotals }),
    roundsCompleted: final?.round ?? 0,
    spec: run.spec,
    inputShape: run.inputShape,
    parameters: run.completed,
    backend: run.backend,
    threads: run.threads,
    assignment: Object.fromEntries(run.pool.assignment),
    ...(final === undefined ? {} : { final }),
    ...(baselines.localOnly === undefined ? {} : { localOnly: baselines.localOnly }),
    ...(baselines.pooled === undefined ? {} : { pooled: baselines.pooled }),
    ...(baselines.countryOnly === undefined ? {} : { countryOnly: baselines.countryOnly }),
    borders: borderTraffic(ledger.entries, run.scenario.coordinator.site),
    bytes: ledger.totals(),
    baselineBytes: {
      localOnly: ledger.totals(undefined, 'local-only'),
      pooled: ledger.totals(undefined, 'pooled'),
    },
    seconds: { federation: run.federationSeconds, ...baselines.seconds },
    ledger: ledger.chain,
    compliance: complianceReport(run.scenario, ledger.entries),
    ...(run.preprocessing === undefined ? {} : { preprocessing: run.preprocessing }),
  };
}

/**
 * Asks the `chosen` hospitals to score the model in `body` (one body for all), replacing any thread that dies or
 * hangs on the way (`again` sets its hospitals up afresh). With `contract`, each answer is admitted as it
 * arrives and must be received with the same contract.
 */
export function askEvaluate(
  pool: WorkerPool,
  channel: Channel,
  round: number,
  chosen: readonly string[],
  body: EnvelopeBody,
  again: (hospitals: readonly string[]) => Promise<void>,
  contract?: (hospital: string) => Omit<ReplyContract, 'hospital' | 'kind'>,
): Promise<PhaseOutcome> {
  const instructions: EvaluateInstructions = { round };
  return sendSurviving(
    pool,
    'evaluate',
    chosen.map((hospital) => ({
      hospital,
      send: () => channel.send(round, hospital, 'evaluate-request', body, instructions, contract?.(hospital)),
    })),
    again,
  );
}
