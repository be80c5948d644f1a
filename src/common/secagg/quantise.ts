import { PrivacySettingError } from '../privacy-setting-error.ts';
import type { Rng } from '../rng.ts';

/** One named part of a quantised vector, such as the weighted parameters, the weight, a control variate. */
export interface QuantisedPart {
  readonly name: string;
  readonly length: number;
  /** Clipping range r: values are clipped to [−r, r] before they are rounded. */
  readonly range: number;
}

/** How hospitals turn their float vectors into one Uint32Array that secure aggregation sums modulo 2^32. */
export interface QuantisationSpec {
  /** Bits per value b: a value becomes a signed integer in [−(2^(b−1) − 1), 2^(b−1) − 1]. */
  readonly bits: number;
  /** The largest integer weight a hospital may multiply its values by (1 when values come pre-weighted). */
  readonly maxWeight: number;
  readonly parts: readonly QuantisedPart[];
}

/**
 * The grid step Δ = r / (2^(b−1) − 1) of a part with range r at b bits.
 *
 * **Error bound.** A hospital u with integer weight w_u ≤ maxWeight sends, for each value x, w_u · q where q is
 * x clipped to [−r, r], divided by Δ and rounded stochastically to one of the two nearest integers (up with
 * probability equal to the fractional part, from the hospital's seeded stream), so |q·Δ − clip(x)| < Δ and
 * E[q·Δ] = clip(x) up to the stream's 2^−32 resolution. The decoded sum of n hospitals therefore satisfies,
 * for every coordinate,
 *
 *     |decoded − Σ_u w_u · clip(x_u)|  <  Δ · Σ_u w_u  ≤  Δ · n · maxWeight,
 *
 * plus float64 rounding of one product (relative 2^−52), and is unbiased; since the rounding errors are
 * independent, the typical error is nearer Δ·√(Σ w_u²)/2. The sum is exact (no wrap-around) whenever
 * {@link validateQuantisation} accepts: b + ⌈log₂(n · maxWeight)⌉ ≤ 32 keeps |Σ_u w_u · q| below 2^31.
 */
export function quantisationStep(range: number, bits: number): number {
  return range / (2 ** (bits - 1) - 1);
}

/** The bound above for one part: Δ · total weight (pass n · maxWeight for the worst case). */
export function quantisationErrorBound(part: QuantisedPart, bits: number, totalWeight: number): number {
  return quantisationStep(part.range, bits) * totalWeight;
}

/** The number of words of an encoded vector: the parts' lengths added up. */
export function encodedLength(spec: QuantisationSpec): number {
  return spec.parts.reduce((sum, p) => sum + p.length, 0);
}

/** ⌈log₂ x⌉ for a positive integer x, computed exactly. */
function ceilLog2(x: number): number {
  let e = 0;
  while (2 ** e < x) e++;
  return e;
}

/**
 * Refuses a spec whose sum over `hospitals` hospitals could overflow 32 bits (b + ⌈log₂(n · maxWeight)⌉ > 32),
 * or with bits outside [2, 32], a weight that is not a positive integer, or a part without a positive finite
 * range, a positive integer length or a unique name. Fields are named under `path`.
 */
export function validateQuantisation(
  spec: QuantisationSpec,
  hospitals: number,
  path = 'privacy.secureAggregation',
): void {
  if (!Number.isInteger(spec.bits) || spec.bits < 2 || spec.bits > 32) {
    throw new PrivacySettingError(`${path}.bits`, 'an integer in [2, 32]', spec.bits);
  }
  if (!Number.isSafeInteger(spec.maxWeight) || spec.maxWeight < 1) {
    throw new PrivacySettingError(`${path}.maxWeight`, 'an integer ≥ 1', spec.maxWeight);
  }
  if (!Number.isInteger(hospitals) || hospitals < 1) {
    throw new PrivacySettingError('hospitals in a secure-aggregation round', 'an integer ≥ 1', hospitals);
  }
  const headroom = ceilLog2(hospitals * spec.maxWeight);
  if (spec.bits + headroom > 32) {
    throw new PrivacySettingError(
      `${path}.bits`,
      headroom >= 31
        ? `at least 2 with ${path}.maxWeight × hospitals ≤ 2^30 (${path}.maxWeight = ${spec.maxWeight} and ${hospitals} hospitals need ⌈log₂(${hospitals} × ${spec.maxWeight})⌉ = ${headroom} of the 32 bits)`
        : `at most ${32 - headroom} for ${hospitals} hospitals with ${path}.maxWeight = ${spec.maxWeight} (bits + ⌈log₂(hospitals × maxWeight)⌉ ≤ 32, or the sum can overflow)`,
      spec.bits,
    );
  }
  const names = new Set<string>();
  spec.parts.forEach((part, i) => {
    const at = `${path}.parts[${i}]`;
    if (names.has(part.name)) throw new PrivacySettingError(`${at}.name`, 'unique', part.name);
    names.add(part.name);
    if (!Number.isSafeInteger(part.length) || part.length < 1) {
      throw new PrivacySettingError(`${at}.length`, 'an integer ≥ 1', part.length);
    }
    if (!Number.isFinite(part.range) || part.range <= 0) {
      throw new PrivacySettingError(`${at}.range`, 'a finite number > 0', part.range);
    }
  });
}

/** A hospital's encoded vector and how many of its values were clipped. */
export interface Encoded {
  readonly vector: Uint32Array;
  readonly clipped: number;
}

/**
 * Encodes one hospital's parts (in the spec's order, each of its declared length) times an integer weight
 * into one vector modulo 2^32. Draws exactly one uniform per value from `rng`, in order.
 */
export function encode(
  spec: QuantisationSpec,
  parts: readonly ArrayLike<number>[],
  weight: number,
  rng: Rng,
): Encoded {
  if (!Number.isInteger(weight) || weight < 0 || weight > spec.maxWeight) {
    throw new RangeError(`weight must be an integer in [0, ${spec.maxWeight}] (maxWeight), got ${weight}`);
  }
  if (parts.length !== spec.parts.length) {
    throw new RangeError(`expected ${spec.parts.length} parts, got ${parts.length}`);
  }
  const vector = new Uint32Array(encodedLength(spec));
  const top = 2 ** (spec.bits - 1) - 1;
  let clipped = 0;
  let offset = 0;
  spec.parts.forEach((part, p) => {
    const values = parts[p]!;
    if (values.length !== part.length) {
      throw new RangeError(`part ${part.name} must have ${part.length} values, got ${values.length}`);
    }
    const scale = top / part.range;
    for (let i = 0; i < part.length; i++) {
      let x = values[i]!;
      if (!Number.isFinite(x)) throw new RangeError(`part ${part.name}: value ${i} is not finite`);
      if (x > part.range || x < -part.range) {
        clipped++;
        x = x > 0 ? part.range : -part.range;
      }
      const scaled = x * scale;
      const floor = Math.floor(scaled);
      let q = rng.next() < scaled - floor ? floor + 1 : floor;
      if (q > top) q = top;
      else if (q < -top) q = -top;
      vector[offset + i] = q * weight;
    }
    offset += part.length;
  });
  return { vector, clipped };
}

/**
 * Whether a sum of `contributors` honest encodings could be this one: each word of an honest encoding lies in
 * ±(2^(bits−1) − 1) × maxWeight, so their sum lies within `contributors` times that. A word outside it means a
 * hospital sent a masked input or a share that was not what the protocol computes.
 */
export function plausibleSum(spec: QuantisationSpec, sum: Uint32Array, contributors: number): boolean {
  const limit = (2 ** (spec.bits - 1) - 1) * spec.maxWeight * contributors;
  for (let i = 0; i < sum.length; i++) if (Math.abs(sum[i]! | 0) > limit) return false;
  return true;
}

/**
 * Decodes a sum (modulo 2^32) of encodings back to the float sum of each part's weighted values, within
 * the bound stated at {@link quantisationStep}; one Float64Array per part, in the spec's order.
 */
export function decode(spec: QuantisationSpec, sum: Uint32Array): Float64Array[] {
  if (sum.length !== encodedLength(spec)) {
    throw new RangeError(`an encoded sum must have ${encodedLength(spec)} words, got ${sum.length}`);
  }
  let offset = 0;
  return spec.parts.map((part) => {
    const step = quantisationStep(part.range, spec.bits);
    const out = new Float64Array(part.length);
    for (let i = 0; i < part.length; i++) out[i] = (sum[offset + i]! | 0) * step;
    offset += part.length;
    return out;
  });
}
