import type { StrategyName } from '../../scenario/strategy-schema.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import { fitMetric } from './fit-metrics.ts';
import type { Failure, FitResult, RoundSums, SumsNeeded } from './strategy.ts';
import { requireSgd } from './validate.ts';
import { parametersOf } from './vectors.ts';

/**
 * FedNova, normalised averaging for plain local SGD. Each hospital i reports `local_steps` τ_i, the optimizer
 * steps it took; with p_i = n_i / Σ n_j (example counts), d_i = (x − x_i)/τ_i, τ_eff = Σ p_i τ_i, the next
 * model is x − τ_eff·Σ p_i d_i. Hospitals that took more steps no longer pull the model further towards their
 * own optimum; with equal τ it is FedAvg. Local momentum or a proximal term would change τ_i to ‖a_i‖₁; fedmed
 * runs plain SGD only. Wang, Liu, Liang, Joshi and Poor, "Tackling the Objective Inconsistency Problem in
 * Heterogeneous Federated Optimization", NeurIPS 2020.
 */
export class FedNova extends FedAvg {
  static override readonly strategyName: StrategyName = 'fednova';
  readonly fitMetrics = ['local_steps'] as const;
  /** Σ n_k (x_k − g)/τ_k and Σ n_k τ_k. */
  override readonly sums: SumsNeeded = {
    weighting: 'examples',
    parts: [
      { name: 'direction', term: 'update-per-step' },
      { name: 'steps', term: 'steps' },
    ],
  };

  constructor(options: FedAvgOptions) {
    super(options);
    requireSgd(this.name, options.training.optimizer);
  }

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    const vectors = parametersOf(this.name, global.length, results);
    let total = 0;
    for (const r of results) total += r.reply.numExamples;
    if (!(total > 0)) throw new Error(`${this.name}: example counts sum to zero`);
    const direction = new Float64Array(global.length);
    let tauEff = 0;
    for (let k = 0; k < results.length; k++) {
      const tau = fitMetric(
        this.name,
        results[k]!,
        'local_steps',
        'an integer ≥ 1',
        (v) => Number.isInteger(v) && v >= 1,
      );
      const p = results[k]!.reply.numExamples / total;
      tauEff += p * tau;
      const scale = p / tau;
      const xk = vectors[k]!;
      for (let i = 0; i < direction.length; i++) direction[i]! += scale * (global[i]! - xk[i]!);
    }
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) out[i] = global[i]! - tauEff * direction[i]!;
    return out;
  }

  /** g + τ_eff · Σ n_k (x_k − g)/τ_k / N with τ_eff = Σ n_k τ_k / N: the same step from the two sums. */
  override aggregateSums(_round: number, global: Float32Array, sums: RoundSums): Float32Array {
    const direction = sums.values.direction;
    const steps = sums.values.steps;
    if (direction?.length !== global.length || steps?.length !== 1)
      throw new Error(`${this.name}: the round's sums lack the direction or the steps`);
    const total = sums.totalWeight;
    if (!(total > 0)) throw new RangeError(`${this.name}: example counts sum to zero`);
    const tauEff = steps[0]! / total;
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) out[i] = global[i]! + (tauEff * direction[i]!) / total;
    return out;
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'Wang, Liu, Liang, Joshi and Poor, Tackling the Objective Inconsistency Problem in Heterogeneous Federated Optimization, NeurIPS 2020',
    };
  }
}
