import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { FIELD_PRIME, fieldInv, fieldMul } from '../../src/common/secagg/field.ts';
import { randomBytes } from '../../src/common/secagg/random-bytes.ts';
import {
  reconstructSecret,
  ShamirError,
  shareByteLength,
  shareSecret,
  type Share,
} from '../../src/common/secagg/shamir.ts';

const secret = (seed: number, length = 32): Uint8Array => randomBytes(stream(seed, 'test', 'secret'), length);
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** Every k-element subset of xs. */
function subsets<T>(xs: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (xs.length < k) return [];
  const [head, ...rest] = xs;
  return [...subsets(rest, k - 1).map((s) => [head!, ...s]), ...subsets(rest, k)];
}

function problem(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ShamirError) return e.problem;
    throw e;
  }
  return undefined;
}

describe('the field GF(2^26 − 5)', () => {
  it('has a prime modulus whose squares stay exact in a double', () => {
    let prime = true;
    for (let d = 2; d * d <= FIELD_PRIME; d++) if (FIELD_PRIME % d === 0) prime = false;
    expect(prime).toBe(true);
    expect(FIELD_PRIME).toBe(2 ** 26 - 5);
    expect((FIELD_PRIME - 1) ** 2).toBeLessThan(2 ** 53);
  });

  it('inverts every element it is asked to', () => {
    for (const a of [1, 2, 3, 12345, FIELD_PRIME - 1, 2 ** 25]) expect(fieldMul(a, fieldInv(a))).toBe(1);
  });
});

describe('Shamir secret sharing', () => {
  it('rebuilds a secret from every t-subset of 6 shares, for t = 1…6', () => {
    const s = secret(1);
    for (let t = 1; t <= 6; t++) {
      const shares = shareSecret(s, range(1, 6), t, stream(1, 'test', 'poly', t));
      expect(shares.every((sh) => sh.value.length === shareByteLength(32))).toBe(true);
      for (const subset of subsets(shares, t)) expect(reconstructSecret(subset, t, 32)).toEqual(s);
    }
  });

  it('works for secrets of any length and holders with arbitrary indices', () => {
    for (const length of [1, 2, 3, 4, 31, 33, 100]) {
      const s = secret(length, length);
      const shares = shareSecret(s, [3, 17, 200, 9999, 1_000_000], 3, stream(2, 'test', length));
      expect(reconstructSecret([shares[4]!, shares[0]!, shares[2]!], 3, length)).toEqual(s);
    }
  });

  it('t − 1 shares fit every secret: a t-th share moved by d moves the secret by d', () => {
    // With holders 1, 2, 3 and t = 3, the polynomial d·(x − 1)(x − 2)/2 is 0 at x = 1, 2 and d at x = 0 and 3.
    const s = secret(3);
    const other = secret(33);
    const shares = shareSecret(s, [1, 2, 3], 3, stream(3, 'test', 'poly'));
    const forged = shares[2]!.value.slice();
    const view = new DataView(forged.buffer);
    for (let l = 0; l < 11; l++) {
      const limb = (x: Uint8Array): number =>
        x[3 * l]! + 256 * (x[3 * l + 1] ?? 0) + 65536 * (x[3 * l + 2] ?? 0);
      const d = (limb(other) - limb(s) + FIELD_PRIME) % FIELD_PRIME;
      view.setUint32(4 * l, (view.getUint32(4 * l, true) + d) % FIELD_PRIME, true);
    }
    expect(reconstructSecret([shares[0]!, shares[1]!, { index: 3, value: forged }], 3, 32)).toEqual(other);
  });

  it('is deterministic per stream and differs between streams', () => {
    const a = shareSecret(secret(4), range(1, 4), 2, stream(4, 'test', 'a'));
    const b = shareSecret(secret(4), range(1, 4), 2, stream(4, 'test', 'a'));
    const c = shareSecret(secret(4), range(1, 4), 2, stream(4, 'test', 'c'));
    expect(a).toEqual(b);
    expect(a[0]!.value).not.toEqual(c[0]!.value);
  });

  it('refuses fewer than t shares, repeated or out-of-range indices, malformed and inconsistent shares', () => {
    const s = secret(5);
    const shares = shareSecret(s, range(1, 5), 3, stream(5, 'test', 'poly'));
    expect(problem(() => reconstructSecret(shares.slice(0, 2), 3, 32))).toBe('too-few-shares');
    expect(problem(() => reconstructSecret([shares[0]!, shares[0]!, shares[1]!], 3, 32))).toBe(
      'duplicate-index',
    );
    const moved = (sh: Share, index: number): Share => ({ index, value: sh.value });
    expect(problem(() => reconstructSecret([moved(shares[0]!, 0), shares[1]!, shares[2]!], 3, 32))).toBe(
      'index-out-of-range',
    );
    expect(problem(() => reconstructSecret([moved(shares[0]!, 1.5), shares[1]!, shares[2]!], 3, 32))).toBe(
      'index-out-of-range',
    );
    expect(problem(() => shareSecret(s, [1, 2, FIELD_PRIME], 2, stream(5, 'x')))).toBe('index-out-of-range');
    expect(problem(() => shareSecret(s, [1, 2, 2], 2, stream(5, 'x')))).toBe('duplicate-index');
    expect(problem(() => shareSecret(s, [1, 2, 3], 4, stream(5, 'x')))).toBe('bad-threshold');
    expect(problem(() => shareSecret(s, [1, 2, 3], 0, stream(5, 'x')))).toBe('bad-threshold');
    const short = { index: 1, value: shares[0]!.value.subarray(4) };
    expect(problem(() => reconstructSecret([short, shares[1]!, shares[2]!], 3, 32))).toBe('malformed-share');
    const huge = shares[0]!.value.slice();
    new DataView(huge.buffer).setUint32(0, FIELD_PRIME, true);
    expect(problem(() => reconstructSecret([{ index: 1, value: huge }, shares[1]!, shares[2]!], 3, 32))).toBe(
      'malformed-share',
    );
    const corrupted = new Uint8Array(shareByteLength(32));
    const noise = randomBytes(stream(5, 'test', 'noise'), corrupted.length);
    for (let l = 0; l < corrupted.length; l += 4) {
      new DataView(corrupted.buffer).setUint32(
        l,
        new DataView(noise.buffer).getUint32(l, true) % FIELD_PRIME,
        true,
      );
    }
    expect(
      problem(() => reconstructSecret([{ index: 1, value: corrupted }, shares[1]!, shares[2]!], 3, 32)),
    ).toBe('inconsistent-shares');
  });
});
