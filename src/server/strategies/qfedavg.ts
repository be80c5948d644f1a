import type { FitInstructions } from '../../protocol/messages.ts';
import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import { fitMetric } from './fit-metrics.ts';
import type { Failure, FitResult, RoundSums, SumsNeeded } from './strategy.ts';
import { checkParameter, requireSgd } from './validate.ts';
import { parametersOf, squaredDistance } from './vectors.ts';

/** Added to every loss before raising it to a power, as Flower does, so that a zero loss stays finite. */
export const LOSS_EPSILON = 1e-10;

/** Options of {@link QFedAvg}. */
export interface QFedAvgOptions extends FedAvgOptions {
  /** Fairness q, in [0, 100]. Default 0.2 (Flower's default). 0 gives the unweighted mean of client models. */
  readonly q?: number;
}

/**
 * q-FedAvg (q-FFL). The server asks each hospital k for `initial_loss` F_k, the training loss of the global
 * model x it received, and with L = 1/η (η: the local SGD learning rate, the paper's Lipschitz estimate) and
 * the hospital's model x_k computes Δw_k = L(x − x_k), Δ_k = F_k^q·Δw_k, h_k = q·F_k^(q−1)·‖Δw_k‖² + L·F_k^q,
 * then x ← x − Σ Δ_k / Σ h_k. F_k is taken as `initial_loss + 1e-10` (as Flower does). Example counts are
 * ignored; the paper samples hospitals in proportion to their data, fedmed samples uniformly as for every
 * strategy. Needs plain SGD locally. Li, Sanjabi, Beirami and Smith, "Fair Resource Allocation in Federated
 * Learning", ICLR 2020.
 */
export class QFedAvg extends FedAvg {
  static override readonly strategyName: StrategyName = 'qfedavg';
  readonly fitMetrics = ['initial_loss'] as const;
  readonly q: number;

  constructor(options: QFedAvgOptions) {
    super(options);
    const spec = STRATEGY_PARAMETERS.qfedavg.q;
    this.q = checkParameter(this.name, 'q', options.q ?? spec.default, spec);
    requireSgd(this.name, options.training.optimizer);
    this.sums = {
      weighting: 'one',
      fairness: this.q,
      parts: [
        { name: 'numerator', term: 'fair-update' },
        { name: 'denominator', term: 'fair-weight' },
      ],
    };
  }

  /** Σ F_k^q (g − x_k) and Σ (q·F_k^(q−1)·L·‖g − x_k‖² + F_k^q): both of the paper's sums divided by L. */
  override readonly sums: SumsNeeded;

  /** g − Σ Δ_k / Σ h_k from the two sums (L cancels). */
  override aggregateSums(_round: number, global: Float32Array, sums: RoundSums): Float32Array {
    const numerator = sums.values.numerator;
    const denominator = sums.values.denominator;
    if (numerator?.length !== global.length || denominator?.length !== 1)
      throw new Error(`${this.name}: the round's sums lack the numerator or the denominator`);
    if (!(denominator[0]! > 0)) throw new RangeError(`${this.name}: the denominator sum is not positive`);
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) out[i] = global[i]! - numerator[i]! / denominator[0]!;
    return out;
  }

  protected override fitInstructions(round: number): FitInstructions {
    return { ...super.fitInstructions(round), reportInitialLoss: true };
  }

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    const vectors = parametersOf(this.name, global.length, results);
    const lipschitz = 1 / this.options.training.learningRate;
    const q = this.q;
    const numerator = new Float64Array(global.length);
    let denominator = 0;
    for (let k = 0; k < results.length; k++) {
      const loss =
        fitMetric(this.name, results[k]!, 'initial_loss', 'a finite loss ≥ 0', (v) => v >= 0) + LOSS_EPSILON;
      const xk = vectors[k]!;
      const scale = Math.pow(loss, q) * lipschitz;
      for (let i = 0; i < numerator.length; i++) numerator[i]! += scale * (global[i]! - xk[i]!);
      const normSquared = lipschitz * lipschitz * squaredDistance(global, xk);
      denominator += (q === 0 ? 0 : q * Math.pow(loss, q - 1) * normSquared) + lipschitz * Math.pow(loss, q);
    }
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) out[i] = global[i]! - numerator[i]! / denominator;
    return out;
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation: 'Li, Sanjabi, Beirami and Smith, Fair Resource Allocation in Federated Learning, ICLR 2020',
      q: this.q,
    };
  }
}
