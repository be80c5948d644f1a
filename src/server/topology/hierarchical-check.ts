import { isOwnData } from '../../protocol/own-data-layout.ts';
import type { SumWeighting } from '../../protocol/secure-sums.ts';
import type { Scenario } from '../../scenario/schema.ts';
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
 * (not yet supported in this topology) are secure aggregation, differential privacy, a virtual clock, injected
 * faults and own-data preprocessing. Returns how contributions are weighted. Throws {@link StrategyConfigError}
 * naming `topology` (the CLI exits 2).
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
  const unsupported: [boolean, string][] = [
    [scenario.privacy !== undefined, 'privacy'],
    [scenario.clock !== undefined, 'clock'],
    [scenario.faults.length > 0, 'faults'],
    [isOwnData(scenario.data), 'data (own data)'],
  ];
  for (const [present, field] of unsupported) {
    if (present)
      throw new StrategyConfigError(
        `topology: "hierarchical" does not yet run with ${field}; expected "flat" or no ${field.split(' ')[0]}`,
      );
  }
  return sums.weighting;
}
