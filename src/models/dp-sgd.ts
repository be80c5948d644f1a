import type { Rng } from '../common/rng.ts';

/**
 * DP-SGD's per-step settings (Abadi et al. 2016, "Deep learning with differential privacy"): each minibatch
 * is a Poisson sample of the training examples at rate q, each example's gradient is clipped to L2 norm C, the
 * clipped gradients are summed, N(0, (zC)²) is added to each coordinate, and the sum is divided by the
 * expected minibatch size q·n (a constant, so the noise-to-sensitivity ratio stays z).
 */
export interface DpSgdStep {
  /** C; `Infinity` clips nothing (used to check the step against the plain one). */
  readonly clipNorm: number;
  /** z ≥ 0; 0 adds no noise (not private: for checks only). */
  readonly noiseMultiplier: number;
  /** q in (0, 1]. */
  readonly sampleRate: number;
}

/** Minibatches per epoch at sampling rate q: round(1/q), at least 1. */
export function dpStepsPerEpoch(sampleRate: number): number {
  return Math.max(1, Math.round(1 / sampleRate));
}

/** Optimizer steps of a DP-SGD training call: `epochs` epochs of {@link dpStepsPerEpoch}, at most `maxSteps`. */
export function dpSteps(sampleRate: number, epochs: number, maxSteps = Number.POSITIVE_INFINITY): number {
  return Math.min(epochs * dpStepsPerEpoch(sampleRate), maxSteps);
}

/** Throws unless the settings are in range (C > 0 or ∞, z finite ≥ 0, q in (0, 1]). */
export function checkDpSgdStep(s: DpSgdStep): void {
  if (!(s.clipNorm > 0)) throw new Error(`dpSgd.clipNorm must be > 0, got ${s.clipNorm}`);
  if (!(s.noiseMultiplier >= 0) || !Number.isFinite(s.noiseMultiplier))
    throw new Error(`dpSgd.noiseMultiplier must be a finite number ≥ 0, got ${s.noiseMultiplier}`);
  if (!(s.sampleRate > 0 && s.sampleRate <= 1))
    throw new Error(`dpSgd.sampleRate must be in (0, 1], got ${s.sampleRate}`);
}

/**
 * One Poisson sample: each of `n` example indices independently with probability q, in ascending order. The
 * gaps between chosen indices are drawn instead of one coin per example (a gap of k has probability
 * (1 − q)^k·q, so the sample has exactly the same law), which costs one draw per chosen example, not per
 * example; q = 1 takes every index without drawing. Writes the chosen indices to `out` and returns how many.
 */
export function poissonSample(n: number, q: number, rng: Rng, out: Uint32Array): number {
  if (q >= 1) {
    for (let i = 0; i < n; i++) out[i] = i;
    return n;
  }
  const logMiss = Math.log1p(-q);
  let m = 0;
  for (let i = -1; ;) {
    i += 1 + Math.floor(Math.log1p(-rng.next()) / logMiss);
    if (i >= n) return m;
    out[m++] = i;
  }
}

/** Shrinks a clipping factor by a few float32 ulps so that rounding the scaled gradient cannot exceed C. */
const CLIP_MARGIN = 1 - 2 ** -20;

/**
 * The factor of an example's gradient of L2 norm `norm` (as the step scaled it, by 1/`scale`): 1 when it is
 * within C, else C/(scale·norm) shrunk by {@link CLIP_MARGIN}, so that the float32 gradient the factor
 * produces (each element one or two float32 roundings away, relative error ≤ 2^-23) has norm ≤ C/scale.
 */
export function clipFactor(norm: number, clipNorm: number, scale: number): number {
  const limit = clipNorm / scale;
  return norm <= limit ? 1 : (limit / norm) * CLIP_MARGIN;
}
