import type { FitInstructions, VectorName } from '../../protocol/messages.ts';
import { STRATEGY_PARAMETERS } from '../../scenario/strategy-schema.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import type { Failure, FitResult, RoundSums, StrategyState, SumsNeeded } from './strategy.ts';
import { savedFloat32, savedFloat64, vectorOrNull } from './saved-state.ts';
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
 * parameters and the change Δc_i of its control variate (a second declared vector).
 * - `uniform` is the paper's server step: x ← x + η_g·mean(yᵢ − x) over the replying set S, c ← c + (1/N)·Σ Δcᵢ.
 * - `examples` weighs by training examples nᵢ: x ← x + η_g·Σ nᵢ(yᵢ − x)/Σ nᵢ over S, and c is the
 *   example-weighted mean Σ nᵢcᵢ/Σ nᵢ of the controls of every hospital heard from so far (the server adds each
 *   reply's nᵢΔcᵢ), which also holds when only some hospitals reply; nᵢ must not change between rounds.
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
  /** `examples`: Σ nᵢcᵢ over the hospitals heard from, and each one's nᵢ. */
  #weighted: { readonly sum: Float64Array; readonly counts: Map<string, number> } | undefined;

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
    this.sums = {
      weighting: this.#weighting === 'uniform' ? 'one' : 'examples',
      parts: [
        { name: 'update', term: 'update' },
        { name: 'control', term: 'control' },
      ],
    };
  }

  /** Both of SCAFFOLD's sums: the weighted updates and the weighted control-variate changes. */
  override readonly sums: SumsNeeded;

  /** The same server step as {@link aggregateFit}, from the two sums. */
  override aggregateSums(_round: number, global: Float32Array, sums: RoundSums): Float32Array {
    const update = sums.values.update;
    const controlSum = sums.values.control;
    const n = global.length;
    if (update?.length !== n || controlSum?.length !== n)
      throw new Error(`${this.name}: the round's sums lack the update or the control`);
    if (!(sums.totalWeight > 0)) throw new RangeError(`${this.name}: the replies' weights sum to zero`);
    const uniform = this.#weighting === 'uniform';
    if (!uniform) {
      this.#weighted ??= { sum: new Float64Array(n), counts: new Map() };
      for (const c of sums.contributors) this.#countOf(c.hospital, c.numExamples);
    }
    const next = new Float32Array(n);
    for (let i = 0; i < n; i++) next[i] = global[i]! + (this.#eta * update[i]!) / sums.totalWeight;
    this.#control = uniform ? this.#uniformControl(controlSum) : this.#weightedControl(controlSum);
    return next;
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
    const uniform = this.#weighting === 'uniform';
    if (!uniform) this.#weighted ??= { sum: new Float64Array(n), counts: new Map() };
    const update = new Float64Array(n);
    const controlSum = new Float64Array(n);
    let total = 0;
    for (const r of results) {
      const w = uniform ? 1 : this.#countOf(r.hospital, r.reply.numExamples);
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
    for (let i = 0; i < n; i++) next[i] = global[i]! + (this.#eta * update[i]!) / total;
    this.#control = uniform ? this.#uniformControl(controlSum) : this.#weightedControl(controlSum);
    return next;
  }

  /** c + (1/N)·Σ Δcᵢ. */
  #uniformControl(deltaSum: Float64Array): Float32Array {
    const control = this.#control ?? new Float32Array(deltaSum.length);
    const next = new Float32Array(deltaSum.length);
    for (let i = 0; i < next.length; i++) next[i] = control[i]! + deltaSum[i]! / this.#hospitals;
    return next;
  }

  /** Σ nᵢcᵢ / Σ nᵢ over the hospitals heard from, after adding this round's Σ nᵢΔcᵢ. */
  #weightedControl(weightedDeltaSum: Float64Array): Float32Array {
    const w = this.#weighted!;
    let total = 0;
    for (const count of w.counts.values()) total += count;
    const next = new Float32Array(weightedDeltaSum.length);
    for (let i = 0; i < next.length; i++) {
      w.sum[i]! += weightedDeltaSum[i]!;
      next[i] = w.sum[i]! / total;
    }
    return next;
  }

  /** A hospital's training examples, recorded the first time it replies; a later change is an error. */
  #countOf(hospital: string, numExamples: number): number {
    const w = this.#weighted!;
    const known = w.counts.get(hospital);
    if (known !== undefined && known !== numExamples) {
      throw new RangeError(
        `${this.name}: hospital ${hospital} trained on ${numExamples} examples after ${known}; ` +
          "weighting 'examples' needs a fixed count per hospital",
      );
    }
    w.counts.set(hospital, numExamples);
    return numExamples;
  }

  /** The server control c, and under `examples` Σ nᵢcᵢ with each hospital's nᵢ (null before they exist). */
  override checkpointState(): StrategyState {
    const w = this.#weighted;
    return {
      control: vectorOrNull(this.#control),
      weightedSum: vectorOrNull(w?.sum),
      counts: w === undefined ? null : Object.fromEntries(w.counts),
    };
  }

  override restoreState(state: StrategyState): void {
    this.#control = savedFloat32(this.name, state, 'control');
    const sum = savedFloat64(this.name, state, 'weightedSum');
    const counts = state.counts;
    if (sum === undefined || counts === null || counts === undefined) {
      this.#weighted = undefined;
      return;
    }
    if (typeof counts !== 'object' || Array.isArray(counts) || ArrayBuffer.isView(counts))
      throw new RangeError(`${this.name}: the checkpoint's state lacks its counts`);
    const entries = Object.entries(counts as Record<string, unknown>);
    for (const [h, n] of entries) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        throw new RangeError(`${this.name}: the checkpoint's count of hospital ${h} is not a count`);
    }
    this.#weighted = { sum, counts: new Map(entries as [string, number][]) };
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
