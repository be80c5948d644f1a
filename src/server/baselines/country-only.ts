import { fitBody } from '../federation-parts.ts';
import { stream } from '../../common/rng.ts';
import type { EvaluateInstructions } from '../../protocol/messages.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { fitReplyOf } from '../boundary.ts';
import { Channel } from '../channel.ts';
import type { ReplyContract } from '../boundary.ts';
import { perCountry } from '../aggregate-metrics.ts';
import { RoundFailure } from '../coordinator.ts';
import type { ByteTotals, Ledger } from '../ledger.ts';
import { compareIds } from '../sampling.ts';
import { ClientStateStore } from '../state-store.ts';
import { createStrategy } from '../strategies/index.ts';
import type { AggregatedEvaluation, FitResult, Failure, HospitalRef } from '../strategies/strategy.ts';

/** One country's own federation, and how its final model scores in every country. */
export interface CountryModel {
  /** Hospitals of the country that trained it. */
  readonly hospitals: readonly string[];
  readonly rounds: number;
  /** Its final model's example-weighted means at every country's hospitals (held-out splits). */
  readonly evaluatedOn: Record<string, AggregatedEvaluation>;
  /** Its final model at each hospital. */
  readonly byHospital: Record<string, { numExamples: number; metrics: Record<string, number> }>;
}

/**
 * The country-only baseline: each country federates alone (its own hospitals, the same strategy, rounds and
 * training as the federation), and each country's final model is scored on every country's held-out
 * patients. With the joint model, local-only and pooled baselines it fills the matrix "trained on × evaluated
 * on" that says what joining buys each country.
 */
export interface CountryOnlyResult {
  readonly baseline: 'country-only';
  /** By the country that trained it. */
  readonly countries: Record<string, CountryModel>;
  /** Bytes of its crossings (every country's federation and the scoring of each model everywhere). */
  readonly bytes: ByteTotals;
}

/** Where the country-only federations run: the run's channel and gate, and how replies are checked. */
export interface CountryOnlyContext {
  readonly scenario: Scenario;
  readonly baseDir: string;
  readonly channel: Channel;
  readonly ledger: Ledger;
  readonly hospitals: readonly HospitalRef[];
  readonly initial: Float32Array;
  readonly fitContract: (hospital: string) => Omit<ReplyContract, 'hospital' | 'kind'>;
  readonly evaluateContract: (hospital: string) => Omit<ReplyContract, 'hospital' | 'kind'>;
  /** Checks an aggregate as the federation does (length, finite), or throws a RangeError. */
  readonly checked: (model: Float32Array, strategy: string) => Float32Array;
}

/** Runs every country's own federation in turn (ascending country code), then scores each model everywhere. */
export async function runCountryOnly(ctx: CountryOnlyContext): Promise<CountryOnlyResult> {
  const countries = [...new Set(ctx.hospitals.map((h) => h.country))].sort();
  const all = ctx.hospitals.map((h) => h.id).sort(compareIds);
  const countryOf = new Map(ctx.hospitals.map((h) => [h.id, h.country]));
  const out: Record<string, CountryModel> = {};
  for (const c of countries) {
    const mine = ctx.hospitals.filter((h) => h.country === c);
    const model = await federateAlone(ctx, c, mine);
    const body = Channel.body([['parameters', model]]);
    const instructions: EvaluateInstructions = { round: ctx.scenario.rounds };
    const pending = await Promise.all(
      all.map((h) => ctx.channel.send(0, h, 'country-only-evaluate-request', body, instructions)),
    );
    const results: {
      hospital: string;
      country: string;
      numExamples: number;
      metrics: Record<string, number>;
    }[] = [];
    all.forEach((h, i) => {
      const r = ctx.channel.receive(
        0,
        h,
        'country-only-evaluate-request',
        pending[i]!,
        ctx.evaluateContract(h),
      );
      if ('reason' in r) throw new RoundFailure(`country-only baseline (${c}): ${r.reason}`);
      results.push({
        hospital: h,
        country: countryOf.get(h)!,
        numExamples: r.reply.fields.numExamples as number,
        metrics: r.reply.fields.metrics as Record<string, number>,
      });
    });
    out[c] = {
      hospitals: mine.map((h) => h.id).sort(compareIds),
      rounds: ctx.scenario.rounds,
      evaluatedOn: perCountry(results),
      byHospital: Object.fromEntries(
        results.map((r) => [r.hospital, { numExamples: r.numExamples, metrics: r.metrics }]),
      ),
    };
  }
  return { baseline: 'country-only', countries: out, bytes: ctx.ledger.totals(undefined, 'country-only') };
}

/**
 * Country `c`'s own federation: a fresh instance of the scenario's strategy over its hospitals, from the
 * federation's initial model, for the same rounds; sampling draws from `country-only/<c>/round-<r>`.
 */
async function federateAlone(
  ctx: CountryOnlyContext,
  c: string,
  hospitals: readonly HospitalRef[],
): Promise<Float32Array> {
  const { scenario, channel } = ctx;
  const strategy = await createStrategy(scenario, ctx.baseDir);
  const states = new ClientStateStore(ctx.initial.length);
  const quorum = Math.min(scenario.minClients, hospitals.length);
  let model = ctx.initial;
  for (let round = 1; round <= scenario.rounds; round++) {
    const sampled = strategy.configureFit(
      round,
      hospitals,
      stream(scenario.seed, 'country-only', c, `round-${round}`),
    );
    const extra = strategy.broadcastVectors?.(round, model) ?? {};
    const shared = fitBody(model, extra.control, undefined);
    const bodyFor = (start: Float32Array, hospital: string) => {
      const state = states.get(hospital);
      return state === undefined && start === model ? shared : fitBody(start, extra.control, state);
    };
    const results: FitResult[] = [];
    const failures: Failure[] = [];
    const take = (hospital: string, received: ReturnType<Channel['receive']>) => {
      if ('reason' in received) failures.push({ hospital, reason: received.reason });
      else results.push({ hospital, reply: fitReplyOf(states.take(hospital, received.reply)) });
    };
    if (strategy.sequential === true) {
      let start = model;
      for (const { hospital, instructions } of sampled) {
        const received = await channel.exchange(
          0,
          hospital,
          'country-only-fit-request',
          bodyFor(start, hospital),
          instructions,
          ctx.fitContract(hospital),
        );
        take(hospital, received);
        if (!('reason' in received)) start = results[results.length - 1]!.reply.vectors.parameters!;
      }
    } else {
      const pending = await Promise.all(
        sampled.map(({ hospital, instructions }) =>
          channel.send(0, hospital, 'country-only-fit-request', bodyFor(model, hospital), instructions),
        ),
      );
      sampled.forEach(({ hospital }, i) =>
        take(
          hospital,
          channel.receive(0, hospital, 'country-only-fit-request', pending[i]!, ctx.fitContract(hospital)),
        ),
      );
      results.sort((a, b) => compareIds(a.hospital, b.hospital));
    }
    if (results.length < quorum) {
      throw new RoundFailure(
        `country-only baseline (${c}), round ${round}: ${results.length} valid fit replies, fewer than ${quorum}` +
          (failures.length > 0 ? `; ${failures.map((f) => f.reason).join('; ')}` : ''),
      );
    }
    try {
      model = ctx.checked(strategy.aggregateFit(round, model, results, failures), strategy.name);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      throw new RoundFailure(`country-only baseline (${c}), round ${round}: ${e.message}`);
    }
    ctx.ledger.jurisdiction?.aggregated(model, results);
  }
  return model;
}
