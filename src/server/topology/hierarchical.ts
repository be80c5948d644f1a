import { weightedUpdateSum } from '../../common/weighted-update-sum.ts';
import { stream } from '../../common/rng.ts';
import { EnvelopeBody } from '../../protocol/envelope.ts';
import { describeError } from '../../protocol/error-report.ts';
import { modelClass } from '../../protocol/jurisdiction/classes.ts';
import type { Facts, Source } from '../../protocol/jurisdiction/enforcer.ts';
import type { Kind, MessageSizes, ReplyKind } from '../../protocol/kinds.ts';
import type { EvaluateInstructions } from '../../protocol/messages.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { admit, exactly, fitReplyOf } from '../boundary.ts';
import { Channel } from '../channel.ts';
import {
  checkedModel,
  collect,
  RoundFailure,
  stopwatch,
  type RoundRecord,
  type RunOptions,
  type RunResult,
} from '../coordinator.ts';
import { JurisdictionViolation, describeViolation, type ViolationStop } from '../jurisdiction/violation.ts';
import type { JurisdictionGate } from '../jurisdiction/gate.ts';
import { Ledger } from '../ledger.ts';
import { compareIds } from '../sampling.ts';
import { ClientStateStore } from '../state-store.ts';
import { createStrategy, StrategyConfigError } from '../strategies/index.ts';
import type { Failure, FitResult } from '../strategies/strategy.ts';
import { WorkerFailure, WorkerPool } from '../worker-pool.ts';
import { checkHierarchical } from './hierarchical-check.ts';
import { aggregatorId, countriesOf } from './hops.ts';
import {
  commonResult,
  evaluateRecord,
  federationBasics,
  fitBody,
  fitRecord,
  prepareHospitals,
  replyContracts,
  runBaselines,
} from '../federation-parts.ts';

/**
 * The federation in the hierarchical topology: one aggregator per country, sited there, in a worker thread of
 * its own. Each round the coordinator sends the global model to each country's aggregator, which relays it to its
 * sampled hospitals; their fit replies go to their aggregator (domestic crossings); each aggregator returns the
 * Float64 sum Σ w_k (x_k − g) of its hospitals' weighted updates, checked at the boundary like any worker's reply
 * (its counts must equal what its hospitals reported); only these country aggregates cross the border. The
 * coordinator adds them in ascending country order and applies the strategy's server step (`aggregateSums`).
 * Evaluation goes the same way: the model down through the aggregator, the hospitals' metrics back through it.
 *
 * In the simulation every message passes the coordinator's process, which relays between threads; the record
 * holds the hops of the arrangement simulated, each with the countries at both ends.
 */
export async function runHierarchical(scenario: Scenario, options: RunOptions): Promise<RunResult> {
  const clock = stopwatch();
  const { inputShape, spec, initial, hospitals, countryOf, sizes } = federationBasics(scenario);
  const strategy = await createStrategy(scenario, options.baseDir);
  const weighting = checkHierarchical(scenario, strategy);
  if (options.resume !== undefined)
    throw new StrategyConfigError(
      'topology: "hierarchical" runs keep no checkpoint yet and cannot be resumed; run it again without --resume',
    );
  const countries = countriesOf(scenario);
  const ledger = Ledger.forRun(scenario, initial);
  const gate = ledger.jurisdiction;

  const pool =
    options.pool ??
    (await WorkerPool.start(
      hospitals.map((h) => h.id),
      options.threads,
      { timeoutMs: options.timeoutMs },
    ));
  const ids = countries.map(aggregatorId);
  let aggregators: WorkerPool | undefined;
  try {
    const countryThreads = await WorkerPool.start(ids, ids.length, { timeoutMs: options.timeoutMs });
    aggregators = countryThreads;
    const channel = new Channel(pool, ledger);
    const { holdings, threads, prepared, backend } = await prepareHospitals(
      channel,
      pool,
      scenario,
      options,
      sizes,
    );
    options.sink.crossings(ledger.takeUnflushed());
    const contracts = replyContracts(sizes, strategy, holdings);
    const { fitContract, evaluateContract } = contracts;
    const relay = new Relay(ledger, gate);
    const states = new ClientStateStore(spec.length);

    let global = initial;
    let completed = initial;
    let final: RoundRecord | undefined;
    let stopReason: string | undefined;
    let workerFailure = false;
    let violation: ViolationStop | undefined;
    let round = 1;
    try {
      for (; round <= scenario.rounds; round++) {
        const sampled = strategy.configureFit(
          round,
          hospitals,
          stream(scenario.seed, 'sample-fit', `round-${round}`),
        );
        const down = countriesIn(
          sampled.map((a) => a.hospital),
          countryOf,
        );
        const shared = Channel.body([['parameters', global]]);
        for (const c of down) relay.down(round, aggregatorId(c), 'country-fit-request', shared, global);
        const pending = await Promise.all(
          sampled.map(({ hospital, instructions }) => {
            const state = states.get(hospital);
            const body = state === undefined ? shared : fitBody(global, undefined, state);
            return channel.send(round, hospital, 'fit-request', body, instructions);
          }),
        );
        const fitResults: FitResult[] = [];
        const fitFailures: Failure[] = [];
        sampled.forEach(({ hospital }, i) => {
          const received = channel.receive(
            round,
            hospital,
            'fit-request',
            pending[i]!,
            fitContract(hospital),
          );
          if ('reason' in received) fitFailures.push({ hospital, reason: received.reason });
          else fitResults.push({ hospital, reply: fitReplyOf(states.take(hospital, received.reply)) });
        });
        fitResults.sort((a, b) => compareIds(a.hospital, b.hospital));
        if (fitResults.length < scenario.minClients) {
          stopReason =
            `round ${round}: ${fitResults.length} valid fit replies, fewer than minClients = ${scenario.minClients}` +
            (fitFailures.length > 0 ? `; ${fitFailures.map((f) => f.reason).join('; ')}` : '');
          break;
        }
        const sum = new Float64Array(spec.length);
        let totalWeight = 0;
        // The country aggregators work at once; their replies are checked and recorded in country order.
        const asked = countriesIn(
          fitResults.map((r) => r.hospital),
          countryOf,
        ).map((c) => {
          const mine = fitResults.filter((r) => countryOf.get(r.hospital) === c);
          const weights = mine.map((r) => (weighting === 'one' ? 1 : r.reply.numExamples));
          const updates = new Float32Array(mine.length * global.length);
          mine.forEach((r, j) => updates.set(r.reply.vectors.parameters!, j * global.length));
          const raw = askAggregator(countryThreads, round, c, global, mine, weights, updates);
          return { c, mine, weights, updates, raw };
        });
        const answers = await Promise.allSettled(asked.map((a) => a.raw));
        for (const [k, { c, mine, weights, updates }] of asked.entries()) {
          const part = countryAggregate(
            answers[k]!,
            relay,
            round,
            c,
            { global, updates, weights },
            mine,
            sizes,
          );
          for (let i = 0; i < sum.length; i++) sum[i]! += part[i]!;
          totalWeight += weights.reduce((a, b) => a + b, 0);
        }
        try {
          const from = global;
          global = checkedModel(
            strategy.aggregateSums!(round, global, {
              values: { update: sum },
              totalWeight,
              contributors: fitResults.map((r) => ({
                hospital: r.hospital,
                numExamples: r.reply.numExamples,
              })),
            }),
            spec.length,
            strategy.name,
          );
          gate?.aggregatedSecurely(
            global,
            from,
            fitResults.map((r) => r.hospital),
          );
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          stopReason = `round ${round}: ${strategy.name} cannot aggregate: ${e.message}`;
          break;
        }

        const chosen = strategy.configureEvaluate(
          round,
          hospitals,
          stream(scenario.seed, 'sample-evaluate', `round-${round}`),
        );
        const evalBody = Channel.body([['parameters', global]]);
        for (const c of countriesIn(chosen, countryOf))
          relay.down(round, aggregatorId(c), 'country-evaluate-request', evalBody, global);
        const instructions: EvaluateInstructions = { round };
        const evalPending = await Promise.all(
          chosen.map((h) => channel.send(round, h, 'evaluate-request', evalBody, instructions)),
        );
        const before = ledger.entries.length;
        const evaluated = collect(
          chosen,
          chosen.map((h, i) =>
            channel.receive(round, h, 'evaluate-request', evalPending[i]!, evaluateContract(h)),
          ),
        );
        const replies = ledger.entries.slice(before);
        for (const c of countriesIn(chosen, countryOf)) {
          relay.up(
            round,
            aggregatorId(c),
            replies.filter((e) => countryOf.get(e.hospital) === c && e.admitted),
          );
        }
        const record: RoundRecord = {
          round,
          fit: fitRecord(sampled, fitResults, fitFailures),
          evaluate: evaluateRecord(strategy, round, evaluated, countryOf),
          bytes: ledger.totals(round),
        };
        options.sink.round(record, ledger.takeUnflushed());
        final = record;
        completed = global;
      }
    } catch (e) {
      if (e instanceof JurisdictionViolation) {
        stopReason = e.message;
        violation = e.stop;
      } else if (e instanceof WorkerFailure) {
        stopReason = `round ${round}: ${e.message}`;
        workerFailure = true;
      } else if (e instanceof RoundFailure) {
        stopReason = `round ${round}: ${e.message}`;
      } else throw e;
    }
    const federationSeconds = clock.lap();
    const baselines = await runBaselines(!workerFailure && violation === undefined, {
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
      status: stopReason === undefined ? 'completed' : 'stopped',
      ...(stopReason === undefined ? {} : { stopReason }),
      ...(workerFailure ? { workerFailure } : {}),
      ...(violation === undefined ? {} : { violation }),
      ...commonResult({
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
      strategy: { ...strategy.summary(), topology: 'hierarchical', countryAggregators: ids },
    };
  } finally {
    await aggregators?.close();
    if (options.pool === undefined) await pool.close();
  }
}

/** The reply kind of a request a country aggregator gets. */
function replyOf(kind: Kind): Kind {
  return kind === 'country-fit-request' ? 'country-aggregate' : 'country-evaluation';
}

/** The countries of some hospitals, sorted. */
function countriesIn(ids: readonly string[], countryOf: ReadonlyMap<string, string>): string[] {
  return [...new Set(ids.map((h) => countryOf.get(h)!))].sort();
}

/** Sends country `c`'s aggregator its hospitals' updates and weights; resolves to its raw reply. */
function askAggregator(
  aggregators: WorkerPool,
  round: number,
  c: string,
  global: Float32Array,
  results: readonly FitResult[],
  weights: readonly number[],
  /** The hospitals' updated models end to end, in `results`' order. */
  updates: Float32Array,
): Promise<unknown> {
  const id = aggregatorId(c);
  const numExamples = results.map((r) => r.reply.numExamples);
  const request = new EnvelopeBody([
    ['parameters', global],
    ['updates', updates],
  ]).bytes('country-fit-request', { hospital: id, request: { round, weights, numExamples } });
  return aggregators.exchange(id, request, 'country aggregator');
}

/**
 * Admits country `c`'s aggregator's reply at the boundary (a `country-aggregate` whose counts must be exactly
 * its contributors' and their examples, whose sum must be exactly their weighted updates' sum) and records it
 * crossing to the coordinator; returns the sum.
 */
function countryAggregate(
  answer: PromiseSettledResult<unknown>,
  relay: Relay,
  round: number,
  c: string,
  sent: {
    readonly global: Float32Array;
    readonly updates: Float32Array;
    readonly weights: readonly number[];
  },
  results: readonly FitResult[],
  sizes: MessageSizes,
): Float64Array {
  const id = aggregatorId(c);
  if (answer.status === 'rejected') {
    if (answer.reason instanceof WorkerFailure) throw answer.reason;
    throw new RoundFailure(`country aggregator ${id}: its call failed outside the protocol`);
  }
  const raw = answer.value;
  const numExamples = results.map((r) => r.reply.numExamples);
  const verdict = admit(raw, {
    hospital: id,
    kind: 'country-aggregate',
    sizes,
    vectors: ['sum'],
    counts: {
      numExamples: exactly(numExamples.reduce((a, b) => a + b, 0)),
      contributors: exactly(results.length),
    },
  });
  if (verdict.status !== 'admitted') {
    const reason = verdict.status === 'error' ? describeError(id, verdict.report) : verdict.violation.message;
    relay.rejected(round, id, verdict.bytes, reason);
    throw new RoundFailure(`country aggregator ${id}: ${reason}`);
  }
  const sum = verdict.reply.vectors.get('sum');
  if (!(sum instanceof Float64Array)) throw new RoundFailure(`country aggregator ${id}: no sum`);
  // The simulator relays the updates itself, so it can check what a real coordinator could not: the aggregate
  // is exactly the weighted sum of the updates its aggregator was sent.
  const expected = weightedUpdateSum(sent.global, sent.updates, sent.weights);
  for (let i = 0; i < sum.length; i++) {
    if (!Object.is(sum[i], expected[i]))
      throw new RoundFailure(
        `country aggregator ${id}: its sum is not the weighted sum of the updates it was sent (index ${i})`,
      );
  }
  relay.aggregate(
    round,
    id,
    verdict,
    results.map((r) => r.hospital),
  );
  return sum;
}

/**
 * Records the hops through a country aggregator, weighed by the run's jurisdiction policies: the model it gets
 * from the coordinator, the country aggregate it sends back, the evaluation replies it relays. A forbidden
 * one is recorded (by size) and stops the run, as the channel does for a hospital's.
 */
class Relay {
  readonly #ledger: Ledger;
  readonly #gate: JurisdictionGate | undefined;

  constructor(ledger: Ledger, gate: JurisdictionGate | undefined) {
    this.#ledger = ledger;
    this.#gate = gate;
  }

  /** The coordinator sends `model` (as `body`, the round's one body of it) to aggregator `id`, to relay. */
  down(
    round: number,
    id: string,
    kind: 'country-fit-request' | 'country-evaluate-request',
    body: EnvelopeBody,
    model: Float32Array,
  ): void {
    const { bytes, sha256 } = body.seal(kind, {
      hospital: id,
      request: { round },
    });
    const facts = this.#gate?.requestFacts(kind, id, model);
    const expected = this.#gate?.expectedReplyFacts(replyOf(kind) as ReplyKind, id);
    this.#cross(round, id, kind, { bytes: bytes.byteLength, sha256 }, facts, { admitted: true }, expected);
  }

  /** Aggregator `id`'s country aggregate of `contributors`, admitted at the boundary. */
  aggregate(
    round: number,
    id: string,
    verdict: { readonly bytes: number; readonly sha256: string },
    contributors: readonly string[],
  ): void {
    const facts: Facts | undefined =
      this.#gate === undefined
        ? undefined
        : {
            direction: 'to-coordinator',
            hospital: id,
            classes: [modelClass(contributors.length, this.#gate.enforcer.consortium.minHospitals)],
            sources: contributors.map((h) => `${h}:train` as Source),
          };
    this.#cross(round, id, 'country-aggregate', verdict, facts, { admitted: true });
  }

  /** Aggregator `id` relays its hospitals' admitted evaluation replies (their crossings `from`) in one message. */
  up(
    round: number,
    id: string,
    from: readonly {
      readonly bytes: number;
      readonly classes: readonly string[];
      readonly sources?: readonly Source[];
    }[],
  ): void {
    if (from.length === 0) return;
    const classes = [...new Set(from.flatMap((e) => e.classes))] as Facts['classes'];
    const sources = [...new Set(from.flatMap((e) => e.sources ?? []))].sort();
    const facts: Facts | undefined =
      this.#gate === undefined ? undefined : { direction: 'to-coordinator', hospital: id, classes, sources };
    const bytes = from.reduce((s, e) => s + e.bytes, 0);
    this.#cross(round, id, 'country-evaluation', { bytes }, facts, { admitted: true });
  }

  /** A country aggregate the boundary rejected: measured, not hashed. */
  rejected(round: number, id: string, bytes: number, reason: string): void {
    this.#ledger.record(round, id, 'country-aggregate', { bytes }, { admitted: false, reason });
  }

  #cross(
    round: number,
    id: string,
    kind: Kind,
    message: { readonly bytes: number; readonly sha256?: string },
    facts: Facts | undefined,
    handling: { readonly admitted: boolean },
    expectedReply?: Facts,
  ): void {
    if (this.#gate === undefined || facts === undefined) {
      this.#ledger.record(round, id, kind, message, handling);
      return;
    }
    const { relied, breaches } = this.#gate.check(facts);
    const violations = [
      ...breaches.map((b) => ({ ...b, kind })),
      ...(expectedReply === undefined
        ? []
        : this.#gate.check(expectedReply).breaches.map((b) => ({
            ...b,
            kind: replyOf(kind),
          }))),
    ];
    if (violations.length > 0) {
      const enforcement = facts.direction === 'to-hospital' ? 'not sent' : 'discarded';
      const stop: ViolationStop = {
        round,
        hospital: id,
        message: kind,
        enforcement,
        violation: violations[0]!,
      };
      this.#ledger.record(
        round,
        id,
        kind,
        { bytes: message.bytes },
        {
          admitted: false,
          reason: describeViolation(stop),
          ...(enforcement === 'not sent' ? { sent: false as const } : {}),
        },
        { facts, violations },
      );
      throw new JurisdictionViolation(stop);
    }
    this.#gate.commit(facts);
    this.#ledger.record(round, id, kind, message, handling, { facts, relied, violations });
  }
}
