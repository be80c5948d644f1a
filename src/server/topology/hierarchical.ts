import { weightedUpdateSum } from '../../common/weighted-update-sum.ts';
import { stream } from '../../common/rng.ts';
import { EnvelopeBody } from '../../protocol/envelope.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { fitReplyOf } from '../boundary.ts';
import { Channel } from '../channel.ts';
import {
  checkedModel,
  collect,
  RoundFailure,
  setUpAgain,
  stopwatch,
  type RoundRecord,
  type RunOptions,
  type RunResult,
} from '../coordinator.ts';
import { JurisdictionViolation, type ViolationStop } from '../jurisdiction/violation.ts';
import { Ledger } from '../ledger.ts';
import { compareIds } from '../sampling.ts';
import { ClientStateStore } from '../state-store.ts';
import { createStrategy } from '../strategies/index.ts';
import type { Failure, FitAssignment, FitResult, Strategy } from '../strategies/strategy.ts';
import { WorkerFailure, WorkerPool } from '../worker-pool.ts';
import { checkHierarchical, largestCountry } from './hierarchical-check.ts';
import {
  countrySecureRound,
  type CountrySecureContext,
  type CountrySecureOutcome,
} from './country-secure-fit.ts';
import { checkWeights, securePlan } from '../privacy/secure-plan.ts';
import { secureAggregationSummary } from '../secure-fit.ts';
import type { SumWeighting } from '../../protocol/secure-sums.ts';
import type { MessageSizes } from '../../protocol/kinds.ts';
import { countryAggregate } from './country-aggregate.ts';
import { aggregatorId, countriesOf } from './hops.ts';
import { Relay } from './relay.ts';
import { countryPreprocessingHops } from './preprocessing-hops.ts';
import { askAggregator } from './aggregator-call.ts';
import { killPoint } from '../checkpoint/test-hook.ts';
import { VirtualClock } from '../clock/virtual-clock.ts';
import { captureRound, restoreRound, type RunParts } from '../checkpoint/run-state.ts';
import { secureRoundSurviving, sendSurviving, type PhaseRequest, type ThreadFailure } from '../recovery.ts';
import type { Answer } from '../channel.ts';
import { addFaults, roundFaults, type FaultSummary } from '../fault-record.ts';
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
  const plan = securePlan(scenario, strategy, spec.length, largestCountry(scenario));
  const countries = countriesOf(scenario);
  const ledger = Ledger.forRun(scenario, initial);
  const gate = ledger.jurisdiction;

  const pool = await hospitalPool(options, scenario.hospitals);
  const ids = countries.map(aggregatorId);
  let aggregators: WorkerPool | undefined;
  try {
    const countryThreads = await WorkerPool.start(ids, ids.length, {
      timeoutMs: options.timeoutMs,
      ...(options.aggregatorEntry === undefined ? {} : { entry: options.aggregatorEntry }),
    });
    aggregators = countryThreads;
    const channel = new Channel(pool, ledger);
    const relay = new Relay(ledger, gate);
    const { holdings, threads, prepared, backend } = await prepareHospitals(
      channel,
      pool,
      scenario,
      options,
      sizes,
      countryPreprocessingHops(ledger, relay, countries, countryOf),
    );
    if (options.resume === undefined) options.sink.crossings(ledger.takeUnflushed());
    const contracts = replyContracts(sizes, strategy, holdings);
    const { fitContract, evaluateContract } = contracts;
    const states = new ClientStateStore(spec.length);
    const train = new Map([...holdings].map(([h, x]) => [h, x.train]));
    if (plan !== undefined) checkWeights(plan, train);
    const plainContext: PlainCountryContext = {
      channel,
      states,
      fitContract,
      aggregators: countryThreads,
      relay,
      sizes,
      weighting,
      countryOf,
      minClients: scenario.minClients,
    };
    const secure: CountrySecureContext | undefined =
      plan === undefined
        ? undefined
        : {
            scenario,
            strategy,
            plan,
            channel,
            sizes,
            states,
            aggregators: countryThreads,
            relay,
            train,
            countryOf,
          };

    const virtualClock =
      scenario.clock === undefined
        ? undefined
        : new VirtualClock(
            { ...scenario, clock: scenario.clock },
            train,
            4 * spec.length * strategy.vectors.length,
          );
    const parts = checkpointParts(scenario, strategy, states, ledger, spec.length, virtualClock);
    let global = options.resume === undefined ? initial : restoreRound(parts, options.resume);
    let completed = global;
    let final: RoundRecord | undefined = options.resume?.final;
    let stopReason: string | undefined;
    let workerFailure = false;
    let violation: ViolationStop | undefined;
    let faultTotals: FaultSummary | undefined = options.resume?.state.faults;
    let interrupted = false;
    let round = (options.resume?.state.round ?? 0) + 1;
    if (options.resume === undefined) options.sink.checkpoint?.(captureRound(parts, 0, global, undefined));
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
        // Each aggregator waits on the virtual clock for its hospitals, as the coordinator does in a flat round.
        const timing = virtualClock?.plan(
          round,
          sampled,
          hospitals.filter((h) => !candidates.includes(h)).map((h) => h.id),
          false,
        );
        const assignments = timing?.send ?? sampled;
        const down = countriesIn(
          assignments.map((a) => a.hospital),
          countryOf,
        );
        const shared = Channel.body([['parameters', global]]);
        for (const c of down) relay.down(round, aggregatorId(c), 'country-fit-request', shared, global);
        const lostThreads: ThreadFailure[] = [];
        const again = async (ids: readonly string[]) => {
          // Aggregators keep nothing: the transform goes down through the countries of those set up again once
          // more, and their acknowledgements come back up through them, as at the start.
          const transform = prepared.transform;
          const hops =
            transform === undefined
              ? undefined
              : countryPreprocessingHops(ledger, relay, countriesIn(ids, countryOf), countryOf, round);
          hops?.down('transform-request', transform!);
          await setUpAgain(channel, scenario, options, sizes, holdings, round, ids, transform);
          hops?.up('transform-request');
        };
        const sent =
          secure === undefined
            ? await plainCountryRound(
                plainContext,
                round,
                global,
                shared,
                assignments,
                (requests) =>
                  sendSurviving(pool, 'fit', requests, again).then((outcome) => {
                    lostThreads.push(...outcome.failures);
                    return outcome.answers;
                  }),
                lostThreads,
              )
            : await countrySecureRound(
                secure,
                round,
                global,
                assignments,
                (attempt) => secureRoundSurviving(pool, lostThreads, again, attempt),
                lostThreads,
              );
        const fitted = withClockDrops(sent, sampled, timing?.dropped ?? []);
        if (fitted.contributors.length < scenario.minClients) {
          const failures = fitted.fit.failures;
          stopReason =
            `round ${round}: ${fitted.contributors.length} ${secure === undefined ? 'valid fit replies' : "hospitals in the countries' secure sums"}, ` +
            `fewer than minClients = ${scenario.minClients}` +
            (failures.length > 0 ? `; ${failures.map((f) => f.reason).join('; ')}` : '');
          break;
        }
        const { sum, totalWeight, contributors } = fitted;
        killPoint('aggregate', round);
        try {
          const from = global;
          global = checkedModel(
            strategy.aggregateSums!(round, global, {
              values: { update: sum },
              totalWeight,
              contributors,
            }),
            spec.length,
            strategy.name,
          );
          gate?.aggregatedSecurely(
            global,
            from,
            contributors.map((r) => r.hospital),
          );
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
        for (const c of countriesIn(chosen, countryOf))
          relay.down(round, aggregatorId(c), 'country-evaluate-request', evalBody, global);
        const evalOutcome = await askEvaluate(pool, channel, round, chosen, evalBody, again);
        lostThreads.push(...evalOutcome.failures);
        const before = ledger.entries.length;
        const evaluated = collect(
          chosen,
          chosen.map((h) =>
            channel.settle(round, h, 'evaluate-request', evalOutcome.answers.get(h)!, evaluateContract(h)),
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
        const faults = roundFaults(
          scenario,
          round,
          { ...fitted.fit, sampled: assignments.map((a) => a.hospital) },
          lostThreads,
          evaluated.failures,
        );
        faultTotals = addFaults(faultTotals, faults, lostThreads);
        const record: RoundRecord = {
          round,
          fit: fitted.fit,
          ...(fitted.countries === undefined ? {} : { privacy: { countries: fitted.countries } }),
          evaluate: evaluateRecord(strategy, round, evaluated, countryOf),
          bytes: ledger.totals(round),
          ...(faults.length === 0 ? {} : { faults }),
          ...(timing === undefined ? {} : { clock: timing.finish() }),
        };
        options.sink.round(record, ledger.takeUnflushed());
        final = record;
        completed = global;
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
      } else if (e instanceof RoundFailure) {
        stopReason = `round ${round}: ${e.message}`;
      } else throw e;
    }
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
      strategy: { ...strategy.summary(), topology: 'hierarchical', countryAggregators: ids },
      ...(prepared.transformVector === undefined ? {} : { transform: prepared.transformVector }),
      ...(plan === undefined
        ? {}
        : { privacy: { secureAggregation: { ...secureAggregationSummary(plan), within: 'country' } } }),
    };
  } finally {
    await aggregators?.close();
    if (options.pool === undefined) await pool.close();
  }
}

/**
 * What a hierarchical run's checkpoint is read from and put back into: as a flat run's, the model, the strategy's
 * server state, the client-state store, the crossing record and the jurisdiction layer. The country aggregators
 * keep nothing between calls (their threads are started afresh at a resumed run's setup), and a secure round
 * inside a country leaves nothing behind it either: its keys, shares and masks are drawn per round, country and
 * attempt from named streams (`seed-S/round-R/country-C`), and the coordinator runs no privacy accountant in
 * this topology (DP-FedAvg is refused; DP-SGD's step counts travel in the hospitals' state blobs, which the
 * checkpoint keeps). So unlike a flat secure run's, a hierarchical secure run's state is all in the
 * checkpoint, and it resumes.
 */
function checkpointParts(
  scenario: Scenario,
  strategy: Strategy,
  states: ClientStateStore,
  ledger: Ledger,
  parameters: number,
  clock: VirtualClock | undefined,
): RunParts {
  return {
    strategy,
    states,
    ledger,
    clock,
    secure: false,
    custom: scenario.strategy.name === 'custom',
    parameters,
    hospitals: new Set(scenario.hospitals.map((h) => h.id)),
  };
}

/**
 * A round's fit stage with the virtual clock's decisions: every sampled hospital in its record, the stragglers
 * and hospitals in an outage (dropped before anything was sent) first among its failures, as in a flat round.
 */
function withClockDrops<T extends { readonly fit: RoundRecord['fit'] }>(
  outcome: T,
  sampled: readonly FitAssignment[],
  dropped: readonly Failure[],
): T {
  if (dropped.length === 0) return outcome;
  return {
    ...outcome,
    fit: {
      ...outcome.fit,
      sampled: sampled.map((a) => a.hospital),
      failures: [...dropped, ...outcome.fit.failures],
    },
  };
}

/** The countries of some hospitals, sorted. */
function countriesIn(ids: readonly string[], countryOf: ReadonlyMap<string, string>): string[] {
  return [...new Set(ids.map((h) => countryOf.get(h)!))].sort();
}

/** What the plain fit stage of a hierarchical round needs from the run. */
interface PlainCountryContext {
  readonly channel: Channel;
  readonly states: ClientStateStore;
  readonly fitContract: ReturnType<typeof replyContracts>['fitContract'];
  readonly aggregators: WorkerPool;
  readonly relay: Relay;
  readonly sizes: MessageSizes;
  readonly weighting: SumWeighting;
  readonly countryOf: ReadonlyMap<string, string>;
  readonly minClients: number;
}

/**
 * The fit stage of a hierarchical round in the clear: the sampled hospitals train and send their models to
 * their country's aggregator, which returns the Float64 sum of their weighted updates; the country sums added
 * in ascending country order. With fewer valid replies than minClients no aggregator is asked.
 */
async function plainCountryRound(
  c: PlainCountryContext,
  round: number,
  global: Float32Array,
  shared: EnvelopeBody,
  sampled: readonly FitAssignment[],
  /** Sends the requests, surviving worker threads that die or hang: each hospital's answer or why it dropped out. */
  surviving: (requests: readonly PhaseRequest[]) => Promise<ReadonlyMap<string, Answer>>,
  /** Threads replaced this round, to which a replaced aggregator thread is added. */
  lost: ThreadFailure[],
): Promise<Omit<CountrySecureOutcome, 'countries'> & { readonly countries?: undefined }> {
  const { channel, states, fitContract, countryOf, weighting, relay, sizes } = c;
  const answers = await surviving(
    sampled.map(({ hospital, instructions }) => ({
      hospital,
      send: () => {
        const state = states.get(hospital);
        const body = state === undefined ? shared : fitBody(global, undefined, state);
        return channel.send(round, hospital, 'fit-request', body, instructions);
      },
    })),
  );
  const fitResults: FitResult[] = [];
  const fitFailures: Failure[] = [];
  sampled.forEach(({ hospital }) => {
    const received = channel.settle(
      round,
      hospital,
      'fit-request',
      answers.get(hospital)!,
      fitContract(hospital),
    );
    if ('reason' in received) fitFailures.push({ hospital, reason: received.reason });
    else fitResults.push({ hospital, reply: fitReplyOf(states.take(hospital, received.reply)) });
  });
  fitResults.sort((a, b) => compareIds(a.hospital, b.hospital));
  const sum = new Float64Array(global.length);
  let totalWeight = 0;
  const contributors = fitResults.map((r) => ({ hospital: r.hospital, numExamples: r.reply.numExamples }));
  const fit = fitRecord(sampled, fitResults, fitFailures);
  if (fitResults.length < c.minClients) return { sum, totalWeight, contributors, fit };
  // The country aggregators work at once; their replies are checked and recorded in country order.
  const asked = countriesIn(
    fitResults.map((r) => r.hospital),
    countryOf,
  ).map((country) => {
    const mine = fitResults.filter((r) => countryOf.get(r.hospital) === country);
    const weights = mine.map((r) => (weighting === 'one' ? 1 : r.reply.numExamples));
    const updates = new Float32Array(mine.length * global.length);
    mine.forEach((r, j) => updates.set(r.reply.vectors.parameters!, j * global.length));
    const raw = askAggregator(
      c.aggregators,
      aggregatorId(country),
      () => countryRequest(round, country, global, mine, weights, updates),
      lost,
    );
    return { country, mine, weights, updates, raw };
  });
  const replies = await Promise.allSettled(asked.map((a) => a.raw));
  for (const [k, { country, mine, weights, updates }] of asked.entries()) {
    // The simulator relays the updates itself, so it can check what a real coordinator could not: the
    // aggregate is exactly the weighted sum of the updates its aggregator was sent.
    const part = countryAggregate(
      replies[k]!,
      relay,
      round,
      country,
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
  return { sum, totalWeight, contributors, fit };
}

/** The request that asks country `c`'s aggregator to sum its hospitals' updates with their weights. */
function countryRequest(
  round: number,
  c: string,
  global: Float32Array,
  results: readonly FitResult[],
  weights: readonly number[],
  /** The hospitals' updated models end to end, in `results`' order. */
  updates: Float32Array,
): Uint8Array {
  const numExamples = results.map((r) => r.reply.numExamples);
  return new EnvelopeBody([
    ['parameters', global],
    ['updates', updates],
  ]).bytes('country-fit-request', { hospital: aggregatorId(c), request: { round, weights, numExamples } });
}
