import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { FedOpt, type FedOptOptions } from './fedopt.ts';
import { checkParameter } from './validate.ts';

const P = STRATEGY_PARAMETERS.fedyogi;

/** Options of {@link FedYogi}; defaults are Flower's. */
export interface FedYogiOptions extends FedOptOptions {
  /** Server learning rate η, > 0. Default 0.01. */
  readonly eta?: number;
  /** Client learning rate η_l, > 0. Default: absent, the scenario's `training.learningRate` (Flower: 0.0316). */
  readonly etaL?: number;
  /** First-moment decay β₁, in [0, 1). Default 0.9. */
  readonly beta1?: number;
  /** Second-moment decay β₂, in [0, 1). Default 0.99. */
  readonly beta2?: number;
  /** Adaptivity τ, > 0. Default 1e-3. */
  readonly tau?: number;
}

/**
 * FedYogi: Yogi on the server, v ← v − (1 − β₂)Δ²·sign(v − Δ²), which grows v no faster than additively;
 * see {@link FedOpt} for the round. Reddi et al., "Adaptive Federated Optimization", ICLR 2021.
 */
export class FedYogi extends FedOpt {
  static override readonly strategyName: StrategyName = 'fedyogi';
  readonly beta2: number;

  constructor(options: FedYogiOptions) {
    super(options, P);
    this.beta2 = checkParameter(this.name, 'beta2', options.beta2 ?? P.beta2.default, P.beta2);
  }

  protected secondMoment(previous: number, deltaSquared: number): number {
    return previous - (1 - this.beta2) * deltaSquared * Math.sign(previous - deltaSquared);
  }

  override summary(): Record<string, unknown> {
    return { ...super.summary(), beta2: this.beta2 };
  }
}
