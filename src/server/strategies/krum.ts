import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { FedAvg, type FedAvgOptions } from './fedavg.ts';
import type { Failure, FitResult } from './strategy.ts';
import { checkParameter, requireReplies } from './validate.ts';
import { parametersOf, squaredDistance, uniformMean } from './vectors.ts';

const CITATION =
  'Blanchard, El Mhamdi, Guerraoui and Stainer, Machine Learning with Adversaries: Byzantine Tolerant Gradient Descent, NeurIPS 2017';

/** Options of {@link Krum}. */
export interface KrumOptions extends FedAvgOptions {
  /** Byzantine clients tolerated, an integer ≥ 0 with n ≥ 2f + 3. Default 0. */
  readonly f?: number;
  /** Hospitals sampled per round (n), from the scenario; the cross-field checks use it. */
  readonly clientsPerRound: number;
}

/**
 * Krum scores of the vectors: for each, the sum of squared distances to its `n − f − 2` nearest others
 * (at least 1, so that the score stays defined when few vectors remain, as Bulyan's iteration needs).
 */
export function krumScores(vectors: readonly Float32Array[], f: number): Float64Array {
  const n = vectors.length;
  const neighbours = Math.max(1, n - f - 2);
  const distances = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const d = squaredDistance(vectors[a]!, vectors[b]!);
      distances[a * n + b] = d;
      distances[b * n + a] = d;
    }
  }
  const scores = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let a = 0; a < n; a++) {
    let k = 0;
    for (let b = 0; b < n; b++) if (b !== a) row[k++] = distances[a * n + b]!;
    row.sort();
    let s = 0;
    for (let j = 0; j < Math.min(neighbours, row.length); j++) s += row[j]!;
    scores[a] = s;
  }
  return scores;
}

/** Indices of the `m` lowest Krum scores, ties broken by the given order. */
export function krumSelect(vectors: readonly Float32Array[], f: number, m: number): number[] {
  const scores = krumScores(vectors, f);
  return Array.from(scores.keys())
    .sort((a, b) => scores[a]! - scores[b]! || a - b)
    .slice(0, m);
}

/**
 * Krum: the next global model is the one hospital's parameters whose n − f − 2 nearest neighbours are
 * closest (least sum of squared distances), which withstands f Byzantine clients when n ≥ 2f + 3. Example
 * counts are ignored, as in the paper. Blanchard et al., "Machine Learning with Adversaries: Byzantine
 * Tolerant Gradient Descent", NeurIPS 2017.
 */
export class Krum extends FedAvg {
  override readonly sums = undefined;
  static override readonly strategyName: StrategyName = 'krum';
  readonly f: number;

  constructor(options: KrumOptions) {
    super(options);
    this.f = checkParameter(
      this.name,
      'f',
      options.f ?? STRATEGY_PARAMETERS.krum.f.default,
      STRATEGY_PARAMETERS.krum.f,
    );
    const needed = 2 * this.f + 3;
    if (options.clientsPerRound < needed) {
      throw new RangeError(
        `${this.name}: f = ${this.f} needs at least ${needed} clients per round (n ≥ 2f + 3), the scenario samples ${options.clientsPerRound}`,
      );
    }
  }

  /** How many of the best-scored hospitals to average among `n` replies. */
  protected selected(_n: number): number {
    return 1;
  }

  override aggregateFit(
    round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    requireReplies(this.name, round, results.length, 2 * this.f + 3, `f = ${this.f}`);
    const vectors = parametersOf(this.name, global.length, results);
    return uniformMean(vectors, krumSelect(vectors, this.f, this.selected(vectors.length)));
  }

  override summary(): Record<string, unknown> {
    return { ...super.summary(), citation: CITATION, f: this.f };
  }
}

/** Options of {@link MultiKrum}. */
export interface MultiKrumOptions extends KrumOptions {
  /** Hospitals averaged, an integer in [1, n − f]. Default: absent, n − f of the round's n replies. */
  readonly m?: number;
}

/**
 * Multi-Krum: the unweighted mean of the m hospitals with the lowest Krum scores (scores computed once, as in
 * the paper; Flower weights this mean by examples). Example counts are ignored. Blanchard et al., "Machine
 * Learning with Adversaries: Byzantine Tolerant Gradient Descent", NeurIPS 2017.
 */
export class MultiKrum extends Krum {
  static override readonly strategyName: StrategyName = 'multikrum';
  readonly m: number | undefined;

  constructor(options: MultiKrumOptions) {
    super(options);
    const spec = STRATEGY_PARAMETERS.multikrum.m;
    if (options.m !== undefined) {
      const most = options.clientsPerRound - this.f;
      this.m = checkParameter(this.name, 'm', options.m, { ...spec, max: most });
    }
  }

  protected override selected(n: number): number {
    return Math.min(this.m ?? n - this.f, n - this.f);
  }

  override summary(): Record<string, unknown> {
    return { ...super.summary(), m: this.m ?? 'n − f' };
  }
}
