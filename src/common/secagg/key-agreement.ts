import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, type KeyObject } from 'node:crypto';

/** Bytes of an X25519 private key, public key and agreed secret, and of every key derived from them. */
export const KEY_BYTES = 32;

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/** An X25519 key pair: the 32 private bytes it was made from, node's key object for them, the raw public key. */
export interface KeyPair {
  readonly privateBytes: Uint8Array;
  readonly privateKey: KeyObject;
  readonly publicKey: Uint8Array;
}

/** A peer's public key that cannot be used for key agreement (for example a low-order point). */
export class KeyAgreementError extends Error {
  override readonly name = 'KeyAgreementError';
}

/**
 * The X25519 key pair whose private key is these 32 bytes (node clamps them as RFC 7748 says). The bytes
 * come from a seeded stream in the simulation, so keys repeat run to run; a real deployment must draw them
 * from `crypto.randomBytes`.
 */
export function keyPairFromBytes(privateBytes: Uint8Array): KeyPair {
  if (privateBytes.length !== KEY_BYTES) throw new RangeError(`an X25519 private key has ${KEY_BYTES} bytes`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, privateBytes]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return {
    privateBytes: Uint8Array.from(privateBytes),
    privateKey,
    publicKey: new Uint8Array(spki.subarray(spki.length - KEY_BYTES)),
  };
}

/** The X25519 shared secret of our private key and a peer's raw public key; refuses keys that yield zero. */
export function agree(privateKey: KeyObject, peerPublicKey: Uint8Array): Uint8Array {
  if (peerPublicKey.length !== KEY_BYTES) throw new KeyAgreementError(`a public key has ${KEY_BYTES} bytes`);
  try {
    const publicKey = createPublicKey({
      key: Buffer.concat([SPKI_X25519_PREFIX, peerPublicKey]),
      format: 'der',
      type: 'spki',
    });
    return new Uint8Array(diffieHellman({ privateKey, publicKey }));
  } catch {
    throw new KeyAgreementError('the public key gives no usable shared secret');
  }
}

const PROBE = keyPairFromBytes(new Uint8Array(KEY_BYTES).fill(7));

/**
 * Whether a raw public key can be used for key agreement. Node clamps every private key to a multiple of
 * the curve's cofactor, so a low-order point gives the all-zero secret (which node refuses) with any
 * private key: probing with one fixed, public key finds every such point.
 */
export function isUsablePublicKey(publicKey: Uint8Array): boolean {
  try {
    agree(PROBE.privateKey, publicKey);
    return true;
  } catch {
    return false;
  }
}

/** What a derived key is for: the label keeps keys for different uses apart even from one shared secret. */
export type KeyPurpose = 'pair-mask' | 'share-encryption';

/** HKDF-SHA256 of a shared secret into a 32-byte key for one purpose and context (session, pair, direction). */
export function deriveKey(sharedSecret: Uint8Array, purpose: KeyPurpose, context: string): Uint8Array {
  return new Uint8Array(
    hkdfSync('sha256', sharedSecret, 'fedmed-secagg-v1', `${purpose}|${context}`, KEY_BYTES),
  );
}
