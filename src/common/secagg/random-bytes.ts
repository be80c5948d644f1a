import type { Rng } from '../rng.ts';

const WORD = 2 ** 32;

/** One uniform 32-bit word from a seeded stream (its draws are multiples of 2^−32, so this is exact). */
export function randomWord(rng: Rng): number {
  return rng.int(WORD);
}

/**
 * `length` uniform bytes from a seeded stream, four per draw. In the simulation every key, seed and share
 * coefficient comes from here so that runs repeat bit for bit; a real deployment draws them from
 * `crypto.randomBytes` instead, or they protect nothing.
 */
export function randomBytes(rng: Rng, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 4) {
    let w = randomWord(rng);
    for (let j = i; j < Math.min(i + 4, length); j++) {
      out[j] = w & 0xff;
      w >>>= 8;
    }
  }
  return out;
}
