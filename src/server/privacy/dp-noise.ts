import { fillGaussian } from '../../common/dp/gaussian.ts';
import type { Rng } from '../../common/rng.ts';

/**
 * The coordinator's half of DP-FedAvg (McMahan et al. 2018): to the sum of the sampled hospitals' clipped,
 * capped-weight updates (each of L2 norm ≤ C, so one hospital changes the sum by at most C) it adds
 * N(0, (zC)²) to every coordinate, from its own stream (e.g. `stream(seed, 'dp-noise', 'round-N')`), and
 * divides by the fixed denominator q·W (see `fixedDenominator`). The noise is added after unmasking: the
 * coordinator sees only the sum, so a hospital's update is hidden from it by secure aggregation and from
 * everyone who sees the model by the noise.
 */
export function noisyMean(
  sum: Float64Array,
  clipNorm: number,
  noiseMultiplier: number,
  denominator: number,
  rng: Rng,
): Float64Array {
  if (!(denominator > 0)) throw new RangeError(`the fixed denominator must be > 0, got ${denominator}`);
  const noise = fillGaussian(new Float64Array(sum.length), noiseMultiplier * clipNorm, rng);
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i]! + noise[i]!) / denominator;
  return out;
}
