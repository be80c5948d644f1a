import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { FedOpt, type FedOptOptions } from './fedopt.ts';
import { checkParameter } from './validate.ts';

const P = STRATEGY_PARAMETERS.fedadam;

/** Options of {@link FedAdam}; defaults are Flower's. */
export interface FedAdamOptions extends FedOptOptions {
  /** Server learning rate η, > 0. Default 0.1. */
  readonly eta?: number;
  /** Client learning rate η_l, > 0. Default: absent, the scenario's `training.learningRate` (Flower: 0.1). */
  readonly etaL?: number;
  /** First-moment decay β₁, in [0, 1). Default 0.9. */
  readonly beta1?: number;
  /** Second-moment decay β₂, in [0, 1). Default 0.99. */
  readonly beta2?: number;
  /** Adaptivity τ, > 0. Default 1e-9. */
  readonly tau?: number;
}

/**
 * FedAdam: Adam on the server, v ← β₂v + (1 − β₂)Δ²; see {@link FedOpt} for the round. Reddi et al.,
 * "Adaptive Federated Optimization", ICLR 2021.
 */
export class FedAdam extends FedOpt {
  static override readonly strategyName: StrategyName = 'fedadam';
  readonly beta2: number;

  constructor(options: FedAdamOptions) {
    super(options, P);
    this.beta2 = checkParameter(this.name, 'beta2', options.beta2 ?? P.beta2.default, P.beta2);
  }

  protected secondMoment(previous: number, deltaSquared: number): number {
    return this.beta2 * previous + (1 - this.beta2) * deltaSquared;
  }

  override summary(): Record<string, unknown> {
    return { ...super.summary(), beta2: this.beta2 };
  }
}
