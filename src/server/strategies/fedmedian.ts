import type { StrategyName } from '../../scenario/strategy-schema.ts';
import { coordinateWise, sortedMedian } from './coordinate-wise.ts';
import { FedAvg } from './fedavg.ts';
import type { Failure, FitResult } from './strategy.ts';
import { parametersOf } from './vectors.ts';

/**
 * Coordinate-wise median of the hospitals' parameters (the mean of the two middle values for an even count).
 * Example counts are ignored, as in the paper: a weight would let one client claim a large share and defeat
 * the robustness. Yin, Chen, Ramchandran and Bartlett, "Byzantine-Robust Distributed Learning: Towards
 * Optimal Statistical Rates", ICML 2018.
 */
export class FedMedian extends FedAvg {
  override readonly sums = undefined;
  static override readonly strategyName: StrategyName = 'fedmedian';

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    return coordinateWise(parametersOf(this.name, global.length, results), sortedMedian);
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'Yin, Chen, Ramchandran and Bartlett, Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates, ICML 2018',
    };
  }
}
