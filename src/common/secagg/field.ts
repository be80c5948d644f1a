/**
 * Arithmetic in the prime field GF(p), p = 2^26 − 5 (the largest prime below 2^26), on plain numbers: a
 * product of two elements stays below 2^52, so it is exact in a double and `%` reduces it without BigInt.
 */
export const FIELD_PRIME = 67_108_859;

/** (a + b) mod p for a, b in [0, p). */
export function fieldAdd(a: number, b: number): number {
  const s = a + b;
  return s >= FIELD_PRIME ? s - FIELD_PRIME : s;
}

/** (a − b) mod p for a, b in [0, p). */
export function fieldSub(a: number, b: number): number {
  const d = a - b;
  return d < 0 ? d + FIELD_PRIME : d;
}

/** (a · b) mod p for a, b in [0, p). */
export function fieldMul(a: number, b: number): number {
  return (a * b) % FIELD_PRIME;
}

/** The multiplicative inverse of a non-zero element (extended Euclid). */
export function fieldInv(a: number): number {
  if (a % FIELD_PRIME === 0) throw new RangeError('0 has no inverse in GF(p)');
  let [r0, r1] = [FIELD_PRIME, ((a % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME];
  let [s0, s1] = [0, 1];
  while (r1 !== 0) {
    const q = Math.floor(r0 / r1);
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % FIELD_PRIME) + FIELD_PRIME) % FIELD_PRIME;
}
