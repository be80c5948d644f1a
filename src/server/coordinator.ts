import type { BorderTraffic } from './outputs/country-matrix.ts';
import { resolve } from 'node:path';
import { stream } from '../common/rng.ts';
import type { ParamSpec } from '../common/params.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import { describeError } from '../protocol/error-report.ts';
import type { HostInfo } from '../protocol/host-api.ts';
import type { MessageSizes } from '../protocol/kinds.ts';
import type { EvaluateReply, LocalOnlyInstructions, Metrics } from '../protocol/messages.ts';
import { MAX_HOSPITAL_EXAMPLES } from '../protocol/metric-names.ts';
import type { BackendChoice, Scenario } from '../scenario/schema.ts';
import { admit, evaluateReplyOf, exactly, fitReplyOf, setupReplyOf, type ReplyContract } from './boundary.ts';
import { Channel, type Answer, type ExchangeFailure, type Received } from './channel.ts';
import { Ledger, type ByteTotals, type ChainHead, type Crossing } from './ledger.ts';
import type { Compliance } from './compliance/report.ts';
import { JurisdictionViolation, type ViolationStop } from './jurisdiction/violation.ts';
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
import { secureRoundSurviving, sendSurviving, type ThreadFailure } from './recovery.ts';
import { addFaults, roundFaults, type FaultEvent, type FaultSummary } from './fault-record.ts';
import { ClientStateStore } from './state-store.ts';
import { VirtualClock, type ClockRecord } from './clock/virtual-clock.ts';
import type { EnvelopeBody } from '../protocol/envelope.ts';
import { hostSetup, pooledSetup } from './host-setup.ts';
import { perCountry, weightedMetricMeans } from './aggregate-metrics.ts';
import { SecureFit, type PrivacySummary, type RoundPrivacy } from './secure-fit.ts';
import { checkWeights, securePlan } from './privacy/secure-plan.ts';
import { captureRound, restoreRound, type ResumePoint, type RoundState } from './checkpoint/run-state.ts';
import { killPoint } from './checkpoint/test-hook.ts';
import { runMembershipAudits, type AuditRecord } from './membership-audit.ts';
import { runHierarchical } from './topology/hierarchical.ts';
import type { CountryOnlyResult } from './baselines/country-only.ts';
import {
  askEvaluate,
  commonResult,
  hospitalPool,
  evaluateRecord,
  federationBasics,
  fitBody,
  fitRecord,
  prepareHospitals,
  replyContracts,
  runBaselines,
} from './federation-parts.ts';
import {
  evaluationVectors,
  missingByField,
  setupVectors,
  transformContract,
  type PreprocessingRecord,
} from './preprocessing.ts';
import { SetupError } from './setup-error.ts';

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
  /** A checkpointed run to continue from its last completed round (`fedmed run --resume`). */
  readonly resume?: ResumePoint;
  /** Asked before each round: true stops the run there, resumable (a first Ctrl-C). */
  readonly stopRequested?: () => boolean;
  /** Test-only: the module the country aggregators' threads run instead of fedmed's own worker (hierarchical). */
  readonly aggregatorEntry?: { readonly url: string; readonly data: unknown };
}

/** Where a run's records go as they are made. */
export interface RunSink {
  round(record: RoundRecord, crossings: readonly Crossing[]): void;
  /** Crossings outside rounds (setup, baselines). */
  crossings(crossings: readonly Crossing[]): void;
  /** The run's state after each completed round (round 0: after setup), to write as its checkpoint. */
  checkpoint?(state: RoundState): void;
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
  /** Secure aggregation's and differential privacy's record of the round, when the scenario asks for them. */
  readonly privacy?: RoundPrivacy;
  /** Injected faults and worker threads that died or hung this round, and how each was handled. */
  readonly faults?: readonly FaultEvent[];
  /** The round on the virtual clock, when the scenario has one. */
  readonly clock?: ClockRecord;
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
  /** A jurisdiction violation stopped the run after its last completed round (the CLI exits 5). */
  readonly violation?: ViolationStop;
  /** A stop was requested (a signal): the run stopped before a round and can be resumed from its checkpoint. */
  readonly interrupted?: boolean;
  /** Injected faults, dropouts and replaced threads over the run, when there were any. */
  readonly faults?: FaultSummary;
  /** Simulated seconds the completed rounds took, when the scenario has a virtual clock. */
  readonly clock?: { readonly simulatedSeconds: number };
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
  /** Each country federating alone, each country's model scored in every country. */
  readonly countryOnly?: CountryOnlyResult;
  /** The federation's bytes and messages across each border, by direction (`CN→KR`). */
  readonly borders?: Readonly<Record<string, BorderTraffic>>;
  /** Bytes the federation's own messages crossed. */
  readonly bytes: ByteTotals;
  /** Bytes of the baselines' crossings, kept apart (the pooled oracle's are what a real pooling would send). */
  readonly baselineBytes: { readonly localOnly: ByteTotals; readonly pooled: ByteTotals };
  /** Real seconds each part took, for reporting only: setup and rounds, then each baseline that ran. */
  readonly seconds: PhaseSeconds;
  /** The privacy settings and what the run spent, when the scenario asks for privacy. */
  readonly privacy?: PrivacySummary;
  /** The crossing record's hash chain: entries, genesis and head. */
  readonly ledger: ChainHead;
  /** Per country: records kept at home, crossings by class and direction, bases relied on, violations. */
  readonly compliance: Compliance;
  /** Own data: how inputs were scaled and imputed, and what each hospital reported missing. */
  readonly preprocessing?: PreprocessingRecord;
  /** Own data scaled by federated statistics: the transform's centre, scale and fill laid end to end. */
  readonly transform?: Float64Array;
  /** The membership-inference audit of the final model, when the scenario asks for one. */
  readonly audit?: AuditRecord;
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

/** What the coordinator learned of each hospital at setup, through the boundary. */
export interface Holdings {
  readonly train: number;
  readonly test: number;
}

/** Runs the scenario's federation: sample → broadcast → fit → admit → aggregate → evaluate → record. */
export async function runFederation(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  if (scenario.topology === 'hierarchical') return runHierarchical(scenario, options);
  const clock = stopwatch();
  const { inputShape, spec, initial, hospitals, countryOf, sizes } = federationBasics(scenario);
  const strategy = await createStrategy(scenario, options.baseDir);
  const plan = securePlan(scenario, strategy, spec.length);
  const ledger = Ledger.forRun(scenario, initial);

  const pool = await hospitalPool(options, scenario.hospitals);
  try {
    const channel = new Channel(pool, ledger);
    const { holdings, threads, prepared, backend } = await prepareHospitals(
      channel,
      pool,
      scenario,
      options,
      sizes,
    );
    if (options.resume === undefined) options.sink.crossings(ledger.takeUnflushed());
    const train = new Map([...holdings].map(([h, x]) => [h, x.train]));
    if (plan !== undefined) checkWeights(plan, train);
    const states = new ClientStateStore(spec.length);
    const secure =
      plan === undefined
        ? undefined
        : new SecureFit({ scenario, strategy, plan, channel, sizes, train, states });
    const contracts = replyContracts(sizes, strategy, holdings);
    const { fitContract, evaluateContract } = contracts;

    const virtualClock =
      scenario.clock === undefined
        ? undefined
        : new VirtualClock(
            { ...scenario, clock: scenario.clock },
            new Map([...holdings].map(([id, h]) => [id, h.train])),
            4 * spec.length * strategy.vectors.length,
          );
    const parts = {
      strategy,
      states,
      ledger,
      clock: virtualClock,
      secure: plan !== undefined,
      custom: scenario.strategy.name === 'custom',
      periodicAudit: scenario.audit?.every !== undefined,
      parameters: spec.length,
      hospitals: new Set(hospitals.map((h) => h.id)),
    };
    /** The global model: coordinator memory that never leaves; every recipient gets its own copy. */
    let global = options.resume === undefined ? initial : restoreRound(parts, options.resume);
    let final: RoundRecord | undefined = options.resume?.final;
    let stopReason: string | undefined;
    // A dead or hung worker is replaced (see recovery.ts); a lost quorum, a replacement that cannot start
    // (exit 4) or a jurisdiction violation (exit 5) stops the run, keeping the rounds before it.
    let round = (options.resume?.state.round ?? 0) + 1;
    let completed = global;
    let workerFailure = false;
    let violation: ViolationStop | undefined;
    let faultTotals: FaultSummary | undefined = options.resume?.state.faults;
    let interrupted = false;
    if (options.resume === undefined) options.sink.checkpoint?.(captureRound(parts, 0, global, undefined));
    const auditedModels = new Map<number, Float32Array>();
    try {
      for (; round <= scenario.rounds; round++) {
        if (options.stopRequested?.() === true) {
          interrupted = true;
          stopReason = `interrupted before round ${round}`;
          break;
        }
        killPoint('fit', round);
        const candidates = virtualClock?.available(hospitals) ?? hospitals;
        const sampled = strategy.configureFit(
          round,
          candidates,
          stream(scenario.seed, 'sample-fit', `round-${round}`),
        );
        const timing = virtualClock?.plan(
          round,
          sampled,
          hospitals.filter((h) => !candidates.includes(h)).map((h) => h.id),
          strategy.sequential === true,
        );
        const assignments = timing?.send ?? sampled;
        const extra = strategy.broadcastVectors?.(round, global) ?? {};
        const bodyFor = (start: Float32Array, state: Uint8Array | undefined) =>
          fitBody(start, extra.control, state);
        const fitResults: FitResult[] = [];
        const fitFailures: Failure[] = [...(timing?.dropped ?? [])];
        const again = (ids: readonly string[]) =>
          setUpAgain(channel, scenario, options, sizes, holdings, round, ids, prepared.transform);
        const lostThreads: ThreadFailure[] = [];
        const outcome =
          secure === undefined
            ? undefined
            : await secureRoundSurviving(pool, lostThreads, again, (excluded, attempt) =>
                secure.round(round, global, assignments, excluded, attempt),
              );
        if (outcome !== undefined && outcome.kind !== 'aggregated') {
          if (outcome.kind === 'failed') stopReason = outcome.reason;
          break;
        }
        const take = (hospital: string, answer: Answer) => {
          const received = channel.settle(round, hospital, 'fit-request', answer, fitContract(hospital));
          if ('reason' in received) fitFailures.push({ hospital, reason: received.reason });
          else fitResults.push({ hospital, reply: fitReplyOf(states.take(hospital, received.reply)) });
          return received;
        };
        const fitRequest = (
          hospital: string,
          instructions: unknown,
          start: Float32Array,
          shared?: EnvelopeBody,
        ) => ({
          hospital,
          send: () => {
            const state = states.get(hospital);
            const body = state === undefined && shared !== undefined ? shared : bodyFor(start, state);
            return channel.send(round, hospital, 'fit-request', body, instructions, fitContract(hospital));
          },
        });
        if (outcome !== undefined) {
          fitFailures.push(...outcome.fit.failures);
        } else if (strategy.sequential === true) {
          let start = global;
          for (const { hospital, instructions } of assignments) {
            const outcome = await sendSurviving(
              pool,
              'fit',
              [fitRequest(hospital, instructions, start)],
              again,
            );
            lostThreads.push(...outcome.failures);
            const received = take(hospital, outcome.answers.get(hospital)!);
            if (!('reason' in received)) start = fitResults[fitResults.length - 1]!.reply.vectors.parameters!;
          }
        } else {
          const shared = bodyFor(global, undefined);
          const outcome = await sendSurviving(
            pool,
            'fit',
            assignments.map(({ hospital, instructions }) =>
              fitRequest(hospital, instructions, global, shared),
            ),
            again,
          );
          lostThreads.push(...outcome.failures);
          for (const { hospital } of assignments) take(hospital, outcome.answers.get(hospital)!);
          fitResults.sort((a, b) => compareIds(a.hospital, b.hospital));
        }
        if (outcome === undefined && fitResults.length < scenario.minClients) {
          // A quorum lost to threads that died or hung is a worker failure (exit 4); otherwise exit 3.
          workerFailure = lostThreads.length > 0;
          stopReason =
            `round ${round}: ${fitResults.length} valid fit replies, fewer than minClients = ${scenario.minClients}` +
            (fitFailures.length > 0 ? `; ${fitFailures.map((f) => f.reason).join('; ')}` : '');
          break;
        }
        killPoint('aggregate', round);
        try {
          const from = global;
          global = checkedModel(
            outcome?.model ?? strategy.aggregateFit(round, global, fitResults, fitFailures),
            spec.length,
            strategy.name,
          );
          if (outcome === undefined) ledger.jurisdiction?.aggregated(global, fitResults);
          else ledger.jurisdiction?.aggregatedSecurely(global, from, outcome.fit.admitted);
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          stopReason = `round ${round}: ${strategy.name} cannot aggregate: ${e.message}`;
          break;
        }

        const chosen = strategy.configureEvaluate(
          round,
          candidates,
          stream(scenario.seed, 'sample-evaluate', `round-${round}`),
        );
        const evalBody = Channel.body([['parameters', global]]);
        const evalOutcome = await askEvaluate(
          pool,
          channel,
          round,
          chosen,
          evalBody,
          again,
          evaluateContract,
        );
        lostThreads.push(...evalOutcome.failures);
        const evaluated = collect(
          chosen,
          chosen.map((hospital) =>
            channel.settle(
              round,
              hospital,
              'evaluate-request',
              evalOutcome.answers.get(hospital)!,
              evaluateContract(hospital),
            ),
          ),
        );
        const faults = roundFaults(
          scenario,
          round,
          {
            sampled: assignments.map((a) => a.hospital),
            admitted: fitResults.map((r) => r.hospital),
            failures: fitFailures,
          },
          lostThreads,
          evaluated.failures,
        );
        faultTotals = addFaults(faultTotals, faults, lostThreads);
        const record: RoundRecord = {
          round,
          fit: outcome?.fit ?? fitRecord(sampled, fitResults, fitFailures),
          evaluate: evaluateRecord(strategy, round, evaluated, countryOf),
          bytes: ledger.totals(round),
          ...(outcome === undefined ? {} : { privacy: outcome.privacy }),
          ...(faults.length === 0 ? {} : { faults }),
          ...(timing === undefined ? {} : { clock: timing.finish() }),
        };
        options.sink.round(record, ledger.takeUnflushed());
        final = record;
        completed = global;
        if (round % (scenario.audit?.every ?? Infinity) === 0) auditedModels.set(round, global);
        killPoint('round-written', round);
        options.sink.checkpoint?.(captureRound(parts, round, global, faultTotals));
      }
    } catch (e) {
      if (e instanceof JurisdictionViolation) {
        stopReason = e.message;
        violation = e.stop;
      } else if (e instanceof WorkerFailure) {
        stopReason = `round ${round}: ${e.message}`;
        workerFailure = true;
      } else throw e;
    }

    const audit =
      !workerFailure &&
      !interrupted &&
      violation === undefined &&
      scenario.audit !== undefined &&
      final !== undefined
        ? await runMembershipAudits({
            channel,
            scenario,
            models: auditedModels.set(final.round, completed),
            holdings,
            sizes,
            state: (h) => states.get(h),
            fitRequests: fitRequestsOf(ledger.entries),
          })
        : undefined;
    const federationSeconds = clock.lap();
    const baselines = await runBaselines(!workerFailure && !interrupted && violation === undefined, {
      scenario,
      options,
      channel,
      ledger,
      hospitals,
      initial,
      spec,
      sizes,
      holdings,
      contracts,
      lap: () => clock.lap(),
    });
    options.sink.crossings(ledger.takeUnflushed());
    return {
      ...(virtualClock === undefined ? {} : { clock: { simulatedSeconds: virtualClock.now } }),
      ...commonResult({
        stop: { stopReason, workerFailure, violation, interrupted, faultTotals },
        final,
        completed,
        spec,
        inputShape,
        backend,
        threads,
        pool,
        baselines,
        federationSeconds,
        ledger,
        scenario,
        preprocessing: prepared.record,
      }),
      strategy: strategy.summary(),
      ...(secure === undefined ? {} : { privacy: secure.summary() }),
      ...(prepared.transformVector === undefined ? {} : { transform: prepared.transformVector }),
      ...(audit === undefined ? {} : { audit }),
    };
  } finally {
    if (options.pool === undefined) await pool.close();
  }
}

/**
 * Sets up every hospital in its thread (configuration only) and learns, through the boundary, how many
 * training and held-out examples it holds — at most what the scenario says it has — and each thread's backend.
 */
export async function setUp(
  channel: Channel,
  pool: WorkerPool,
  scenario: Scenario,
  options: RunOptions,
  sizes: MessageSizes,
): Promise<{
  holdings: Map<string, Holdings>;
  threads: HostInfo[];
  missing: Map<string, Record<string, number>>;
}> {
  const pending = await Promise.all(
    scenario.hospitals.map((h) =>
      channel.send(
        0,
        h.id,
        'setup',
        Channel.body(),
        hostSetup(scenario, options.backend, options.baseDir, h.id),
      ),
    ),
  );
  const holdings = new Map<string, Holdings>();
  const missing = new Map<string, Record<string, number>>();
  const threads: (HostInfo | undefined)[] = Array.from({ length: pool.size });
  const failures: ExchangeFailure[] = [];
  scenario.hospitals.forEach((h, i) => {
    const received = channel.receive(
      0,
      h.id,
      'setup',
      pending[i]!,
      setupContract(scenario, options, sizes, h),
    );
    if ('reason' in received) {
      failures.push(received);
      return;
    }
    const { host, train, test } = setupReplyOf(received.reply);
    holdings.set(h.id, { train, test });
    const counts = received.reply.vectors.get('missing');
    if (counts instanceof Uint32Array) missing.set(h.id, missingByField(scenario.data, counts));
    const t = pool.assignment.get(h.id)!;
    const known = threads[t];
    if (known !== undefined && (known.backend !== host.backend || known.tfjs !== host.tfjs)) {
      failures.push({ hospital: h.id, reason: `hospital ${h.id}: its thread reported another backend` });
    }
    threads[t] ??= { threadId: pool.threadIds[t]!, ...host };
  });
  if (failures.length > 0) {
    const badInput = failures.every(
      (f) => f.report?.category === 'bad-input' || f.report?.category === 'backend-unavailable',
    );
    throw new SetupError(failures.map((f) => f.reason).join('; '), badInput);
  }
  return { holdings, threads: threads.map((t) => t!), missing };
}

/** What a setup reply must hold: counts within what the hospital can hold, errors naming its own files. */
function setupContract(
  scenario: Scenario,
  options: RunOptions,
  sizes: MessageSizes,
  h: Scenario['hospitals'][number],
): Omit<ReplyContract, 'hospital' | 'kind'> {
  const holds =
    h.source.kind !== 'generate'
      ? MAX_HOSPITAL_EXAMPLES
      : scenario.data.partition.kind === 'natural'
        ? h.patients
        : scenario.hospitals.reduce((s, x) => s + x.patients, 0);
  return {
    sizes,
    vectors: setupVectors(scenario.data),
    counts: { train: { min: 1, max: holds }, test: { min: 0, max: holds } },
    holds,
    files: declaredFiles(h, options.baseDir),
  };
}

/**
 * Sets up again, in a thread that replaced a failed one, the hospitals it hosts: the same configuration, so the
 * same data; each must report the holdings it reported at the start, or the run cannot go on (a worker failure).
 */
export async function setUpAgain(
  channel: Channel,
  scenario: Scenario,
  options: RunOptions,
  sizes: MessageSizes,
  holdings: ReadonlyMap<string, Holdings>,
  round: number,
  ids: readonly string[],
  transform: EnvelopeBody | undefined,
): Promise<void> {
  for (const id of ids) {
    const h = scenario.hospitals.find((x) => x.id === id)!;
    const received = await channel.exchange(
      round,
      id,
      'setup',
      Channel.body(),
      hostSetup(scenario, options.backend, options.baseDir, id),
      setupContract(scenario, options, sizes, h),
    );
    const was = holdings.get(id)!;
    if ('reason' in received)
      throw new WorkerFailure(`hospital ${id} could not be set up again: ${received.reason}`);
    const { train, test } = setupReplyOf(received.reply);
    if (train !== was.train || test !== was.test)
      throw new WorkerFailure(`hospital ${id} reported other holdings when set up again`);
    if (transform === undefined) continue;
    // Own data scaled by the federation: the hospital gets the same transform it got at the start.
    const applied = await channel.exchange(
      round,
      id,
      'transform-request',
      transform,
      {},
      transformContract(sizes, was),
    );
    if ('reason' in applied)
      throw new WorkerFailure(`hospital ${id} could not be set up again: ${applied.reason}`);
  }
}

/** A hospital's answer to a request, or why it dropped out (its thread died or hung serving it). */

/** The hospital's own files and folders, as its worker names them in error reports. */
function declaredFiles(h: Scenario['hospitals'][number], baseDir: string): string[] {
  const s = h.source;
  if (s.kind === 'csv' || s.kind === 'table') return [resolve(baseDir, s.path)];
  if (s.kind === 'dicom' || s.kind === 'image-folder')
    return [resolve(baseDir, s.folder), resolve(baseDir, s.labels)];
  return [];
}

/** A strategy's aggregate, checked like a reply: the model's length, every value finite. */
export function checkedModel(model: Float32Array, length: number, strategy: string): Float32Array {
  if (!(model instanceof Float32Array) || model.length !== length) {
    throw new RangeError(`its aggregate must be a Float32Array of ${length} parameters`);
  }
  for (let i = 0; i < model.length; i++) {
    if (!Number.isFinite(model[i]!)) {
      throw new RangeError(
        `${strategy}'s aggregate has a non-finite parameter at index ${i}; the run stops before using it`,
      );
    }
  }
  return model.slice();
}

/** Evaluation replies in a fixed order (ascending hospital id), and the hospitals that gave none. */
export function collect(
  chosen: readonly string[],
  received: readonly Received[],
): { results: EvaluateResult[]; failures: Failure[] } {
  const results: EvaluateResult[] = [];
  const failures: Failure[] = [];
  received.forEach((r, i) => {
    const hospital = chosen[i]!;
    if ('reason' in r) failures.push({ hospital, reason: r.reason });
    else results.push({ hospital, reply: evaluateReplyOf(r.reply) });
  });
  results.sort((a, b) => compareIds(a.hospital, b.hospital));
  return { results, failures };
}

export async function runLocalOnly(
  channel: Channel,
  scenario: Scenario,
  hospitals: readonly HospitalRef[],
  initial: Float32Array,
  contract: (hospital: string) => Omit<ReplyContract, 'hospital' | 'kind'>,
): Promise<BaselineResult> {
  const epochs = scenario.rounds * scenario.training.localEpochs;
  const ids = hospitals.map((h) => h.id).sort(compareIds);
  const body = Channel.body([['parameters', initial]]);
  const request: LocalOnlyInstructions = { training: scenario.training, epochs };
  const pending = await Promise.all(ids.map((h) => channel.send(0, h, 'local-only-request', body, request)));
  const { results, failures } = collect(
    ids,
    ids.map((h, i) => channel.receive(0, h, 'local-only-request', pending[i]!, contract(h))),
  );
  if (failures.length > 0)
    throw new RoundFailure(`local-only baseline: ${failures.map((f) => f.reason).join('; ')}`);
  return baseline('local-only', epochs, results, new Map(hospitals.map((h) => [h.id, h.country])));
}

/** The name under which the pooled oracle's thread is reached: it hosts no hospital, it builds them all. */
const POOLED_ORACLE = 'pooled-oracle';

/**
 * The pooled oracle in a thread of its own: one model trained on every hospital's records (which no real
 * federation may gather), evaluated at each hospital. Its training request and reply concern no single hospital
 * and are not recorded; the records each hospital would have had to export are, as violations, and so is
 * each hospital's evaluation.
 */
export async function runPooled(
  ledger: Ledger,
  scenario: Scenario,
  initial: Float32Array,
  options: RunOptions,
  sizes: MessageSizes,
  holdings: ReadonlyMap<string, Holdings>,
): Promise<BaselineResult> {
  const epochs = scenario.rounds * scenario.training.localEpochs;
  const ids = scenario.hospitals.map((h) => h.id).sort(compareIds);
  const oracle = await WorkerPool.start([POOLED_ORACLE, ...ids], 1, { timeoutMs: options.timeoutMs });
  try {
    const request = {
      setup: pooledSetup(scenario, options.backend, options.baseDir),
      training: scenario.training,
      epochs,
    };
    const raw = await oracle.exchange(
      POOLED_ORACLE,
      Channel.body([['parameters', initial]]).bytes('pooled-train-request', { request }),
      'pooled-oracle training',
    );
    const counts = Object.fromEntries(
      ids.map((id) => [`trainExamples.${id}`, exactly(holdings.get(id)!.train)]),
    );
    const trained = admit(raw, {
      hospital: POOLED_ORACLE,
      kind: 'pooled-train-reply',
      sizes,
      vectors: [],
      counts,
      hospitals: ids,
    });
    if (trained.status !== 'admitted') {
      throw new RoundFailure(
        `pooled baseline: ${trained.status === 'error' ? describeError(POOLED_ORACLE, trained.report) : trained.violation.message}`,
      );
    }
    const inputSize = inputShapeOf(scenario.data).reduce((a, b) => a * b, 1);
    const trainExamples = trained.reply.fields.trainExamples as Record<string, number>;
    const channel = new Channel(oracle, ledger);
    const results: EvaluateResult[] = [];
    for (const id of ids) {
      ledger.recordPooledRecords(id, trainExamples[id]! * (inputSize + 1) * 4);
      const received = await channel.exchange(
        0,
        id,
        'pooled-evaluate-request',
        Channel.body(),
        {},
        {
          sizes,
          vectors: evaluationVectors(sizes),
          counts: { numExamples: exactly(holdings.get(id)!.test) },
        },
      );
      if ('reason' in received) throw new RoundFailure(`pooled baseline: ${received.reason}`);
      results.push({ hospital: id, reply: evaluateReplyOf(received.reply) });
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

export function withCountry(results: readonly EvaluateResult[], countryOf: ReadonlyMap<string, string>) {
  return results.map((r) => ({ country: countryOf.get(r.hospital)!, ...r.reply }));
}

export function byHospital(results: readonly EvaluateResult[]): HospitalMetrics {
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

/** Real seconds since the previous lap (or the start); used only to report how long parts took. */
export function stopwatch(): { lap(): number } {
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

/** How many fit requests each hospital was sent, by the crossing record. */
function fitRequestsOf(entries: readonly { readonly kind: string; readonly hospital: string }[]) {
  const counts = new Map<string, number>();
  for (const e of entries)
    if (e.kind === 'fit-request') counts.set(e.hospital, (counts.get(e.hospital) ?? 0) + 1);
  return counts;
}
