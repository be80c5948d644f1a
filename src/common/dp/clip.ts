/** The L2 norm of a vector, summing squares in float64 in index order (the norm every DP check uses). */
export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** A clipped vector, the norm it had and the factor it was multiplied by. */
export interface Clipped {
  readonly clipped: Float32Array;
  readonly norm: number;
  readonly factor: number;
}

const SHRINK = 1 - 2 ** -22;

/**
 * Scales `update` so that its L2 norm is at most `clipNorm`, exactly: after the product is rounded to
 * float32, the norm (as {@link l2Norm} computes it) is re-checked and the factor shrunk by a few float32
 * ulps until it is ≤ `clipNorm`. A vector already within the norm is copied unchanged; `clipNorm` = ∞
 * clips nothing.
 */
export function clipToNorm(update: Float32Array, clipNorm: number): Clipped {
  if (!(clipNorm > 0)) throw new RangeError(`the clipping norm must be > 0, got ${clipNorm}`);
  for (let i = 0; i < update.length; i++) {
    if (!Number.isFinite(update[i]!)) throw new RangeError(`update element ${i} is not finite`);
  }
  const norm = l2Norm(update);
  if (norm <= clipNorm) return { clipped: update.slice(), norm, factor: 1 };
  const clipped = new Float32Array(update.length);
  let factor = clipNorm / norm;
  for (;;) {
    for (let i = 0; i < update.length; i++) clipped[i] = update[i]! * factor;
    if (l2Norm(clipped) <= clipNorm) return { clipped, norm, factor };
    factor *= SHRINK;
  }
}
