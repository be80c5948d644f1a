import { weightedUpdateSum } from '../../common/weighted-update-sum.ts';
import { stream } from '../../common/rng.ts';
import { EnvelopeBody } from '../../protocol/envelope.ts';
import type { EvaluateInstructions } from '../../protocol/messages.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { fitReplyOf } from '../boundary.ts';
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
import { JurisdictionViolation, type ViolationStop } from '../jurisdiction/violation.ts';
import { Ledger } from '../ledger.ts';
import { compareIds } from '../sampling.ts';
import { ClientStateStore } from '../state-store.ts';
import { createStrategy, StrategyConfigError } from '../strategies/index.ts';
import type { Failure, FitResult } from '../strategies/strategy.ts';
import { WorkerFailure, WorkerPool } from '../worker-pool.ts';
import { checkHierarchical } from './hierarchical-check.ts';
import { countryAggregate } from './country-aggregate.ts';
import { aggregatorId, countriesOf } from './hops.ts';
import { Relay } from './relay.ts';
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
          // The simulator relays the updates itself, so it can check what a real coordinator could not: the
          // aggregate is exactly the weighted sum of the updates its aggregator was sent.
          const part = countryAggregate(
            answers[k]!,
            relay,
            round,
            c,
            {
              sum: weightedUpdateSum(global, updates, weights),
              numExamples: mine.reduce((a, r) => a + r.reply.numExamples, 0),
              contributors: mine.map((r) => r.hospital),
              what: 'the weighted sum of the updates it was sent',
            },
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
