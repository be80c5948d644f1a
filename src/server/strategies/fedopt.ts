import type { FitInstructions } from '../../protocol/messages.ts';
import type { ParameterSpec } from '../../scenario/strategy-schema.ts';
import { FedAvg, meanUpdate, type FedAvgOptions } from './fedavg.ts';
import { checkParameter } from './validate.ts';
import type { Failure, FitResult, RoundSums, StrategyState } from './strategy.ts';
import { savedFloat64, vectorOrNull } from './saved-state.ts';
import { parametersOf, pseudoGradient } from './vectors.ts';

/** Options shared by the adaptive server optimizers of Reddi et al.; each subclass documents its defaults. */
export interface FedOptOptions extends FedAvgOptions {
  /** Server learning rate η, > 0. */
  readonly eta?: number;
  /** Client learning rate η_l, > 0, sent to hospitals in place of `training.learningRate`. Default: absent, keep it. */
  readonly etaL?: number;
  /** First-moment decay β₁, in [0, 1). */
  readonly beta1?: number;
  /** Adaptivity τ, > 0: added to √v, and v starts at τ². */
  readonly tau?: number;
}

/** The ranges and defaults of a FedOpt strategy's shared parameters (its entry in STRATEGY_PARAMETERS). */
export interface FedOptSpec {
  readonly eta: ParameterSpec & { readonly default: number };
  readonly etaL: ParameterSpec;
  readonly beta1: ParameterSpec & { readonly default: number };
  readonly tau: ParameterSpec & { readonly default: number };
}

/**
 * Adaptive federated optimization, Reddi et al., "Adaptive Federated Optimization", ICLR 2021, Algorithm 2.
 * Each round: Δ = Σ nᵢxᵢ/Σ nᵢ − x (the example-weighted client mean minus the global model; the paper writes
 * an unweighted mean and notes weighting is a drop-in change, Flower weights by examples as here),
 * m ← β₁m + (1 − β₁)Δ, v ← {@link secondMoment}(v, Δ²), x ← x + η·m/(√v + τ), coordinate-wise.
 * m starts at 0 and v at τ² (the paper asks v₋₁ ≥ τ²; Flower starts it at 0). No bias correction, as in the
 * paper (Flower's FedAdam applies Adam's). m and v live in the instance and persist across rounds.
 */
export abstract class FedOpt extends FedAvg {
  readonly eta: number;
  readonly etaL: number | undefined;
  readonly beta1: number;
  readonly tau: number;
  #m: Float64Array | undefined;
  #v: Float64Array | undefined;

  /** Validates η, η_l, β₁ and τ against the subclass's `spec`, filling in its defaults. */
  protected constructor(options: FedOptOptions, spec: FedOptSpec) {
    super(options);
    this.eta = checkParameter(this.name, 'eta', options.eta ?? spec.eta.default, spec.eta);
    this.etaL =
      options.etaL === undefined ? undefined : checkParameter(this.name, 'etaL', options.etaL, spec.etaL);
    this.beta1 = checkParameter(this.name, 'beta1', options.beta1 ?? spec.beta1.default, spec.beta1);
    this.tau = checkParameter(this.name, 'tau', options.tau ?? spec.tau.default, spec.tau);
  }

  /** The next second-moment estimate of one coordinate from the previous one and Δ². */
  protected abstract secondMoment(previous: number, deltaSquared: number): number;

  protected override fitInstructions(round: number): FitInstructions {
    const base = super.fitInstructions(round);
    return this.etaL === undefined
      ? base
      : { ...base, training: { ...base.training, learningRate: this.etaL } };
  }

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    const vectors = parametersOf(this.name, global.length, results);
    const delta = pseudoGradient(
      global,
      vectors,
      results.map((r) => r.reply.numExamples),
    );
    return this.#step(global, delta);
  }

  /** The same step from the sum of updates under secure aggregation. */
  override aggregateSums(_round: number, global: Float32Array, sums: RoundSums): Float32Array {
    return this.#step(global, meanUpdate(this.name, global.length, sums));
  }

  /** One adaptive step along the mean update Δ. */
  #step(global: Float32Array, delta: Float64Array): Float32Array {
    const m = (this.#m ??= new Float64Array(global.length));
    const v = (this.#v ??= new Float64Array(global.length).fill(this.tau * this.tau));
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) {
      const d = delta[i]!;
      m[i] = this.beta1 * m[i]! + (1 - this.beta1) * d;
      v[i] = this.secondMoment(v[i]!, d * d);
      out[i] = global[i]! + (this.eta * m[i]!) / (Math.sqrt(v[i]!) + this.tau);
    }
    return out;
  }

  /** The moments m and v (null before the first round). */
  override checkpointState(): StrategyState {
    return { m: vectorOrNull(this.#m), v: vectorOrNull(this.#v) };
  }

  override restoreState(state: StrategyState): void {
    this.#m = savedFloat64(this.name, state, 'm');
    this.#v = savedFloat64(this.name, state, 'v');
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation: 'Reddi et al., Adaptive Federated Optimization, ICLR 2021',
      eta: this.eta,
      etaL: this.etaL,
      beta1: this.beta1,
      tau: this.tau,
    };
  }
}
