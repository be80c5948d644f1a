import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { FedAvg, meanUpdate, type FedAvgOptions } from './fedavg.ts';
import type { Failure, FitResult, RoundSums, StrategyState } from './strategy.ts';
import { savedFloat64, vectorOrNull } from './saved-state.ts';
import { checkParameter } from './validate.ts';
import { parametersOf, pseudoGradient } from './vectors.ts';

const P = STRATEGY_PARAMETERS.fedavgm;

/** Options of {@link FedAvgM}. */
export interface FedAvgMOptions extends FedAvgOptions {
  /** Server learning rate η, > 0. Default 1 (Flower's default). */
  readonly serverLearningRate?: number;
  /** Server momentum β, in [0, 1). Default 0 (Flower's default; Hsu et al. report β = 0.9 working well). */
  readonly serverMomentum?: number;
}

/**
 * Federated Averaging with server momentum. Each round the server takes the update
 * Δ = global − Σ nᵢxᵢ/Σ nᵢ (the example-weighted FedAvg mean), keeps a momentum buffer v ← βv + Δ
 * (v starts at 0, so the first round's v is Δ) and moves global ← global − η·v. With β = 0 and η = 1 it is
 * FedAvg. The momentum buffer lives in the instance and persists across rounds. Hsu, Qi and Brown,
 * "Measuring the Effects of Non-Identical Data Distribution for Federated Visual Classification", 2019.
 */
export class FedAvgM extends FedAvg {
  static override readonly strategyName: StrategyName = 'fedavgm';
  readonly serverLearningRate: number;
  readonly serverMomentum: number;
  #momentum: Float64Array | undefined;

  constructor(options: FedAvgMOptions) {
    super(options);
    this.serverLearningRate = checkParameter(
      this.name,
      'serverLearningRate',
      options.serverLearningRate ?? P.serverLearningRate.default,
      P.serverLearningRate,
    );
    this.serverMomentum = checkParameter(
      this.name,
      'serverMomentum',
      options.serverMomentum ?? P.serverMomentum.default,
      P.serverMomentum,
    );
  }

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    const vectors = parametersOf(this.name, global.length, results);
    const toward = pseudoGradient(
      global,
      vectors,
      results.map((r) => r.reply.numExamples),
    );
    return this.#step(global, toward);
  }

  /** The same step from the sum of updates under secure aggregation. */
  override aggregateSums(_round: number, global: Float32Array, sums: RoundSums): Float32Array {
    return this.#step(global, meanUpdate(this.name, global.length, sums));
  }

  /** v ← βv − Δ, global − η·v, for the mean update Δ. */
  #step(global: Float32Array, toward: Float64Array): Float32Array {
    const v = (this.#momentum ??= new Float64Array(global.length));
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) {
      v[i] = this.serverMomentum * v[i]! - toward[i]!;
      out[i] = global[i]! - this.serverLearningRate * v[i]!;
    }
    return out;
  }

  /** The momentum buffer (null before the first round). */
  override checkpointState(): StrategyState {
    return { momentum: vectorOrNull(this.#momentum) };
  }

  override restoreState(state: StrategyState): void {
    this.#momentum = savedFloat64(this.name, state, 'momentum');
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'Hsu, Qi and Brown, Measuring the Effects of Non-Identical Data Distribution for Federated Visual Classification, 2019',
      serverLearningRate: this.serverLearningRate,
      serverMomentum: this.serverMomentum,
    };
  }
}
