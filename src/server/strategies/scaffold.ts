import type { FitInstructions, VectorName } from '../../protocol/messages.ts';
import { STRATEGY_PARAMETERS } from '../../scenario/strategy-schema.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import type { Failure, FitResult } from './strategy.ts';
import { checkParameter, requireSgd } from './validate.ts';

/** Options of {@link Scaffold}. */
export interface ScaffoldOptions extends FedAvgOptions {
  /** Server learning rate η_g > 0 applied to the mean client update. Default 1. */
  readonly serverLearningRate: number;
  /**
   * How hospitals count: `examples` weights each update and control change by its training examples, so SCAFFOLD
   * minimizes the example-weighted objective FedAvg minimizes; `uniform` gives each hospital one vote, as the paper
   * does. Default `examples`.
   */
  readonly weighting?: ScaffoldWeighting;
  /** Number of hospitals N in the federation (the server control averages over all of them). */
  readonly hospitals: number;
}

/** How SCAFFOLD's server weighs the hospitals that replied. */
export type ScaffoldWeighting = 'examples' | 'uniform';

/**
 * SCAFFOLD (option II): each hospital corrects its gradients by (c − c_i), where c is the server control
 * variate broadcast every round and c_i its own, kept in its worker across rounds; it returns its new
 * parameters and the change Δc_i of its control variate (a second declared vector). With weights wᵢ over the
 * replying set S (training examples, or 1 each for `uniform`), the server moves by η_g·Σ wᵢ(yᵢ − x)/Σ wᵢ and
 * sets c ← c + (|S|/N)·Σ wᵢΔcᵢ/Σ wᵢ; `uniform` is the paper's x + η_g·mean(yᵢ − x), c + (1/N)·Σ Δcᵢ.
 * Local training must be plain SGD.
 * Karimireddy et al., "SCAFFOLD: Stochastic Controlled Averaging for Federated Learning", ICML 2020.
 */
export class Scaffold extends FedAvg {
  static override readonly strategyName = 'scaffold' as const;
  override readonly vectors: readonly VectorName[] = ['parameters', 'control'];
  readonly #eta: number;
  readonly #hospitals: number;
  readonly #weighting: ScaffoldWeighting;
  #control: Float32Array | undefined;

  constructor(options: ScaffoldOptions) {
    super(options);
    checkParameter(
      this.name,
      'serverLearningRate',
      options.serverLearningRate,
      STRATEGY_PARAMETERS.scaffold.serverLearningRate,
    );
    requireSgd(this.name, options.training.optimizer);
    if (!Number.isInteger(options.hospitals) || options.hospitals < 1) {
      throw new RangeError(`${this.name}: the federation needs at least one hospital`);
    }
    this.#eta = options.serverLearningRate;
    this.#hospitals = options.hospitals;
    this.#weighting = options.weighting ?? 'examples';
  }

  protected override fitInstructions(round: number): FitInstructions {
    return { ...super.fitInstructions(round), scaffold: true };
  }

  broadcastVectors(_round: number, global: Float32Array): { readonly control: Float32Array } {
    this.#control ??= new Float32Array(global.length);
    return { control: this.#control };
  }

  override aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    if (results.length === 0) throw new RangeError(`${this.name}: no replies to aggregate`);
    const n = global.length;
    const update = new Float64Array(n);
    const controlSum = new Float64Array(n);
    let total = 0;
    for (const r of results) {
      const w = this.#weighting === 'uniform' ? 1 : r.reply.numExamples;
      const y = r.reply.vectors.parameters!;
      const dc = r.reply.vectors.control!;
      for (let i = 0; i < n; i++) {
        update[i]! += w * (y[i]! - global[i]!);
        controlSum[i]! += w * dc[i]!;
      }
      total += w;
    }
    if (!(total > 0)) throw new RangeError(`${this.name}: the replies' weights sum to zero`);
    const next = new Float32Array(n);
    const control = this.#control ?? new Float32Array(n);
    const newControl = new Float32Array(n);
    const share = results.length / this.#hospitals;
    for (let i = 0; i < n; i++) {
      next[i] = global[i]! + (this.#eta * update[i]!) / total;
      newControl[i] = control[i]! + (share * controlSum[i]!) / total;
    }
    this.#control = newControl;
    return next;
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'Karimireddy et al., SCAFFOLD: Stochastic Controlled Averaging for Federated Learning, ICML 2020',
      serverLearningRate: this.#eta,
      weighting: this.#weighting,
    };
  }
}
