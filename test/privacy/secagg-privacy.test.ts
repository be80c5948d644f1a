import { describe, expect, it } from 'vitest';
import { agree, keyPairFromBytes } from '../../src/common/secagg/key-agreement.ts';
import { applyMask } from '../../src/common/secagg/mask.ts';
import { pairMaskSeed, pairSign } from '../../src/common/secagg/session.ts';
import { plainSum, runSecAggRound, type SecAggRoundRun } from '../helpers/secagg-round.ts';

const N = 6;
const LENGTH = 2048;
const SESSION = 'seed-9/round-1';
// Pearson r between unrelated vectors of this length is about N(0, 1/√LENGTH); 5/√LENGTH ≈ 0.11.
const CHANCE = 5 / Math.sqrt(LENGTH);

/** Hospital u's distinctive update: its own frequency and phase, with a spike train only it has. */
function planted(u: number): Uint32Array {
  const v = new Int32Array(LENGTH);
  for (let i = 0; i < LENGTH; i++) {
    v[i] = Math.round(
      2 ** 20 * Math.sin((2 * Math.PI * (u + 2) * i) / LENGTH + u) + (i % (7 + u) === 0 ? 2 ** 19 : 0),
    );
  }
  return new Uint32Array(v.buffer);
}

function correlation(a: Uint32Array, b: Uint32Array): number {
  const x = new Int32Array(a.buffer, a.byteOffset, a.length);
  const y = new Int32Array(b.buffer, b.byteOffset, b.length);
  let mx = 0;
  let my = 0;
  for (let i = 0; i < x.length; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= x.length;
  my /= y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

/**
 * Every vector the coordinator holds or can compute from what it holds: each masked input, and each with
 * every mask the coordinator can rebuild removed (the survivor's self mask from its rebuilt seed, the
 * pairwise masks with dropouts from their rebuilt keys).
 */
function coordinatorView(run: SecAggRoundRun): { vectors: Uint32Array[]; other: Uint8Array[] } {
  const held = run.coordinator.held();
  const vectors: Uint32Array[] = [];
  const other: Uint8Array[] = [];
  const advertised = new Map<number, Uint8Array>();
  for (const { from, message } of held.received) {
    if (message.kind === 'secagg/advertise-keys') advertised.set(from, message.maskPublicKey);
  }
  for (const { from, message } of held.received) {
    for (const [field, value] of Object.entries(message)) {
      if (!ArrayBuffer.isView(value)) continue;
      if (message.kind === 'secagg/masked-input' && field === 'vector') continue;
      other.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (message.kind !== 'secagg/masked-input') continue;
    vectors.push(message.vector);
    const unmasked = message.vector.slice();
    const seed = held.selfMaskSeeds.get(from);
    if (seed !== undefined) applyMask(unmasked, seed, -1);
    vectors.push(unmasked.slice());
    for (const [v, privateBytes] of held.maskPrivateKeys) {
      const key = keyPairFromBytes(privateBytes).privateKey;
      applyMask(
        unmasked,
        pairMaskSeed(agree(key, advertised.get(from)!), SESSION, from, v),
        pairSign(from, v) === 1 ? -1 : 1,
      );
    }
    vectors.push(unmasked);
  }
  for (const e of run.exchanged) {
    if (e.from !== 'coordinator') continue;
    for (const value of Object.values(e.message)) {
      if (ArrayBuffer.isView(value))
        other.push(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
  }
  for (const seed of [...held.selfMaskSeeds.values(), ...held.maskPrivateKeys.values()]) other.push(seed);
  return { vectors, other };
}

/** The privacy claim: nothing the coordinator holds correlates with any single update beyond chance. */
function assertNoUpdateRecoverable(run: SecAggRoundRun, updates: readonly Uint32Array[]): void {
  const { vectors, other } = coordinatorView(run);
  expect(vectors.length).toBeGreaterThan(0);
  for (const held of vectors) {
    for (const x of updates) expect(Math.abs(correlation(held, x))).toBeLessThan(CHANCE);
  }
  // Everything else it holds (keys, ciphertexts of shares, shares, index lists) is far too short to carry one.
  for (const bytes of other) expect(bytes.byteLength).toBeLessThan((LENGTH * 4) / 8);
}

describe('what the coordinator learns in a secure-aggregation round', () => {
  const updates = Array.from({ length: N }, (_, u) => planted(u + 1));
  const plan = {
    threshold: 4,
    inputs: updates,
    seed: 9,
    round: 1,
    drops: new Map([[6, 'after-sharing' as const]]),
  };

  it('the planted updates are distinctive: each correlates with itself only', () => {
    for (let u = 0; u < N; u++) {
      for (let v = 0; v < N; v++) {
        const r = correlation(updates[u]!, updates[v]!);
        if (u === v) expect(r).toBeCloseTo(1, 12);
        else expect(Math.abs(r)).toBeLessThan(CHANCE);
      }
    }
  });

  it('holds nothing that correlates with any single update beyond chance, yet the sum is exact', () => {
    const run = runSecAggRound(plan);
    const held = run.coordinator.held();
    expect([...held.maskPrivateKeys.keys()]).toEqual([6]);
    expect([...held.selfMaskSeeds.keys()]).toEqual([1, 2, 3, 4, 5]);
    assertNoUpdateRecoverable(run, updates);
    expect(run.result.sum).toEqual(plainSum(updates, [1, 2, 3, 4, 5]));
    for (let u = 0; u < 5; u++) expect(correlation(run.result.sum, updates[u]!)).toBeGreaterThan(0.3);
  });

  it('fails when the masks are turned off: the same check then finds every update', () => {
    const run = runSecAggRound({ ...plan, testOnlyDisableMasks: true });
    expect(run.result.sum).toEqual(plainSum(updates, [1, 2, 3, 4, 5]));
    expect(() => assertNoUpdateRecoverable(run, updates)).toThrow();
    const { vectors } = coordinatorView(run);
    for (let u = 0; u < 5; u++) {
      expect(Math.max(...vectors.map((v) => correlation(v, updates[u]!)))).toBeCloseTo(1, 12);
    }
  });
});

/** alea's multiplier and word: a lag-3 multiply-with-carry generator (seedrandom's `alea`). */
const ALEA_A = 2091639n;
const WORD = 2n ** 32n;

/**
 * The `back` words an alea generator drew just before `words` (4 or more of its consecutive raw outputs):
 * four outputs give its whole state, and it runs backwards.
 */
function drawnBefore(words: readonly number[], back: number): number[] {
  const o = words.map(BigInt);
  let carry = (o[3]! - ALEA_A * o[0]!) % WORD;
  if (carry < 0n) carry += WORD;
  let state = [o[0]!, o[1]!, o[2]!];
  const out: bigint[] = [];
  for (let i = 0; i < back; i++) {
    const x = carry * WORD + state[2]!;
    const previous = x / ALEA_A;
    carry = x % ALEA_A;
    state = [previous, state[0]!, state[1]!];
    out.unshift(previous);
  }
  return out.map(Number);
}

const wordsOf = (b: Uint8Array) =>
  Array.from({ length: b.length / 4 }, (_, i) => new DataView(b.buffer, b.byteOffset).getUint32(4 * i, true));
const bytesOf = (words: readonly number[]) => {
  const b = new Uint8Array(words.length * 4);
  words.forEach((w, i) => new DataView(b.buffer).setUint32(4 * i, w, true));
  return b;
};

describe("a survivor's self-mask seed, which the coordinator rebuilds", () => {
  it('does not give its mask key: its secrets are derived apart, not drawn in turn from one generator', () => {
    const updates = Array.from({ length: 4 }, (_, u) => planted(u + 1));
    const run = runSecAggRound({ threshold: 3, inputs: updates, seed: 9, round: 1 });
    const held = run.coordinator.held();
    const advertised = new Map<number, Uint8Array>();
    for (const { from, message } of held.received)
      if (message.kind === 'secagg/advertise-keys') advertised.set(from, message.maskPublicKey);
    expect(held.selfMaskSeeds.size).toBe(4);
    for (const [u, seed] of held.selfMaskSeeds) {
      // Drawn in turn, the 8 words before the self-mask seed were the mask private key.
      const guess = keyPairFromBytes(bytesOf(drawnBefore(wordsOf(seed), 8)));
      expect(Buffer.from(guess.publicKey).equals(Buffer.from(advertised.get(u)!))).toBe(false);
    }
    expect(run.result.sum).toEqual(plainSum(updates, [1, 2, 3, 4]));
  });
});
