import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { SecAggRefusal, SecAggRoundFailure, type RefusalReason } from '../../src/common/secagg/errors.ts';
import { SECAGG_MESSAGES, SHARE_BYTES, type UnmaskRequest } from '../../src/common/secagg/messages.ts';
import { plausibleSum } from '../../src/common/secagg/quantise.ts';
import {
  plainSum,
  roundGraph,
  runSecAggRound,
  type DropPoint,
  type SecAggRoundPlan,
} from '../helpers/secagg-round.ts';

const LENGTH = 64;

function inputs(n: number, seed = 1): Uint32Array[] {
  const rng = stream(seed, 'test', 'inputs');
  return Array.from({ length: n }, () => Uint32Array.from({ length: LENGTH }, () => rng.int(2 ** 32)));
}

function digest(run: ReturnType<typeof runSecAggRound>): string {
  const h = createHash('sha256');
  for (const { from, to, message } of run.exchanged) {
    h.update(`${from}>${to}:${message.kind}`);
    for (const v of Object.values(message))
      if (ArrayBuffer.isView(v)) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  h.update(run.result.sum);
  return h.digest('hex');
}

const drops = (entries: [number, DropPoint][]): Map<number, DropPoint> => new Map(entries);

function failure(plan: SecAggRoundPlan): SecAggRoundFailure {
  try {
    runSecAggRound(plan);
  } catch (e) {
    if (e instanceof SecAggRoundFailure) return e;
    throw e;
  }
  throw new Error('the round did not fail');
}

function refusal(plan: SecAggRoundPlan): SecAggRefusal {
  try {
    runSecAggRound(plan);
  } catch (e) {
    if (e instanceof SecAggRefusal) return e;
    throw e;
  }
  throw new Error('no hospital refused');
}

describe('a secure-aggregation round, in process', () => {
  it('gives the exact sum mod 2^32 for 5 to 10 hospitals', () => {
    for (let n = 5; n <= 10; n++) {
      const x = inputs(n, n);
      const run = runSecAggRound({ threshold: Math.floor(n / 2) + 1, inputs: x, seed: n, round: 1 });
      expect(run.result.sum).toEqual(plainSum(x, run.result.survivors));
      expect(Array.from(run.result.survivors)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
  });

  it('is bit-identical on repeat (every message and the sum); another seed changes every key but not the sum', () => {
    const x = inputs(6);
    const plan = { threshold: 4, inputs: x, seed: 11, round: 3, drops: drops([[2, 'after-sharing']]) };
    const a = runSecAggRound(plan);
    expect(digest(runSecAggRound(plan))).toBe(digest(a));
    const b = runSecAggRound({ ...plan, seed: 12 });
    expect(digest(b)).not.toBe(digest(a));
    expect(b.result.sum).toEqual(a.result.sum);
  });

  it('survives n − t dropouts after advertising, after sharing, after masking, and mixed', () => {
    const x = inputs(7);
    const points: DropPoint[] = ['before-advertising', 'after-advertising', 'after-sharing', 'after-masking'];
    for (const point of points) {
      const run = runSecAggRound({
        threshold: 4,
        inputs: x,
        seed: 2,
        round: 1,
        drops: drops([
          [2, point],
          [5, point],
          [7, point],
        ]),
      });
      const inSum = point === 'after-masking' ? [1, 2, 3, 4, 5, 6, 7] : [1, 3, 4, 6];
      expect(Array.from(run.result.survivors)).toEqual(inSum);
      expect(Array.from(run.result.dropouts)).toEqual(point === 'after-sharing' ? [2, 5, 7] : []);
      expect(run.result.sum).toEqual(plainSum(x, inSum));
    }
    const mixed = runSecAggRound({
      threshold: 4,
      inputs: x,
      seed: 2,
      round: 1,
      drops: drops([
        [1, 'after-advertising'],
        [4, 'after-sharing'],
        [6, 'after-masking'],
      ]),
    });
    expect(Array.from(mixed.result.survivors)).toEqual([2, 3, 5, 6, 7]);
    expect(Array.from(mixed.result.dropouts)).toEqual([4]);
    expect(mixed.result.sum).toEqual(plainSum(x, [2, 3, 5, 6, 7]));
  });

  it('fails cleanly with n − t + 1 dropouts, naming the stage, needed and got', () => {
    const x = inputs(7);
    const four = (point: DropPoint) =>
      drops([
        [1, point],
        [2, point],
        [3, point],
        [4, point],
      ]);
    const expected: [DropPoint, string][] = [
      ['before-advertising', 'advertise-keys'],
      ['after-advertising', 'encrypted-shares'],
      ['after-sharing', 'masked-input'],
      ['after-masking', 'unmask-shares'],
    ];
    for (const [point, stage] of expected) {
      const e = failure({ threshold: 4, inputs: x, seed: 3, round: 1, drops: four(point) });
      expect([e.stage, e.reason, e.needed, e.got]).toEqual([stage, 'too-few-hospitals', 4, 3]);
    }
  });

  it('asks for no shares when fewer than 3 masked inputs arrived, though t = 2 of 3 would allow it', () => {
    const e = failure({
      threshold: 2,
      inputs: inputs(3),
      seed: 7,
      round: 1,
      drops: drops([[2, 'after-sharing']]),
    });
    expect([e.stage, e.reason, e.needed, e.got]).toEqual(['masked-input', 'too-small-sum', 3, 2]);
  });

  it("SecAgg+'s sparse graph: a 4-regular graph on 10 hospitals, exact sum with a dropout", () => {
    const x = inputs(10);
    const run = runSecAggRound({
      threshold: 3,
      neighbours: 4,
      inputs: x,
      seed: 4,
      round: 1,
      drops: drops([[6, 'after-sharing']]),
    });
    expect(run.graph.neighbours.every((list) => list.length === 4)).toBe(true);
    run.graph.neighbours.forEach((list, i) => {
      for (const v of list) expect(Array.from(run.graph.neighbours[v - 1]!)).toContain(i + 1);
    });
    expect(run.result.sum).toEqual(plainSum(x, [1, 2, 3, 4, 5, 7, 8, 9, 10]));
    const shares = run.exchanged.filter((e) => e.message.kind === 'secagg/encrypted-shares');
    for (const s of shares)
      expect(s.message.kind === 'secagg/encrypted-shares' && s.message.recipients.length).toBe(4);
    const graph2 = runSecAggRound({ threshold: 3, neighbours: 4, inputs: x, seed: 4, round: 2 }).graph;
    expect(graph2.neighbours).not.toEqual(run.graph.neighbours);
  });
});

describe('a round whose secrets cannot be rebuilt', () => {
  it('SecAgg+: fails naming the hospital whose self-mask seed has fewer than t shares left', () => {
    const graph = roundGraph(10, 10, 1, 4);
    const [a, b] = Array.from(graph.neighbours[0]!);
    const e = failure({
      threshold: 3,
      neighbours: 4,
      inputs: inputs(10),
      seed: 10,
      round: 1,
      drops: drops([
        [1, 'after-masking'],
        [a!, 'after-masking'],
        [b!, 'after-masking'],
      ]),
    });
    expect([e.stage, e.reason, e.hospital, e.needed, e.got]).toEqual([
      'unmask-shares',
      'too-few-shares',
      1,
      3,
      2,
    ]);
  });

  it('fails naming the dropout whose key shares do not rebuild the key it advertised', () => {
    const e = failure({
      threshold: 4,
      inputs: inputs(6),
      seed: 11,
      round: 1,
      drops: drops([[3, 'after-sharing']]),
      tamperUpload: (from, m) =>
        from === 1 && m.kind === 'secagg/unmask-shares'
          ? { ...m, keyShares: new Uint8Array(m.keyShares.length) }
          : m,
    });
    expect([e.stage, e.reason, e.hospital]).toEqual(['unmask-shares', 'inconsistent-shares', 3]);
  });
});

describe('an honest hospital refuses', () => {
  const x = inputs(7);
  const base = { threshold: 4, inputs: x, seed: 5, round: 1, drops: drops([[3, 'after-sharing']]) };
  const reason = (
    tamper: (to: number, r: UnmaskRequest) => UnmaskRequest,
  ): [RefusalReason, number | undefined] => {
    const e = refusal({ ...base, tamperUnmaskRequest: tamper });
    return [e.reason, e.peer];
  };

  it('to reveal both shares of one peer: listed as survivor and dropout', () => {
    const both = (to: number, r: UnmaskRequest): UnmaskRequest =>
      to === 1 ? { ...r, dropouts: Uint32Array.from([...r.dropouts, 5].sort((a, b) => a - b)) } : r;
    expect(reason(both)).toEqual(['reveal-both', 5]);
  });

  it('a second unmask request, whatever it says', () => {
    const run = runSecAggRound(base);
    const h = run.hospitals.get(1)!;
    const second: UnmaskRequest = {
      kind: 'secagg/unmask-request',
      survivors: Uint32Array.from([1, 2, 4, 6, 7]),
      dropouts: Uint32Array.from([3, 5]),
    };
    expect(() => h.unmask(second)).toThrow(expect.objectContaining({ reason: 'already-unmasked' }));
  });

  it('being listed as a dropout after it sent its input, and fewer than t survivors', () => {
    const asDropout = (to: number, r: UnmaskRequest): UnmaskRequest =>
      to === 2
        ? { ...r, survivors: r.survivors.filter((v) => v !== 2), dropouts: Uint32Array.from([2, 3]) }
        : r;
    expect(reason(asDropout)[0]).toBe('listed-as-dropout');
    const few = (to: number, r: UnmaskRequest): UnmaskRequest =>
      to === 1 ? { ...r, survivors: Uint32Array.from([1, 2, 4]) } : r;
    expect(reason(few)[0]).toBe('too-few-survivors');
  });

  it('to reveal for a sum of two, even when t = 2 of 3 shares would rebuild it', () => {
    const two = (to: number, r: UnmaskRequest): UnmaskRequest =>
      to === 1 ? { ...r, survivors: Uint32Array.from([1, 2]), dropouts: Uint32Array.from([3]) } : r;
    const e = refusal({ threshold: 2, inputs: inputs(3), seed: 8, round: 1, tamperUnmaskRequest: two });
    expect([e.hospital, e.reason]).toEqual([1, 'too-few-survivors']);
  });

  it('stages out of order, a malformed request, and shares that fail authentication', () => {
    const run = runSecAggRound({ threshold: 4, inputs: x, seed: 6, round: 1 });
    expect(() => run.hospitals.get(2)!.advertiseKeys()).toThrow(
      expect.objectContaining({ reason: 'out-of-order' }),
    );
    const forged = (from: number, m: Parameters<NonNullable<SecAggRoundPlan['tamperUpload']>>[1]) => {
      if (from !== 4 || m.kind !== 'secagg/encrypted-shares') return m;
      const ciphertexts = m.ciphertexts.slice();
      ciphertexts[0]! ^= 1;
      return { ...m, ciphertexts };
    };
    const e = refusal({ threshold: 4, inputs: x, seed: 6, round: 1, tamperUpload: forged });
    expect([e.reason, e.peer]).toEqual(['bad-ciphertext', 4]);
    expect(() =>
      SECAGG_MESSAGES['secagg/unmask-request'].validate(
        { kind: 'secagg/unmask-request', survivors: [1, 2], dropouts: [] },
        { participants: 7, vectorLength: 1 },
      ),
    ).toThrow(/survivors must be a Uint32Array/);
  });
});

describe('the coordinator', () => {
  it('rejects a malformed masked input, names the hospital and field, and treats it as a dropout', () => {
    const x = inputs(6);
    const run = runSecAggRound({
      threshold: 4,
      inputs: x,
      seed: 7,
      round: 1,
      tamperUpload: (from, m) =>
        from === 3 && m.kind === 'secagg/masked-input' ? { ...m, vector: m.vector.subarray(1) } : m,
    });
    expect(run.rejected.map((r) => [r.from, r.error.field, r.error.expected])).toEqual([
      [3, 'vector', `${LENGTH} words`],
    ]);
    expect(run.rejected[0]!.error.message).toBe(
      `secagg/masked-input from hospital 3: vector must be ${LENGTH} words`,
    );
    expect(Array.from(run.result.dropouts)).toEqual([3]);
    expect(run.result.sum).toEqual(plainSum(x, [1, 2, 4, 5, 6]));
  });

  it('rejects shares addressed to other hospitals than its roster, and reveals that differ from what it asked', () => {
    const x = inputs(6);
    const run = runSecAggRound({
      threshold: 4,
      inputs: x,
      seed: 8,
      round: 1,
      tamperUpload: (from, m) => {
        if (from === 2 && m.kind === 'secagg/encrypted-shares')
          return { ...m, recipients: Uint32Array.from([1, 3, 4, 5, 6].map((v) => (v === 6 ? 2 : v)).sort()) };
        if (from === 5 && m.kind === 'secagg/unmask-shares')
          return { ...m, keyOwners: Uint32Array.from([1]), keyShares: m.selfMaskShares.slice(0, 44) };
        return m;
      },
    });
    expect(run.rejected.map((r) => [r.from, r.error.field])).toEqual([
      [2, 'recipients'],
      [5, 'keyOwners'],
    ]);
    expect(Array.from(run.result.survivors)).toEqual([1, 3, 4, 5, 6]);
    expect(run.result.sum).toEqual(plainSum(x, [1, 3, 4, 5, 6]));
  });
});

describe('the coordinator, at advertising', () => {
  it('rejects a low-order public key and a key another hospital advertised, so no honest hospital has to refuse', () => {
    const x = inputs(7);
    let first: Uint8Array | undefined;
    const run = runSecAggRound({
      threshold: 4,
      inputs: x,
      seed: 9,
      round: 1,
      tamperUpload: (from, m) => {
        if (m.kind !== 'secagg/advertise-keys') return m;
        first ??= m.cipherPublicKey;
        if (from === 2) return { ...m, maskPublicKey: new Uint8Array(32) };
        if (from === 4) return { ...m, cipherPublicKey: first.slice() };
        if (from === 5) return { ...m, maskPublicKey: m.cipherPublicKey.slice() };
        return m;
      },
    });
    expect(run.rejected.map((r) => [r.from, r.error.field, r.error.expected])).toEqual([
      [2, 'maskPublicKey', 'a usable X25519 public key (not a low-order point)'],
      [4, 'cipherPublicKey', 'a key no hospital has advertised'],
      [5, 'maskPublicKey', 'a different key from cipherPublicKey'],
    ]);
    expect(run.result.sum).toEqual(plainSum(x, [1, 3, 6, 7]));
  });
});

describe('a share that rebuilds a wrong self-mask seed', () => {
  it('scrambles the sum, and the coordinator refuses it as no sum honest hospitals can send', () => {
    const p = 67_108_859;
    const inputs = [1, 2, 3].map((u) => Uint32Array.from({ length: 8 }, (_, i) => u * 100 + i));
    const spec = { bits: 16, maxWeight: 1, parts: [{ name: 'update', length: 8, range: 1 }] };
    const run = (tamper: boolean) =>
      runSecAggRound({
        threshold: 2,
        inputs,
        seed: 7,
        round: 1,
        tamperUpload: (from, m) => {
          if (!tamper || from !== 1 || m.kind !== 'secagg/unmask-shares') return m;
          const at = Array.from(m.selfMaskOwners).indexOf(3);
          const shares = m.selfMaskShares.slice();
          const view = new DataView(shares.buffer, at * SHARE_BYTES, SHARE_BYTES);
          // Adds the inverse of this holder's Lagrange weight: the rebuilt seed's first limb moves by one.
          view.setUint32(0, (view.getUint32(0, true) + (p + 1) / 2) % p, true);
          return { ...m, selfMaskShares: shares };
        },
      }).result.sum;
    expect(run(false)).toEqual(plainSum(inputs, [1, 2, 3]));
    expect(plausibleSum(spec, run(false), 3)).toBe(true);
    expect(run(true)).not.toEqual(plainSum(inputs, [1, 2, 3]));
    expect(plausibleSum(spec, run(true), 3)).toBe(false);
  });
});
