import { deriveKey } from './key-agreement.ts';

/**
 * The context strings that bind every derived key and ciphertext to one round (`session`, such as
 * `seed-7/round-3`) and one pair or direction, shared by both sides of the protocol.
 */

/** The seed of the pairwise mask between hospitals u and v (the same from either side). */
export function pairMaskSeed(agreedSecret: Uint8Array, session: string, u: number, v: number): Uint8Array {
  return deriveKey(agreedSecret, 'pair-mask', `${session}|${Math.min(u, v)}-${Math.max(u, v)}`);
}

/** The key that encrypts the shares `sender` sends `receiver` (one key per direction). */
export function shareEncryptionKey(
  agreedSecret: Uint8Array,
  session: string,
  sender: number,
  receiver: number,
): Uint8Array {
  return deriveKey(agreedSecret, 'share-encryption', `${session}|${sender}>${receiver}`);
}

/** The sign with which u adds its mask with v: +1 if u < v, −1 otherwise, so each pair's masks cancel. */
export function pairSign(u: number, v: number): 1 | -1 {
  return u < v ? 1 : -1;
}
