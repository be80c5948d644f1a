import type { SumWeighting } from '../../protocol/secure-sums.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { PrivacySettingError } from '../../common/privacy-setting-error.ts';
import { validateSecAggSettings } from '../../common/secagg/settings.ts';
import { SECURE_MINIMUM } from '../../common/secagg/settings.ts';
import { thresholdFor } from '../privacy/secure-plan.ts';
import { FedAvg } from '../strategies/fedavg.ts';
import { StrategyConfigError } from '../strategies/index.ts';
import type { Strategy } from '../strategies/strategy.ts';

/** Strategies whose aggregate decomposes into per-country sums of weighted updates (built-in ones). */
export const HIERARCHICAL_STRATEGIES = ['fedavg', 'fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'];

/**
 * Checks, before any worker starts, that a hierarchical scenario can run: its strategy's next model must follow
 * from Σ_k w_k (x_k − g) and Σ_k w_k alone (sums of the update term only), which a country can add up for its
 * hospitals and the coordinator add across countries; Krum, the median, trimmed means, SCAFFOLD's control
 * variates, FedNova's step counts and q-FedAvg's fairness terms do not decompose so and are refused, and so
 * (not yet run in this topology) is the membership audit; the privacy settings are checked by
 * {@link checkPrivacy}. Returns how contributions are weighted. Throws {@link StrategyConfigError} naming
 * `topology`, `audit` or the privacy field (the CLI exits 2).
 */
export function checkHierarchical(scenario: Scenario, strategy: Strategy): SumWeighting {
  const sums = strategy.sums;
  const onlyUpdate =
    sums !== undefined &&
    sums.parts.length === 1 &&
    sums.parts[0]!.term === 'update' &&
    typeof strategy.aggregateSums === 'function' &&
    strategy.sequential !== true &&
    strategy.broadcastVectors === undefined &&
    !(
      strategy instanceof FedAvg &&
      strategy.aggregateSums === FedAvg.prototype.aggregateSums &&
      strategy.aggregateFit !== FedAvg.prototype.aggregateFit
    );
  if (!onlyUpdate) {
    throw new StrategyConfigError(
      `topology: "hierarchical" needs a strategy whose aggregate decomposes into per-country sums of weighted ` +
        `updates (${HIERARCHICAL_STRATEGIES.join(', ')}); strategy ${strategy.name} does not`,
    );
  }
  checkPrivacy(scenario);
  if (scenario.audit !== undefined)
    throw new StrategyConfigError(
      'audit is not run with topology: "hierarchical" yet (its membership-inference audit asks each hospital directly); expected topology "flat" or no audit',
    );
  return sums.weighting;
}

/** Hospitals in the scenario's largest country. */
export function largestCountry(scenario: Pick<Scenario, 'hospitals'>): number {
  const counts = new Map<string, number>();
  for (const h of scenario.hospitals) counts.set(h.country, (counts.get(h.country) ?? 0) + 1);
  return Math.max(...counts.values());
}

/**
 * What privacy means country by country. Secure aggregation runs inside each country, so each needs at least
 * 3 hospitals and settings valid for its size. DP-SGD runs inside each hospital and needs nothing of the
 * topology. DP-FedAvg's central noise is refused: to keep what crosses a border private, each country's
 * aggregator would add it to its sum; but a country whose secure round cannot run or finish (fewer than 3
 * sampled, more dropouts than its threshold) drops every sampled hospital's update at once, so one hospital's
 * presence could change what a country releases by more than the clipping norm, and the accountant's ε,
 * which assumes at most C, would under-report.
 */
export function checkPrivacy(scenario: Scenario): void {
  const privacy = scenario.privacy;
  if (privacy?.differentialPrivacy !== undefined) {
    throw new StrategyConfigError(
      'privacy.differentialPrivacy is not supported with topology: "hierarchical": its noise would be added per ' +
        "country, but a country whose secure round cannot run drops all its sampled hospitals' updates at once, " +
        'so one hospital could change a country sum by more than clipNorm and the reported ε would not cover it; ' +
        'expected topology "flat", or privacy.dpSgd (per-patient DP inside each hospital)',
    );
  }
  const settings = privacy?.secureAggregation;
  if (settings === undefined) return;
  const counts = new Map<string, number>();
  for (const h of scenario.hospitals) counts.set(h.country, (counts.get(h.country) ?? 0) + 1);
  for (const [country, n] of [...counts].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (n < SECURE_MINIMUM)
      throw new StrategyConfigError(
        `privacy.secureAggregation with topology: "hierarchical" runs inside each country and needs at least ${SECURE_MINIMUM} ` +
          `hospitals in each (with 2, each learns the other's update from the sum); country ${country} has ${n}`,
      );
    const k = settings.neighbours;
    try {
      validateSecAggSettings({
        participants: n,
        threshold: thresholdFor(settings, n),
        ...(k === undefined || k >= n - 1 ? {} : { neighbours: k }),
      });
    } catch (e) {
      if (!(e instanceof PrivacySettingError)) throw e;
      throw new PrivacySettingError(e.field, `${e.expected} (country ${country})`, e.got);
    }
  }
}
