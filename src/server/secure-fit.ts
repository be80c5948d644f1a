import { cappedWeight, fixedDenominator } from '../common/dp/capped-weights.ts';
import { RdpAccountant, tippingRisk } from '../common/dp/rdp.ts';
import { stream } from '../common/rng.ts';
import { quantisationStep } from '../common/secagg/quantise.ts';
import type { MessageSizes } from '../protocol/kinds.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { Channel } from './channel.ts';
import { noisyMean } from './privacy/dp-noise.ts';
import { poissonSample } from './privacy/poisson-sampling.ts';
import { attemptSession, roundSession, secureExchange } from './privacy/secure-exchange.ts';
import { SECURE_MINIMUM } from '../common/secagg/settings.ts';
import type { SecurePlan } from './privacy/secure-plan.ts';
import { compareIds } from './sampling.ts';
import type { ClientStateStore } from './state-store.ts';
import type { FitAssignment, RoundSums, Strategy } from './strategies/strategy.ts';
import type { RoundRecord } from './coordinator.ts';
import type { CountrySecureAggregation } from './topology/country-secure-fit.ts';

/** What a round under secure aggregation (and DP) records about its privacy. */
export interface RoundPrivacy {
  readonly secureAggregation?: {
    /** Hospitals asked to take part, ascending (their index in the round is their place here, from 1). */
    readonly participants: readonly string[];
    readonly threshold: number;
    /** Hospitals whose masked inputs are in the sum. */
    readonly survivors: readonly string[];
    /** Hospitals that shared keys but sent no masked input: their masks were rebuilt and removed. */
    readonly dropouts: readonly string[];
    /** Quantisation step Δ of each part; the decoded sum is within Δ · Σ weights of the exact one. */
    readonly steps: Readonly<Record<string, number>>;
  };
  readonly differentialPrivacy?: {
    /** Hospitals drawn by Poisson sampling at rate q. */
    readonly sampled: readonly string[];
    readonly sampleRate: number;
    readonly noiseMultiplier: number;
    readonly clipNorm: number;
    /** The fixed denominator q·W the noisy sum is divided by. */
    readonly denominator: number;
    /** ε spent after this round at δ, from the RDP accountant (and the order that gave it). */
    readonly epsilon: number;
    readonly delta: number;
    readonly order: number;
    /** Rounds composed so far. */
    readonly rounds: number;
    /** True when fewer than SECURE_MINIMUM hospitals were sampled: no exchange, the released update is noise alone. */
    readonly noiseOnly?: true;
  };
  /** Hierarchical topology: each country's secure round, its aggregator in the server's role. */
  readonly countries?: Readonly<Record<string, CountrySecureAggregation>>;
}

/** The privacy a whole run spent, for its summary and manifest. */
export interface PrivacySummary {
  readonly secureAggregation: {
    readonly threshold: number;
    readonly neighbours?: number;
    readonly bits: number;
    readonly maxWeight: number;
    readonly parts: readonly { name: string; term: string; range: number; step: number }[];
    /** Hierarchical topology: the protocol runs within each country, its aggregator in the server's role. */
    readonly within?: 'country';
  };
  readonly differentialPrivacy?: {
    readonly epsilon: number;
    readonly delta: number;
    readonly rounds: number;
    readonly sampleRate: number;
    readonly noiseMultiplier: number;
    readonly clipNorm: number;
    readonly budget?: number;
    /** Set when the budget stopped the run: the round that would have exceeded it, and the ε it would have reached. */
    readonly stoppedBeforeRound?: number;
    readonly epsilonIfRun?: number;
  };
}

/** What a secure round produced: the next model, or why the run stops. */
export type SecureRoundOutcome =
  | {
      readonly kind: 'aggregated';
      readonly model: Float32Array;
      /** The round's fit record: who was sampled and admitted, and their counts; no hospital's metrics cross. */
      readonly fit: RoundRecord['fit'];
      readonly privacy: RoundPrivacy;
    }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'budget-spent'; readonly reason: string };

/** What a secure round needs from the run. */
export interface SecureFitContext {
  readonly scenario: Scenario;
  readonly strategy: Strategy;
  readonly plan: SecurePlan;
  readonly channel: Channel;
  readonly sizes: MessageSizes;
  /** Each hospital's training examples, as it reported at setup. */
  readonly train: ReadonlyMap<string, number>;
  /** Hospitals' state blobs: sent with each fit request, kept again only for hospitals in the round's sum. */
  readonly states: ClientStateStore;
}

/**
 * The fit stage of a round under secure aggregation (Bonawitz et al. 2017; SecAgg+, Bell et al. 2020) and,
 * if asked, DP-FedAvg (McMahan et al. 2018). Four exchanges of declared kinds, each admitted by the boundary
 * and recorded: the global model out and two public keys back (the hospital trains and encodes its update in
 * between); key rosters out, encrypted shares back; share deliveries out, masked inputs back; unmask requests
 * out, shares of survivors' self-mask seeds and dropouts' mask keys back. The coordinator then holds the sum
 * of the survivors' encoded contributions and nothing of any one of them; it decodes the strategy's declared
 * sums and, with DP, adds N(0, (zC)²) to the sum after unmasking and divides by the fixed denominator q·W.
 * Replies are admitted in ascending hospital order. A hospital whose reply is missing, an error report, or
 * rejected (a malformed key, share or masked vector) counts as dropped at that stage.
 */
export class SecureFit {
  readonly #c: SecureFitContext;
  readonly #accountant: RdpAccountant | undefined;
  /** The round the accountant last counted. */
  #composed = 0;
  #budgetStop: { round: number; epsilon: number } | undefined;

  constructor(context: SecureFitContext) {
    this.#c = context;
    this.#accountant = context.plan.dp === undefined ? undefined : new RdpAccountant();
  }

  /** Runs one round's fit stage for the strategy's assignments (Poisson-sampled among them under DP). */
  async round(
    round: number,
    global: Float32Array,
    assignments: readonly FitAssignment[],
    /** Hospitals whose worker thread failed in an earlier attempt at this round: dropouts before advertising. */
    excluded: ReadonlyMap<string, string> = new Map(),
    /** Restarts of this round so far (each restart runs under a session of its own). */
    attempt = 0,
  ): Promise<SecureRoundOutcome> {
    const { scenario, plan } = this.#c;
    const dp = plan.dp;
    // The chance that one hospital tips the round over SECURE_MINIMUM (fewer sampled release noise alone), among
    // the hospitals this round can sample (a clock may leave some out).
    const risk =
      dp === undefined ? undefined : tippingRisk(dp.sampleRate, assignments.length, SECURE_MINIMUM);
    if (dp !== undefined && dp.budget !== undefined && this.#composed !== round) {
      const next = this.#accountant!.epsilonAfter(dp.sampleRate, dp.noiseMultiplier, 1, dp.delta, risk);
      if (next.epsilon > dp.budget.epsilon) {
        this.#budgetStop = { round, epsilon: next.epsilon };
        return {
          kind: 'budget-spent',
          reason:
            `privacy budget: round ${round} would bring ε to ${next.epsilon.toPrecision(6)} > ` +
            `${dp.budget.epsilon} at δ = ${dp.delta}; the run stops before it`,
        };
      }
    }
    const ordered = [...assignments].sort((a, b) => compareIds(a.hospital, b.hospital));
    const chosen =
      dp === undefined
        ? ordered
        : poissonSample(
            ordered.map((a) => ({ ...a, id: a.hospital })),
            dp.sampleRate,
            stream(scenario.seed, 'dp-sample', `round-${round}`),
          );
    // Counted once sampled, whether or not the round then completes (a restart of the round is not counted again).
    if (dp !== undefined && this.#composed !== round) {
      this.#accountant!.compose(dp.sampleRate, dp.noiseMultiplier, 1, risk);
      this.#composed = round;
    }
    if (chosen.length < SECURE_MINIMUM && dp === undefined) {
      return {
        kind: 'failed',
        reason: `round ${round}: secure aggregation needs at least ${SECURE_MINIMUM} hospitals, ${chosen.length} were sampled`,
      };
    }
    const exchanged =
      chosen.length >= SECURE_MINIMUM
        ? await secureExchange(
            this.#c,
            round,
            global,
            chosen,
            excluded,
            attemptSession(roundSession(scenario.seed, round), attempt),
          )
        : undefined;
    if (exchanged !== undefined && 'reason' in exchanged)
      return { kind: 'failed', reason: `round ${round}: ${exchanged.reason}` };
    const survivors = exchanged?.survivors ?? [];
    if (dp === undefined && survivors.length < scenario.minClients) {
      return {
        kind: 'failed',
        reason:
          `round ${round}: ${survivors.length} hospitals in the secure sum, fewer than minClients = ${scenario.minClients}` +
          (exchanged!.failures.length > 0 ? `; ${exchanged!.failures.map((f) => f.reason).join('; ')}` : ''),
      };
    }
    const parts = exchanged?.parts ?? plan.quantisation.parts.map((p) => new Float64Array(p.length));
    const values: Record<string, Float64Array> = {};
    plan.quantisation.parts.forEach((p, i) => (values[p.name] = parts[i]!));
    const contributors = survivors.map((h) => ({ hospital: h, numExamples: this.#c.train.get(h)! }));
    let totalWeight =
      plan.sums.weighting === 'one'
        ? contributors.length
        : contributors.reduce((s, c) => s + c.numExamples, 0);
    let dpRecord: RoundPrivacy['differentialPrivacy'];
    if (dp !== undefined) {
      const weights = [...this.#c.train.values()].map((n) => cappedWeight(n, dp.weightCap));
      const denominator = fixedDenominator(weights, dp.sampleRate);
      values.update = noisyMean(
        values.update!,
        dp.clipNorm,
        dp.noiseMultiplier,
        denominator,
        stream(scenario.seed, 'dp-noise', `round-${round}`),
      );
      totalWeight = 1;
      const spent = this.#accountant!.epsilon(dp.delta);
      dpRecord = {
        sampled: chosen.map((a) => a.hospital),
        sampleRate: dp.sampleRate,
        noiseMultiplier: dp.noiseMultiplier,
        clipNorm: dp.clipNorm,
        denominator,
        epsilon: spent.epsilon,
        delta: dp.delta,
        order: spent.order,
        rounds: this.#accountant!.rounds,
        ...(exchanged === undefined ? { noiseOnly: true as const } : {}),
      };
    }
    const sums: RoundSums = { values, totalWeight, contributors };
    let model: Float32Array;
    try {
      model = this.#c.strategy.aggregateSums!(round, global, sums);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      return {
        kind: 'failed',
        reason: `round ${round}: ${this.#c.strategy.name} cannot aggregate: ${e.message}`,
      };
    }
    return {
      kind: 'aggregated',
      model,
      fit: {
        sampled: chosen.map((a) => a.hospital),
        admitted: survivors,
        failures: exchanged?.failures ?? [],
        metrics: {},
        hospitals: Object.fromEntries(
          contributors.map((c) => [c.hospital, { numExamples: c.numExamples, metrics: {} }]),
        ),
      },
      privacy: {
        ...(exchanged === undefined
          ? {}
          : {
              secureAggregation: {
                participants: chosen.map((a) => a.hospital),
                threshold: exchanged.threshold,
                survivors,
                dropouts: exchanged.dropouts,
                steps: Object.fromEntries(
                  plan.quantisation.parts.map((p) => [
                    p.name,
                    quantisationStep(p.range, plan.quantisation.bits),
                  ]),
                ),
              },
            }),
        ...(dpRecord === undefined ? {} : { differentialPrivacy: dpRecord }),
      },
    };
  }

  /** The privacy the run has spent so far. */
  summary(): PrivacySummary {
    const { plan } = this.#c;
    const dp = plan.dp;
    const spent = dp === undefined ? undefined : this.#accountant!.epsilon(dp.delta);
    return {
      secureAggregation: secureAggregationSummary(plan),
      ...(dp === undefined
        ? {}
        : {
            differentialPrivacy: {
              epsilon: spent!.epsilon,
              delta: dp.delta,
              rounds: this.#accountant!.rounds,
              sampleRate: dp.sampleRate,
              noiseMultiplier: dp.noiseMultiplier,
              clipNorm: dp.clipNorm,
              ...(dp.budget === undefined ? {} : { budget: dp.budget.epsilon }),
              ...(this.#budgetStop === undefined
                ? {}
                : { stoppedBeforeRound: this.#budgetStop.round, epsilonIfRun: this.#budgetStop.epsilon }),
            },
          }),
    };
  }
}

/** A run's secure-aggregation settings as its summary gives them: threshold, encoding, each part's step. */
export function secureAggregationSummary(plan: SecurePlan): PrivacySummary['secureAggregation'] {
  const q = plan.quantisation;
  return {
    threshold: plan.settings.threshold,
    ...(plan.settings.neighbours === undefined ? {} : { neighbours: plan.settings.neighbours }),
    bits: q.bits,
    maxWeight: q.maxWeight,
    parts: q.parts.map((p) => ({
      name: p.name,
      term: p.term,
      range: p.range,
      step: quantisationStep(p.range, q.bits),
    })),
  };
}
