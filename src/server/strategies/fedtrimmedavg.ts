import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { coordinateWise, sortedTrimmedMean } from './coordinate-wise.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import type { Failure, FitResult } from './strategy.ts';
import { checkParameter } from './validate.ts';
import { parametersOf } from './vectors.ts';

const P = STRATEGY_PARAMETERS.fedtrimmedavg;

/** Options of {@link FedTrimmedAvg}. */
export interface FedTrimmedAvgOptions extends FedAvgOptions {
  /** Share of values cut from each end of every coordinate, in [0, 0.5). Default 0.2 (Flower's default). */
  readonly beta?: number;
}

/**
 * Coordinate-wise β-trimmed mean: for each coordinate, sort the n values, drop ⌊βn⌋ from each end and average
 * the rest (β < 0.5 always leaves at least one). Example counts are ignored, as in the paper. Yin, Chen,
 * Ramchandran and Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates", ICML 2018.
 */
export class FedTrimmedAvg extends FedAvg {
  override readonly sums = undefined;
  static override readonly strategyName: StrategyName = 'fedtrimmedavg';
  readonly beta: number;

  constructor(options: FedTrimmedAvgOptions) {
    super(options);
    this.beta = checkParameter(this.name, 'beta', options.beta ?? P.beta.default, P.beta);
  }

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    const vectors = parametersOf(this.name, global.length, results);
    const cut = Math.floor(this.beta * vectors.length + 1e-9);
    return coordinateWise(vectors, (sorted) => sortedTrimmedMean(sorted, cut));
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'Yin, Chen, Ramchandran and Bartlett, Byzantine-Robust Distributed Learning: Towards Optimal Statistical Rates, ICML 2018',
      beta: this.beta,
    };
  }
}
