/**
 * Per-column summaries that hospitals compute on their own training rows and the coordinator combines, so a
 * federation can standardise (or min–max scale, or impute by the mean) as if it had pooled the rows, without
 * pooling them. Everything is float64.
 */

/** Summaries of the non-missing values of each column: count, sum, sum of squares about the column's own mean, extremes. */
export interface ColumnStats {
  readonly count: Float64Array;
  readonly sum: Float64Array;
  /** Σ (x − mean)² over the column's values, about this summary's own mean (0 when the count is 0). */
  readonly m2: Float64Array;
  /** Smallest and largest value (+∞ and −∞ when the count is 0). */
  readonly min: Float64Array;
  readonly max: Float64Array;
}

/** The names of {@link ColumnStats}' vectors, in the order they cross the boundary. */
export const STATS_VECTORS = ['count', 'sum', 'm2', 'min', 'max'] as const;

/**
 * The summaries a hospital sends for a scaling: the column extremes only for min–max, since each is one
 * patient's value; standardisation and imputation by the mean need counts, sums and sums of squares alone.
 */
export function statisticsVectors(scaling: 'standardise' | 'min-max' | 'none'): readonly string[] {
  return scaling === 'min-max' ? STATS_VECTORS : STATS_VECTORS.slice(0, 3);
}

/** How inputs are scaled: x ↦ ((x, or `fill` where missing) − centre) / scale, per column. */
export interface ColumnTransform {
  readonly centre: Float64Array;
  readonly scale: Float64Array;
  readonly fill: Float64Array;
}

/** The names of {@link ColumnTransform}'s vectors, in the order they cross the boundary. */
export const TRANSFORM_VECTORS = ['centre', 'scale', 'fill'] as const;

/** Summaries of `rows` rows of `width` columns laid row by row; NaN marks a missing value. Two passes. */
export function columnStats(x: Float64Array, rows: number, width: number): ColumnStats {
  const count = new Float64Array(width);
  const sum = new Float64Array(width);
  const m2 = new Float64Array(width);
  const min = new Float64Array(width).fill(Infinity);
  const max = new Float64Array(width).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let j = 0, o = r * width; j < width; j++) {
      const v = x[o + j]!;
      if (Number.isNaN(v)) continue;
      count[j]!++;
      sum[j]! += v;
      if (v < min[j]!) min[j] = v;
      if (v > max[j]!) max[j] = v;
    }
  }
  const mean = Float64Array.from(sum, (s, j) => (count[j]! > 0 ? s / count[j]! : 0));
  for (let r = 0; r < rows; r++) {
    for (let j = 0, o = r * width; j < width; j++) {
      const v = x[o + j]!;
      if (!Number.isNaN(v)) m2[j]! += (v - mean[j]!) * (v - mean[j]!);
    }
  }
  return { count, sum, m2, min, max };
}

/**
 * Summaries of the union of the parts, in the order given: counts, sums and extremes add up; sums of squares
 * combine by Chan, Golub and LeVeque's pairwise update, M2 = M2_a + M2_b + δ²·n_a·n_b/(n_a + n_b).
 */
export function combineStats(parts: readonly ColumnStats[]): ColumnStats {
  const first = parts[0];
  if (first === undefined) throw new RangeError('combineStats: nothing to combine');
  const width = first.count.length;
  const count = new Float64Array(width);
  const sum = new Float64Array(width);
  const m2 = new Float64Array(width);
  const min = new Float64Array(width).fill(Infinity);
  const max = new Float64Array(width).fill(-Infinity);
  for (const p of parts) {
    if (p.count.length !== width) throw new RangeError('combineStats: parts of different widths');
    for (let j = 0; j < width; j++) {
      const nb = p.count[j]!;
      if (nb === 0) continue;
      const na = count[j]!;
      const delta = na > 0 ? p.sum[j]! / nb - sum[j]! / na : 0;
      m2[j] = m2[j]! + p.m2[j]! + (na > 0 ? (delta * delta * na * nb) / (na + nb) : 0);
      count[j] = na + nb;
      sum[j] = sum[j]! + p.sum[j]!;
      min[j] = Math.min(min[j]!, p.min[j]!);
      max[j] = Math.max(max[j]!, p.max[j]!);
    }
  }
  return { count, sum, m2, min, max };
}

/** Column means (0 where a column has no value). */
export function means(s: ColumnStats): Float64Array {
  return Float64Array.from(s.count, (n, j) => (n > 0 ? s.sum[j]! / n : 0));
}

/** Population standard deviations, √(M2/n) as NumPy's default (ddof 0); 0 where a column has no value. */
export function standardDeviations(s: ColumnStats): Float64Array {
  return Float64Array.from(s.count, (n, j) => (n > 0 ? Math.sqrt(s.m2[j]! / n) : 0));
}

/**
 * The transform of `scaling` from summaries: standardise (centre the mean, divide by the standard deviation),
 * min–max (centre the minimum, divide by the range) or none. Only columns with `scaled[j]` are scaled; a
 * column without spread keeps scale 1. Missing values are filled with the column mean either way.
 */
export function transformFrom(
  s: ColumnStats,
  scaling: 'standardise' | 'min-max' | 'none',
  scaled: readonly boolean[],
): ColumnTransform {
  const width = s.count.length;
  const fill = means(s);
  const sd = standardDeviations(s);
  const centre = new Float64Array(width);
  const scale = new Float64Array(width).fill(1);
  for (let j = 0; j < width; j++) {
    if (!scaled[j] || s.count[j] === 0 || scaling === 'none') continue;
    if (scaling === 'standardise') {
      centre[j] = fill[j]!;
      if (sd[j]! > 0) scale[j] = sd[j]!;
    } else {
      centre[j] = s.min[j]!;
      if (s.max[j]! > s.min[j]!) scale[j] = s.max[j]! - s.min[j]!;
    }
  }
  return { centre, scale, fill };
}

/** Applies `t` to rows of `width` columns: NaN becomes the column's fill, then ((x − centre)/scale) in float32. */
export function applyTransform(x: Float64Array, width: number, t: ColumnTransform): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % width;
    const v = Number.isNaN(x[i]!) ? t.fill[j]! : x[i]!;
    out[i] = (v - t.centre[j]!) / t.scale[j]!;
  }
  return out;
}
