import { createCipheriv, createDecipheriv } from 'node:crypto';
import { KEY_BYTES } from './key-agreement.ts';

/** Bytes AES-256-GCM adds to a plaintext: its authentication tag. */
export const TAG_BYTES = 16;
const NONCE_BYTES = 12;

/**
 * The 96-bit GCM nonce of message `counter` from sender to receiver: three big-endian 32-bit words. Each
 * share-encryption key belongs to one session and one direction of one pair (see `deriveKey`) and encrypts
 * one message, so with the sender, receiver and counter in the nonce a nonce is never reused under a key.
 */
export function messageNonce(sender: number, receiver: number, counter: number): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES);
  const view = new DataView(nonce.buffer);
  view.setUint32(0, sender);
  view.setUint32(4, receiver);
  view.setUint32(8, counter);
  return nonce;
}

/** AES-256-GCM encryption: ciphertext followed by the 16-byte tag, which also covers `associatedData`. */
export function seal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array {
  checkSizes(key, nonce);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

/** The plaintext of a sealed message, or undefined when the tag does not verify (forged or altered). */
export function open(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array | undefined {
  checkSizes(key, nonce);
  if (sealed.length < TAG_BYTES) return undefined;
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(associatedData);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    const body = Buffer.concat([
      decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
      decipher.final(),
    ]);
    return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  } catch {
    return undefined;
  }
}

function checkSizes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`an AES-256 key has ${KEY_BYTES} bytes`);
  if (nonce.length !== NONCE_BYTES) throw new RangeError(`a GCM nonce has ${NONCE_BYTES} bytes`);
}
