import type { FitInstructions } from '../../protocol/messages.ts';
import { STRATEGY_PARAMETERS } from '../../scenario/strategy-schema.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import { checkParameter } from './validate.ts';

/** Options of {@link FedProx}. */
export interface FedProxOptions extends FedAvgOptions {
  /** Proximal coefficient μ ≥ 0. Default 0.01; 0 makes FedProx FedAvg exactly. */
  readonly proximalMu: number;
}

/**
 * FedProx: every hospital minimises its local loss plus (μ/2)·‖w − w_global‖², which keeps local models near
 * the global one under heterogeneous data; the server averages as FedAvg does. The proximal term runs in the
 * client. Li et al., "Federated Optimization in Heterogeneous Networks", MLSys 2020.
 */
export class FedProx extends FedAvg {
  static override readonly strategyName = 'fedprox' as const;
  readonly #mu: number;

  constructor(options: FedProxOptions) {
    super(options);
    checkParameter(this.name, 'proximalMu', options.proximalMu, STRATEGY_PARAMETERS.fedprox.proximalMu);
    this.#mu = options.proximalMu;
  }

  protected override fitInstructions(round: number): FitInstructions {
    return this.#mu === 0
      ? super.fitInstructions(round)
      : { ...super.fitInstructions(round), proximalMu: this.#mu };
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation: 'Li et al., Federated Optimization in Heterogeneous Networks, MLSys 2020',
      proximalMu: this.#mu,
    };
  }
}
