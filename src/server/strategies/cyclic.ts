import { permutation, type Rng } from '../../common/rng.ts';
import { compareIds } from '../sampling.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import type { Failure, FitAssignment, FitResult, HospitalRef } from './strategy.ts';

/** Options of {@link Cyclic}. */
export interface CyclicOptions extends FedAvgOptions {
  /** 'fixed' (default): hospitals in id order every round; 'shuffled': a seeded order per round. */
  readonly order: 'fixed' | 'shuffled';
}

/**
 * Cyclic weight transfer: within a round the model visits every hospital in turn, each training it further
 * from the previous hospital's parameters; the round's model is the last hospital's. Nothing is averaged.
 * Chang et al., "Distributed deep learning networks among institutions for medical imaging", JAMIA 2018.
 */
export class Cyclic extends FedAvg {
  override readonly sums = undefined;
  static override readonly strategyName = 'cyclic' as const;
  readonly sequential = true;
  readonly #order: CyclicOptions['order'];

  constructor(options: CyclicOptions) {
    super(options);
    this.#order = options.order;
  }

  override configureFit(round: number, hospitals: readonly HospitalRef[], rng: Rng): FitAssignment[] {
    const sorted = [...hospitals].sort((a, b) => compareIds(a.id, b.id));
    const order =
      this.#order === 'fixed' ? sorted : Array.from(permutation(sorted.length, rng), (i) => sorted[i]!);
    const instructions = this.fitInstructions(round);
    return order.map((h) => ({ hospital: h.id, instructions }));
  }

  override aggregateFit(
    _round: number,
    _global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    const last = results[results.length - 1];
    if (last === undefined) throw new RangeError(`${this.name}: no hospital trained the model this round`);
    return last.reply.vectors.parameters!.slice();
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'Chang et al., Distributed deep learning networks among institutions for medical imaging, JAMIA 2018',
      order: this.#order,
    };
  }
}
