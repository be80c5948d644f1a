import { createCipheriv } from 'node:crypto';
import { KEY_BYTES } from './key-agreement.ts';

const CHUNK_WORDS = 16_384;
const ZERO_CHUNK = new Uint8Array(CHUNK_WORDS * 4);
const ZERO_IV = new Uint8Array(16);

/**
 * Adds (sign +1) or subtracts (sign −1), modulo 2^32, the mask that a 32-byte seed expands to: the AES-256-CTR
 * keystream under that key with a zero counter block, read as little-endian 32-bit words (fedmed runs on
 * little-endian machines). Every seed is a fresh key used for this one stream, so the zero IV is safe. Works
 * in 64 KiB chunks, so no mask-sized buffer is allocated.
 */
export function applyMask(target: Uint32Array, seed: Uint8Array, sign: 1 | -1): void {
  if (seed.length !== KEY_BYTES) throw new RangeError(`a mask seed has ${KEY_BYTES} bytes`);
  const cipher = createCipheriv('aes-256-ctr', seed, ZERO_IV);
  for (let start = 0; start < target.length; start += CHUNK_WORDS) {
    const words = Math.min(CHUNK_WORDS, target.length - start);
    const stream = asWords(cipher.update(ZERO_CHUNK.subarray(0, words * 4)), words);
    if (sign === 1)
      for (let i = 0; i < words; i++) target[start + i] = (target[start + i]! + stream[i]!) >>> 0;
    else for (let i = 0; i < words; i++) target[start + i] = (target[start + i]! - stream[i]!) >>> 0;
  }
}

function asWords(bytes: Uint8Array, words: number): Uint32Array {
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, words);
  return new Uint32Array(Uint8Array.from(bytes).buffer, 0, words);
}

/** The mask a seed expands to, as a fresh vector of `length` words. */
export function expandMask(seed: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  applyMask(out, seed, 1);
  return out;
}

/** target += other, element by element, modulo 2^32. */
export function addInto(target: Uint32Array, other: Uint32Array): void {
  if (other.length !== target.length) throw new RangeError('vectors of different lengths');
  for (let i = 0; i < target.length; i++) target[i] = (target[i]! + other[i]!) >>> 0;
}
