import type { Rng } from '../rng.ts';
import { FIELD_PRIME, fieldAdd, fieldInv, fieldMul, fieldSub } from './field.ts';
import { randomWord } from './random-bytes.ts';

/**
 * Shamir's t-out-of-n secret sharing over GF(2^26 − 5). A secret of any byte length is cut into limbs of
 * three bytes (each below 2^24 < p) and every limb is shared with its own random polynomial of degree t − 1
 * whose constant term is the limb; share i holds each polynomial's value at x = i. Any t shares give the
 * secret by Lagrange interpolation at 0; fewer than t are uniformly distributed whatever the secret.
 */
const LIMB_BYTES = 3;
const WORD_BYTES = 4;
const COEFFICIENT_MASK = 2 ** 26 - 1;

/** One holder's share: its index (the x at which the polynomials were evaluated) and the limbs' values. */
export interface Share {
  readonly index: number;
  /** Each limb's value, a uint32 below p, little-endian: {@link shareByteLength} bytes. */
  readonly value: Uint8Array;
}

/** Why shares could not be made or combined; carries the offending index, never a share's value. */
export type ShamirProblem =
  | 'duplicate-index'
  | 'index-out-of-range'
  | 'too-few-shares'
  | 'bad-threshold'
  | 'malformed-share'
  | 'inconsistent-shares';

/** Shares that cannot be made or combined. */
export class ShamirError extends Error {
  override readonly name = 'ShamirError';
  constructor(
    readonly problem: ShamirProblem,
    detail: string,
    readonly index?: number,
  ) {
    super(`Shamir secret sharing: ${detail}`);
  }
}

/** Number of field elements a secret of `secretLength` bytes occupies. */
export function limbCount(secretLength: number): number {
  return Math.ceil(secretLength / LIMB_BYTES);
}

/** Bytes of one share of a secret of `secretLength` bytes. */
export function shareByteLength(secretLength: number): number {
  return limbCount(secretLength) * WORD_BYTES;
}

/**
 * Shares `secret` among the holders `indices` (distinct integers in [1, p − 1]) so that any `threshold` of
 * them can rebuild it. The polynomials' coefficients are drawn from `rng`, limb by limb, coefficient by
 * coefficient, so the same stream gives the same shares.
 */
export function shareSecret(
  secret: Uint8Array,
  indices: readonly number[],
  threshold: number,
  rng: Rng,
): Share[] {
  checkIndices(indices);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > indices.length) {
    throw new ShamirError(
      'bad-threshold',
      `threshold must be an integer in [1, ${indices.length}] (the number of holders), got ${threshold}`,
    );
  }
  const limbs = readLimbs(secret);
  const values = indices.map(() => new Uint8Array(limbs.length * WORD_BYTES));
  const views = values.map((v) => new DataView(v.buffer));
  const coefficients = new Array<number>(threshold);
  for (let l = 0; l < limbs.length; l++) {
    coefficients[0] = limbs[l]!;
    for (let c = 1; c < threshold; c++) coefficients[c] = randomElement(rng);
    for (let h = 0; h < indices.length; h++) {
      const x = indices[h]!;
      let y = 0;
      for (let c = threshold - 1; c >= 0; c--) y = fieldAdd(fieldMul(y, x), coefficients[c]!);
      views[h]!.setUint32(l * WORD_BYTES, y, true);
    }
  }
  return indices.map((index, h) => ({ index, value: values[h]! }));
}

/**
 * Rebuilds a secret of `secretLength` bytes from the first `threshold` of `shares`. Refuses fewer shares,
 * repeated or out-of-range indices, values of the wrong length or not below p, and shares whose limbs do
 * not interpolate to a secret of this length (which a corrupted share almost always produces).
 */
export function reconstructSecret(
  shares: readonly Share[],
  threshold: number,
  secretLength: number,
): Uint8Array {
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new ShamirError('bad-threshold', `threshold must be a positive integer, got ${threshold}`);
  }
  if (shares.length < threshold) {
    throw new ShamirError('too-few-shares', `${shares.length} shares given, ${threshold} needed`);
  }
  const used = shares.slice(0, threshold);
  checkIndices(used.map((s) => s.index));
  const limbs = limbCount(secretLength);
  const views = used.map((s) => {
    if (s.value.length !== limbs * WORD_BYTES) {
      throw new ShamirError(
        'malformed-share',
        `share ${s.index} has ${s.value.length} bytes, expected ${limbs * WORD_BYTES}`,
        s.index,
      );
    }
    return new DataView(s.value.buffer, s.value.byteOffset, s.value.byteLength);
  });
  const lambdas = lagrangeAtZero(used.map((s) => s.index));
  const secret = new Uint8Array(secretLength);
  for (let l = 0; l < limbs; l++) {
    let limb = 0;
    for (let i = 0; i < used.length; i++) {
      const y = views[i]!.getUint32(l * WORD_BYTES, true);
      if (y >= FIELD_PRIME) {
        throw new ShamirError(
          'malformed-share',
          `share ${used[i]!.index} holds a value not below p`,
          used[i]!.index,
        );
      }
      limb = fieldAdd(limb, fieldMul(lambdas[i]!, y));
    }
    const bytes = Math.min(LIMB_BYTES, secretLength - l * LIMB_BYTES);
    if (limb >= 2 ** (8 * bytes)) {
      throw new ShamirError('inconsistent-shares', `the shares do not encode a ${secretLength}-byte secret`);
    }
    for (let b = 0; b < bytes; b++) secret[l * LIMB_BYTES + b] = (limb >>> (8 * b)) & 0xff;
  }
  return secret;
}

function readLimbs(secret: Uint8Array): number[] {
  const limbs: number[] = [];
  for (let i = 0; i < secret.length; i += LIMB_BYTES) {
    let limb = 0;
    for (let b = Math.min(LIMB_BYTES, secret.length - i) - 1; b >= 0; b--) limb = limb * 256 + secret[i + b]!;
    limbs.push(limb);
  }
  return limbs;
}

/** A uniform element of GF(p): 26 random bits, redrawn in the rare case (5 in 2^26) they are ≥ p. */
function randomElement(rng: Rng): number {
  for (;;) {
    const x = randomWord(rng) & COEFFICIENT_MASK;
    if (x < FIELD_PRIME) return x;
  }
}

function checkIndices(indices: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of indices) {
    if (!Number.isInteger(x) || x < 1 || x >= FIELD_PRIME) {
      throw new ShamirError(
        'index-out-of-range',
        `index ${x} is not an integer in [1, ${FIELD_PRIME - 1}]`,
        x,
      );
    }
    if (seen.has(x)) throw new ShamirError('duplicate-index', `index ${x} appears twice`, x);
    seen.add(x);
  }
}

/** λ_i = Π_{m≠i} x_m / (x_m − x_i): the weights that evaluate the interpolating polynomial at 0. */
function lagrangeAtZero(xs: readonly number[]): number[] {
  return xs.map((xi, i) => {
    let num = 1;
    let den = 1;
    for (let m = 0; m < xs.length; m++) {
      if (m === i) continue;
      num = fieldMul(num, xs[m]!);
      den = fieldMul(den, fieldSub(xs[m]!, xi));
    }
    return fieldMul(num, fieldInv(den));
  });
}
