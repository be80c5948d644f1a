import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import type { BenchCurvePoint } from './types.ts';

/**
 * A sample mean with its Student t confidence interval. With one value there is no interval:
 * `sd`, `lower`, `upper` and `halfWidth` are absent (never NaN).
 */
export interface MeanCi {
  readonly mean: number;
  readonly n: number;
  /** Sample standard deviation (divisor n − 1). */
  readonly sd?: number;
  readonly lower?: number;
  readonly upper?: number;
  readonly halfWidth?: number;
}

/** Mean and two-sided Student t interval (n − 1 degrees of freedom) of finite values; throws on none. */
export function meanCi(values: readonly number[], level = 0.95): MeanCi {
  const n = values.length;
  if (n === 0) throw new RangeError('meanCi needs at least one value');
  if (!(level > 0 && level < 1)) throw new RangeError(`meanCi: level must be in (0, 1), got ${level}`);
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`meanCi: value ${i} is ${v}, expected a finite number`);
  });
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, n };
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const halfWidth = (tQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { mean, n, sd, lower: mean - halfWidth, upper: mean + halfWidth, halfWidth };
}

/**
 * Mean and Student t interval of the paired differences a − b over the seeds both maps have (n = their count);
 * throws when no seed is shared or a shared value is not finite.
 */
export function pairedDifference(
  a: ReadonlyMap<number, number>,
  b: ReadonlyMap<number, number>,
  level = 0.95,
): MeanCi {
  const shared = [...a.keys()].filter((seed) => b.has(seed)).sort((x, y) => x - y);
  if (shared.length === 0) {
    throw new RangeError(
      `pairedDifference: the two samples share no seed (a has ${seedList(a)}; b has ${seedList(b)})`,
    );
  }
  const differences = shared.map((seed) => {
    const x = a.get(seed)!;
    const y = b.get(seed)!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      throw new RangeError(
        `pairedDifference: seed ${seed} is ${x} in a and ${y} in b, expected finite numbers`,
      );
    }
    return x - y;
  });
  return meanCi(differences, level);
}

const seedList = (m: ReadonlyMap<number, number>): string =>
  m.size === 0 ? 'none' : `seeds ${[...m.keys()].sort((x, y) => x - y).join(', ')}`;

/** The first (lowest-numbered) round whose aggregated `metric` is ≥ `target`; undefined if none is. */
export function roundsToTarget(
  curve: readonly BenchCurvePoint[],
  metric: string,
  target: number,
): number | undefined {
  let first: number | undefined;
  for (const point of curve) {
    const v = point.metrics[metric];
    if (typeof v === 'number' && v >= target && (first === undefined || point.round < first))
      first = point.round;
  }
  return first;
}

/** Whether smaller is better for a metric: losses, the Brier score and calibration error, and their subgroup forms. */
export function lowerIsBetter(metric: string): boolean {
  return /^(.*loss|brier|ece|mse|mae|attack_success)(__.*)?$/i.test(metric);
}
