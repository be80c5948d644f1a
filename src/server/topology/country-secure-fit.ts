import { quantisationStep } from '../../common/secagg/quantise.ts';
import { packTranscript, type Transcript } from '../../common/secagg/transcript.ts';
import { EnvelopeBody } from '../../protocol/envelope.ts';
import type { CountrySecureRound } from '../../protocol/country-secure-round.ts';
import type { RoundRecord } from '../coordinator.ts';
import {
  attemptSession,
  roundSession,
  secureExchange,
  type ExchangeOutcome,
  type SecureExchangeContext,
} from '../privacy/secure-exchange.ts';
import { SECURE_MINIMUM } from '../../common/secagg/settings.ts';
import { compareIds } from '../sampling.ts';
import type { Failure, FitAssignment } from '../strategies/strategy.ts';
import type { WorkerPool } from '../worker-pool.ts';
import { countryAggregate } from './country-aggregate.ts';
import { aggregatorId } from './hops.ts';
import { askAggregator } from './aggregator-call.ts';
import type { ThreadFailure } from '../recovery.ts';
import type { Relay } from './relay.ts';

/** One country's secure round in a round's record: who took part and survived, or why its sum is missing. */
export interface CountrySecureAggregation {
  /** The country's hospitals asked to take part, ascending (their index in the country's round, from 1). */
  readonly participants: readonly string[];
  /** Shares needed to rebuild a secret in this country's round (absent when it did not start). */
  readonly threshold?: number;
  /** Hospitals whose masked inputs are in the country's sum. */
  readonly survivors: readonly string[];
  /** Hospitals that shared keys but sent no masked input: their masks were rebuilt and removed. */
  readonly dropouts: readonly string[];
  /** Quantisation step Δ of the update; the country's decoded sum is within Δ · Σ weights of the exact one. */
  readonly step: number;
  /** Why the country contributes nothing this round (its secure round could not run or did not finish). */
  readonly failed?: string;
}

/** What a hierarchical round under secure aggregation needs beyond one exchange's context. */
export interface CountrySecureContext extends SecureExchangeContext {
  readonly aggregators: WorkerPool;
  readonly relay: Relay;
  /** Each hospital's training examples, as it reported at setup. */
  readonly train: ReadonlyMap<string, number>;
  readonly countryOf: ReadonlyMap<string, string>;
}

/** The fit stage of a hierarchical round under secure aggregation: the countries' sums added up, and its record. */
export interface CountrySecureOutcome {
  /** Σ over the countries that contributed of their decoded sums Σ w_k q(x_k − g), in ascending country order. */
  readonly sum: Float64Array;
  readonly totalWeight: number;
  readonly contributors: readonly { readonly hospital: string; readonly numExamples: number }[];
  readonly fit: RoundRecord['fit'];
  readonly countries: Readonly<Record<string, CountrySecureAggregation>>;
}

/**
 * Secure aggregation inside each country (hierarchical topology). In ascending country order, the country's
 * sampled hospitals run SecAgg (or SecAgg+) among themselves with their country's aggregator in the server's
 * role, bound to the session `seed-S/round-R/country-C`: keys, encrypted shares, masked inputs and unmasking
 * shares travel hospital ↔ aggregator (domestic hops, recorded as such). The coordinator's process relays every
 * message, routing keys and ciphertexts as the protocol does, so it holds the same transcript as the aggregator;
 * at the end the aggregator's thread is given that transcript, runs the server's side on it (validates each
 * message, rebuilds the survivors' self masks and the dropouts' pairwise masks from the shares) and returns only
 * the decoded country sum. What replaces the plain topology's check of the aggregate: the coordinator unmasked
 * the same transcript itself, so the country sum must equal its own bit for bit — it learns the same sum and
 * nothing of any one hospital (hospitals reveal a self-mask share or a mask-key share of a peer, never both).
 * A country with fewer than SECURE_MINIMUM sampled hospitals, or whose round fails (more dropouts than its threshold
 * allows, fewer than SECURE_MINIMUM masked inputs, or an implausible unmasked sum), contributes nothing this round
 * and its record says why.
 */
export async function countrySecureRound(
  c: CountrySecureContext,
  round: number,
  global: Float32Array,
  sampled: readonly FitAssignment[],
  /**
   * Runs a country's secure exchange, surviving worker threads that die or hang in it: the exchange starts again
   * without the hospital whose call the failed thread was serving (`excluded`).
   */
  surviving: (
    attempt: (excluded: ReadonlyMap<string, string>, pass: number) => Promise<ExchangeOutcome>,
  ) => Promise<ExchangeOutcome>,
  /** Threads replaced this round, to which a replaced aggregator thread is added. */
  lost: ThreadFailure[],
): Promise<CountrySecureOutcome> {
  const { plan, scenario } = c;
  const sum = new Float64Array(global.length);
  let totalWeight = 0;
  const contributors: { hospital: string; numExamples: number }[] = [];
  const failures: Failure[] = [];
  const countries: Record<string, CountrySecureAggregation> = {};
  const step = quantisationStep(plan.quantisation.parts[0]!.range, plan.quantisation.bits);
  const byCountry = new Map<string, FitAssignment[]>();
  for (const a of [...sampled].sort((x, y) => compareIds(x.hospital, y.hospital))) {
    const country = c.countryOf.get(a.hospital)!;
    byCountry.set(country, [...(byCountry.get(country) ?? []), a]);
  }
  for (const country of [...byCountry.keys()].sort()) {
    const mine = byCountry.get(country)!;
    const participants = mine.map((a) => a.hospital);
    const missing = (failed: string, threshold?: number) => {
      countries[country] = {
        participants,
        ...(threshold === undefined ? {} : { threshold }),
        survivors: [],
        dropouts: [],
        step,
        failed,
      };
    };
    /** The country sits the round out: `hospitals` (still in it) are told why. */
    const sitOut = (failed: string, hospitals: readonly string[], threshold?: number) => {
      missing(failed, threshold);
      for (const h of hospitals)
        failures.push({
          hospital: h,
          reason: `hospital ${h}: country ${country} contributes nothing: ${failed}`,
        });
    };
    if (mine.length < SECURE_MINIMUM) {
      sitOut(
        `secure aggregation needs at least ${SECURE_MINIMUM} hospitals in a country, ${mine.length} were sampled`,
        participants,
      );
      continue;
    }
    const base = `${roundSession(scenario.seed, round)}/country-${country}`;
    let session = base;
    const exchanged = await surviving((excluded, pass) => {
      session = attemptSession(base, pass);
      return secureExchange(c, round, global, mine, excluded, session);
    });
    failures.push(...exchanged.failures);
    if ('reason' in exchanged) {
      missing(exchanged.reason);
      continue;
    }
    const numExamples = exchanged.survivors.map((h) => c.train.get(h)!);
    const settings: Omit<CountrySecureRound, 'messages'> = {
      participants: mine.length,
      threshold: exchanged.threshold,
      ...(plan.settings.neighbours === undefined ? {} : { neighbours: plan.settings.neighbours }),
      seed: scenario.seed,
      session,
      quantisation: {
        bits: plan.quantisation.bits,
        maxWeight: plan.quantisation.maxWeight,
        parts: plan.quantisation.parts,
      },
    };
    const asked = participants.map((h) => c.train.get(h)!);
    const answer = await Promise.allSettled([
      askAggregator(
        c.aggregators,
        aggregatorId(country),
        () => transcriptRequest(round, country, global, settings, asked, exchanged.transcript),
        lost,
      ),
    ]);
    const part = countryAggregate(
      answer[0]!,
      c.relay,
      round,
      country,
      {
        sum: exchanged.parts[0]!,
        numExamples: numExamples.reduce((a, b) => a + b, 0),
        contributors: exchanged.survivors,
        what: 'the sum that the masked inputs and shares it was sent unmask to',
      },
      c.sizes,
    );
    for (let i = 0; i < sum.length; i++) sum[i]! += part[i]!;
    exchanged.survivors.forEach((h, i) => {
      contributors.push({ hospital: h, numExamples: numExamples[i]! });
      totalWeight += plan.sums.weighting === 'one' ? 1 : numExamples[i]!;
    });
    countries[country] = {
      participants,
      threshold: exchanged.threshold,
      survivors: exchanged.survivors,
      dropouts: exchanged.dropouts,
      step,
    };
  }
  contributors.sort((a, b) => compareIds(a.hospital, b.hospital));
  return {
    sum,
    totalWeight,
    contributors,
    fit: {
      sampled: sampled.map((a) => a.hospital),
      admitted: contributors.map((x) => x.hospital),
      failures,
      metrics: {},
      hospitals: Object.fromEntries(
        contributors.map((x) => [x.hospital, { numExamples: x.numExamples, metrics: {} }]),
      ),
    },
    countries,
  };
}

/** The request that gives country `country`'s aggregator the transcript of its secure round. */
function transcriptRequest(
  round: number,
  country: string,
  global: Float32Array,
  settings: Omit<CountrySecureRound, 'messages'>,
  /** Each participant's training examples, by index. */
  numExamples: readonly number[],
  transcript: Transcript,
): Uint8Array {
  const { messages, vectors } = packTranscript(transcript);
  const secure: CountrySecureRound = { ...settings, messages };
  return new EnvelopeBody([['parameters', global], ...vectors]).bytes('country-fit-request', {
    hospital: aggregatorId(country),
    request: { round, weights: [], numExamples, secure },
  });
}
