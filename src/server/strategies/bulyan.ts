import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { sortedMedian } from './coordinate-wise.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import { krumSelect } from './krum.ts';
import type { Failure, FitResult } from './strategy.ts';
import { checkParameter, requireReplies } from './validate.ts';
import { parametersOf } from './vectors.ts';

const P = STRATEGY_PARAMETERS.bulyan;

/** Options of {@link Bulyan}. */
export interface BulyanOptions extends FedAvgOptions {
  /** Byzantine clients tolerated, an integer ≥ 0 with n ≥ 4f + 3. Default 0. */
  readonly f?: number;
  /** Hospitals sampled per round (n), from the scenario; the cross-field check uses it. */
  readonly clientsPerRound: number;
}

/**
 * Bulyan over Krum. Selection: θ = n − 2f times, pick the Krum winner among the hospitals not yet picked
 * (scores recomputed on what remains). Aggregation: for each coordinate, the mean of the β = θ − 2f selected
 * values closest to their median (ties to the smaller value). Needs n ≥ 4f + 3. Example counts are ignored,
 * as in the paper. El Mhamdi, Guerraoui and Rouault, "The Hidden Vulnerability of Distributed Learning in
 * Byzantium", ICML 2018.
 */
export class Bulyan extends FedAvg {
  override readonly sums = undefined;
  static override readonly strategyName: StrategyName = 'bulyan';
  readonly f: number;

  constructor(options: BulyanOptions) {
    super(options);
    this.f = checkParameter(this.name, 'f', options.f ?? P.f.default, P.f);
    const needed = 4 * this.f + 3;
    if (options.clientsPerRound < needed) {
      throw new RangeError(
        `${this.name}: f = ${this.f} needs at least ${needed} clients per round (n ≥ 4f + 3), the scenario samples ${options.clientsPerRound}`,
      );
    }
  }

  override aggregateFit(
    round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    requireReplies(this.name, round, results.length, 4 * this.f + 3, `f = ${this.f}`);
    const vectors = parametersOf(this.name, global.length, results);
    const selected = bulyanSelect(vectors, this.f);
    return closestToMedianMean(
      selected.map((k) => vectors[k]!),
      selected.length - 2 * this.f,
    );
  }

  override summary(): Record<string, unknown> {
    return {
      ...super.summary(),
      citation:
        'El Mhamdi, Guerraoui and Rouault, The Hidden Vulnerability of Distributed Learning in Byzantium, ICML 2018',
      f: this.f,
    };
  }
}

/** Indices of the θ = n − 2f vectors picked by repeated Krum, in the order picked. */
export function bulyanSelect(vectors: readonly Float32Array[], f: number): number[] {
  const remaining = Array.from(vectors.keys());
  const picked: number[] = [];
  const theta = vectors.length - 2 * f;
  while (picked.length < theta) {
    const [winner] = krumSelect(
      remaining.map((k) => vectors[k]!),
      f,
      1,
    );
    picked.push(remaining[winner!]!);
    remaining.splice(winner!, 1);
  }
  return picked;
}

/** For each coordinate, the mean of the `beta` values closest to the median (ties to the smaller value). */
export function closestToMedianMean(vectors: readonly Float32Array[], beta: number): Float32Array {
  const n = vectors.length;
  if (!(beta >= 1 && beta <= n))
    throw new RangeError(`closestToMedianMean: beta = ${beta} with ${n} vectors`);
  const length = vectors[0]!.length;
  const column = new Float64Array(n);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < n; k++) column[k] = vectors[k]![i]!;
    column.sort();
    const median = sortedMedian(column);
    let lo = 0;
    let hi = n;
    while (hi - lo > beta) {
      if (median - column[lo]! > column[hi - 1]! - median) lo++;
      else hi--;
    }
    let s = 0;
    for (let k = lo; k < hi; k++) s += column[k]!;
    out[i] = s / beta;
  }
  return out;
}
