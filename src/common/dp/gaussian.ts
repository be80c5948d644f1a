import type { Rng } from '../rng.ts';

const TWO_26 = 2 ** 26;
const TWO_27 = 2 ** 27;
const TWO_53 = 2 ** 53;

/**
 * A uniform double in (0, 1] with 53 random bits, from two draws of a seeded stream (27 and 26 bits).
 * One draw alone has 32 bits, which would cut the normal tails off at 6.7σ; 53 bits reach 8.6σ.
 */
export function uniform53(rng: Rng): number {
  const hi = rng.int(TWO_27);
  const lo = rng.int(TWO_26);
  return (hi * TWO_26 + lo + 1) / TWO_53;
}

/**
 * Fills `out` with independent N(0, σ²) deviates by the Box–Muller transform on {@link uniform53}: each pair
 * of uniforms gives two deviates (the second of the last pair is dropped when the length is odd), so the
 * values depend only on the stream and the length.
 */
export function fillGaussian(out: Float64Array, sigma: number, rng: Rng): Float64Array {
  if (!(sigma >= 0) || !Number.isFinite(sigma))
    throw new RangeError(`σ must be finite and ≥ 0, got ${sigma}`);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform53(rng)));
    const theta = 2 * Math.PI * uniform53(rng);
    out[i] = sigma * r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = sigma * r * Math.sin(theta);
  }
  return out;
}
