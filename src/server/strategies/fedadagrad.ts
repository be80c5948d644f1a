import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { FedOpt, type FedOptOptions } from './fedopt.ts';

const P = STRATEGY_PARAMETERS.fedadagrad;

/** Options of {@link FedAdagrad}; defaults are Flower's. */
export interface FedAdagradOptions extends FedOptOptions {
  /** Server learning rate η, > 0. Default 0.1. */
  readonly eta?: number;
  /** Client learning rate η_l, > 0. Default: absent, the scenario's `training.learningRate` (Flower: 0.1). */
  readonly etaL?: number;
  /** First-moment decay β₁, in [0, 1). Default 0 (Flower fixes 0; the paper's Algorithm 2 allows momentum). */
  readonly beta1?: number;
  /** Adaptivity τ, > 0. Default 1e-9. */
  readonly tau?: number;
}

/**
 * FedAdagrad: Adagrad on the server, v ← v + Δ²; see {@link FedOpt} for the round. Reddi et al.,
 * "Adaptive Federated Optimization", ICLR 2021.
 */
export class FedAdagrad extends FedOpt {
  static override readonly strategyName: StrategyName = 'fedadagrad';

  constructor(options: FedAdagradOptions) {
    super(options, P);
  }

  protected secondMoment(previous: number, deltaSquared: number): number {
    return previous + deltaSquared;
  }
}
