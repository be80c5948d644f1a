import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { messageNonce, open, seal } from '../../src/common/secagg/aead.ts';
import { agree, KeyAgreementError, keyPairFromBytes } from '../../src/common/secagg/key-agreement.ts';
import { applyMask, expandMask } from '../../src/common/secagg/mask.ts';
import { randomBytes } from '../../src/common/secagg/random-bytes.ts';
import { pairMaskSeed, pairSign, shareEncryptionKey } from '../../src/common/secagg/session.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('X25519 key agreement', () => {
  it('matches RFC 7748 §6.1 (keys, public keys and shared secret)', () => {
    const alice = keyPairFromBytes(hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = keyPairFromBytes(hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(alice.publicKey)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicKey)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(agree(alice.privateKey, bob.publicKey))).toBe(shared);
    expect(toHex(agree(bob.privateKey, alice.publicKey))).toBe(shared);
  });

  it('refuses a low-order public key and a key of the wrong length', () => {
    const me = keyPairFromBytes(randomBytes(stream(1, 'test'), 32));
    expect(() => agree(me.privateKey, new Uint8Array(32))).toThrow(KeyAgreementError);
    expect(() => agree(me.privateKey, new Uint8Array(31))).toThrow(KeyAgreementError);
  });
});

describe('mask expansion', () => {
  it('is the AES-256-CTR keystream read as little-endian words (FIPS-197 zero-key block)', () => {
    // AES-256 with the all-zero key maps the zero block to dc95c078 a2408989 ad48a214 92842087.
    expect(Array.from(expandMask(new Uint8Array(32), 4))).toEqual([
      0x78c095dc, 0x898940a2, 0x14a248ad, 0x87208492,
    ]);
  });

  it('gives the same words whether expanded at once or added in chunks, and differs per seed', () => {
    const seed = randomBytes(stream(2, 'test'), 32);
    const long = expandMask(seed, 40_000);
    const added = new Uint32Array(40_000).fill(5);
    applyMask(added, seed, 1);
    expect(added.every((x, i) => x === (long[i]! + 5) >>> 0)).toBe(true);
    applyMask(added, seed, -1);
    expect(added.every((x) => x === 5)).toBe(true);
    expect(expandMask(randomBytes(stream(3, 'test'), 32), 4)).not.toEqual(long.subarray(0, 4));
  });

  it('pairwise masks cancel: u adds +PRG(s_uv), v adds −PRG(s_vu), and both derive the same seed', () => {
    const u = keyPairFromBytes(randomBytes(stream(4, 'test', 'u'), 32));
    const v = keyPairFromBytes(randomBytes(stream(4, 'test', 'v'), 32));
    const seedU = pairMaskSeed(agree(u.privateKey, v.publicKey), 'seed-4/round-1', 3, 7);
    const seedV = pairMaskSeed(agree(v.privateKey, u.publicKey), 'seed-4/round-1', 7, 3);
    expect(seedU).toEqual(seedV);
    expect(pairSign(3, 7)).toBe(-pairSign(7, 3));
    const total = new Uint32Array(1000);
    applyMask(total, seedU, pairSign(3, 7));
    expect(total.some((x) => x !== 0)).toBe(true);
    applyMask(total, seedV, pairSign(7, 3));
    expect(total.every((x) => x === 0)).toBe(true);
    const otherRound = pairMaskSeed(agree(u.privateKey, v.publicKey), 'seed-4/round-2', 3, 7);
    expect(otherRound).not.toEqual(seedU);
  });
});

describe('share encryption (AES-256-GCM)', () => {
  const u = keyPairFromBytes(randomBytes(stream(5, 'test', 'u'), 32));
  const v = keyPairFromBytes(randomBytes(stream(5, 'test', 'v'), 32));
  const aad = new TextEncoder().encode('seed-5/round-1');
  const key = shareEncryptionKey(agree(u.privateKey, v.publicKey), 'seed-5/round-1', 1, 2);

  it('round-trips and is deterministic; each direction has its own key and nonce', () => {
    const plaintext = randomBytes(stream(5, 'test', 'p'), 96);
    const sealed = seal(key, messageNonce(1, 2, 0), plaintext, aad);
    expect(sealed.length).toBe(96 + 16);
    expect(seal(key, messageNonce(1, 2, 0), plaintext, aad)).toEqual(sealed);
    expect(
      open(
        shareEncryptionKey(agree(v.privateKey, u.publicKey), 'seed-5/round-1', 1, 2),
        messageNonce(1, 2, 0),
        sealed,
        aad,
      ),
    ).toEqual(plaintext);
    expect(shareEncryptionKey(agree(v.privateKey, u.publicKey), 'seed-5/round-1', 2, 1)).not.toEqual(key);
    expect(messageNonce(1, 2, 0)).not.toEqual(messageNonce(2, 1, 0));
  });

  it('rejects an altered ciphertext, tag, nonce or associated data', () => {
    const plaintext = randomBytes(stream(5, 'test', 'q'), 96);
    const sealed = seal(key, messageNonce(1, 2, 0), plaintext, aad);
    for (const at of [0, 50, sealed.length - 1]) {
      const bad = sealed.slice();
      bad[at]! ^= 1;
      expect(open(key, messageNonce(1, 2, 0), bad, aad)).toBeUndefined();
    }
    expect(open(key, messageNonce(1, 2, 1), sealed, aad)).toBeUndefined();
    expect(
      open(key, messageNonce(1, 2, 0), sealed, new TextEncoder().encode('seed-5/round-2')),
    ).toBeUndefined();
    expect(open(key, messageNonce(1, 2, 0), sealed.subarray(0, 10), aad)).toBeUndefined();
  });
});
