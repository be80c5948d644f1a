import { PrivacySettingError } from '../../common/privacy-setting-error.ts';
import { validateQuantisation, type QuantisationSpec } from '../../common/secagg/quantise.ts';
import { groupSize, validateSecAggSettings } from '../../common/secagg/settings.ts';
import { validateDpSettings } from '../../common/dp/settings.ts';
import { MAX_HOSPITAL_EXAMPLES } from '../../protocol/metric-names.ts';
import { SCALAR_TERMS, type SecureSumPart, type SumTerm } from '../../protocol/secure-sums.ts';
import type { DifferentialPrivacyConfig, SecureAggregationConfig } from '../../scenario/privacy-schema.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { StrategyConfigError } from '../strategies/index.ts';
import { FedAvg } from '../strategies/fedavg.ts';
import type { Strategy, SumsNeeded } from '../strategies/strategy.ts';

const PATH = 'privacy.secureAggregation';

/** A run's secure-aggregation plan, fixed before any worker starts: who weighs what, and how it is encoded. */
export interface SecurePlan {
  readonly settings: SecureAggregationConfig;
  readonly dp?: DifferentialPrivacyConfig;
  readonly sums: SumsNeeded;
  /** Parts of every hospital's encoded vector, with their clipping ranges. */
  readonly quantisation: SecureQuantisation;
}

/** How hospitals encode their terms: the quantisation spec, each part naming its term. */
export interface SecureQuantisation extends QuantisationSpec {
  readonly parts: readonly SecureSumPart[];
}

/**
 * Checks a scenario's privacy settings against its strategy and hospitals, before any worker starts, and
 * fixes the encoding: the strategy must declare the sums it needs (`sums` and `aggregateSums`; a custom
 * module that changes `aggregateFit` must bring its own `aggregateSums`), t > m/2 for the round's group, SecAgg+'s k,
 * and bits + ⌈log₂(hospitals × maxWeight)⌉ ≤ 32. Throws {@link PrivacySettingError} or
 * {@link StrategyConfigError}, naming the field and its valid range.
 */
export function securePlan(
  scenario: Scenario,
  strategy: Strategy,
  parameters: number,
  /** Hospitals in the largest group that runs the protocol (hierarchical: the largest country). */
  n: number = scenario.hospitals.length,
): SecurePlan | undefined {
  const settings = scenario.privacy?.secureAggregation;
  if (settings === undefined) return undefined;
  const dp = scenario.privacy?.differentialPrivacy;
  const sums = strategy.sums;
  if (sums === undefined || typeof strategy.aggregateSums !== 'function' || inheritsSumsOnly(strategy)) {
    throw new StrategyConfigError(
      `strategy ${strategy.name} needs each hospital's own update, which ${PATH} hides from the coordinator; ` +
        'expected a strategy that declares the sums it needs (sums and aggregateSums)',
    );
  }
  validateSecAggSettings({
    participants: n,
    threshold: thresholdFor(settings, n),
    ...(settings.neighbours === undefined ? {} : { neighbours: settings.neighbours }),
  });
  if (dp !== undefined) {
    validateDpSettings({
      clipNorm: dp.clipNorm,
      noiseMultiplier: dp.noiseMultiplier,
      sampleRate: dp.sampleRate,
      ...(dp.weightCap === undefined ? {} : { weightCap: dp.weightCap }),
      ...(dp.budget === undefined ? {} : { budget: { epsilon: dp.budget.epsilon, delta: dp.delta } }),
    });
    const onlyUpdate = sums.parts.length === 1 && sums.parts[0]!.term === 'update';
    if (!onlyUpdate || sums.weighting !== 'examples') {
      throw new StrategyConfigError(
        `strategy ${strategy.name} with privacy.differentialPrivacy: expected one whose only sum is the ` +
          'example-weighted model update',
      );
    }
  }
  const maxWeight =
    dp !== undefined || sums.weighting === 'one' ? 1 : (settings.maxWeight ?? mostExamples(scenario));
  const range = (term: SumTerm): number =>
    dp !== undefined
      ? dp.clipNorm
      : SCALAR_TERMS.includes(term)
        ? settings.scalarRange
        : term === 'control'
          ? (settings.controlRange ?? settings.range)
          : settings.range;
  const quantisation: SecureQuantisation = {
    bits: settings.bits,
    maxWeight,
    parts: sums.parts.map((p) => ({
      name: p.name,
      term: p.term,
      length: SCALAR_TERMS.includes(p.term) ? 1 : parameters,
      range: range(p.term),
    })),
  };
  validateQuantisation(quantisation, n, PATH);
  return { settings, ...(dp === undefined ? {} : { dp }), sums, quantisation };
}

/**
 * Refuses to weight by examples a hospital that holds more training examples than the plan's maxWeight
 * (known once hospitals are set up), naming the field.
 */
export function checkWeights(plan: SecurePlan, train: ReadonlyMap<string, number>): void {
  if (plan.dp !== undefined || plan.sums.weighting === 'one') return;
  for (const [hospital, n] of train) {
    if (n > plan.quantisation.maxWeight) {
      throw new PrivacySettingError(
        `${PATH}.maxWeight`,
        `at least every hospital's training examples (hospital ${hospital} holds more)`,
        plan.quantisation.maxWeight,
      );
    }
  }
}

/** t for a round's groups: ⌈threshold × m⌉ for group size m (the participants, or k + 1 with SecAgg+). */
export function thresholdFor(settings: SecureAggregationConfig, participants: number): number {
  const m = groupSize({
    participants,
    threshold: 0,
    ...(settings.neighbours === undefined || settings.neighbours >= participants - 1
      ? {}
      : { neighbours: settings.neighbours }),
  });
  return Math.ceil(settings.threshold * m - 1e-9);
}

/** The most training examples any hospital can hold in this scenario, as setup bounds them. */
function mostExamples(scenario: Scenario): number {
  const pooled = scenario.hospitals.reduce((s, h) => s + h.patients, 0);
  return Math.max(
    ...scenario.hospitals.map((h) =>
      h.source.kind !== 'generate'
        ? MAX_HOSPITAL_EXAMPLES
        : scenario.data.partition.kind === 'natural'
          ? h.patients
          : pooled,
    ),
  );
}

/** A strategy that changed FedAvg's `aggregateFit` but kept its `aggregateSums` would aggregate differently when secure. */
function inheritsSumsOnly(strategy: Strategy): boolean {
  return (
    strategy instanceof FedAvg &&
    strategy.aggregateSums === FedAvg.prototype.aggregateSums &&
    strategy.aggregateFit !== FedAvg.prototype.aggregateFit
  );
}
