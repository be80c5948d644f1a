import { afterEach, describe, expect, it } from 'vitest';
import { stream, type Rng } from '../../src/common/rng.ts';
import { encodeEnvelope } from '../../src/protocol/envelope.ts';
import { admit, fitReplyOf, type ReplyContract } from '../../src/server/boundary.ts';
import { FedAvg, foldsAdmittedCopies, weightedAverage } from '../../src/server/strategies/fedavg.ts';
import type { FitResult } from '../../src/server/strategies/strategy.ts';
import { FOLD_WINDOW, meanOfAll, StreamingMean } from '../../src/server/streaming-mean.ts';
import {
  admitParameters,
  createUpdateArena,
  firstNonFiniteJs,
  updateArena,
  useUpdateArena,
  type UpdateArena,
} from '../../src/server/update-arena.ts';

const FEDAVG_OPTIONS = { fractionFit: 1, fractionEvaluate: 1, minClients: 1, training: {} as never };

/** A fit reply's contract for vectors of `length`. */
function fitContract(length: number): ReplyContract {
  return {
    hospital: 'kr-seoul-1',
    kind: 'fit-reply',
    sizes: { parameters: length, histogramBins: 0 },
    vectors: ['parameters'],
    counts: { numExamples: { min: 1, max: 1000 } },
  };
}

function arena(): UpdateArena {
  const a = createUpdateArena();
  if (a === null) throw new Error('WebAssembly is unavailable');
  return a;
}

/** Float32 values that make a fold's order and rounding show: subnormals, ±0, the extremes, wide exponents. */
function adversarial(rng: Rng, length: number): Float32Array {
  const special = [0, -0, 1e-45, -1e-45, 1.1754942e-38, -3e-39, 3.4028235e38, -3.4028235e38, 1, -1];
  return Float32Array.from({ length }, () =>
    rng.int(4) === 0 ? special[rng.int(special.length)]! : rng.normal() * 10 ** (rng.int(75) - 38),
  );
}

const F32_MAX = 3.4028235e38;
const clamp = (x: number) => Math.max(-F32_MAX, Math.min(F32_MAX, x));

/**
 * Makes the last two updates (weight 1) cancel the Float64 sum of the others down to its rounding error (see
 * streaming-mean.test.ts), so that any other order or grouping shows in the float32 mean.
 */
function cancelTail(items: { vector: Float32Array; weight: number }[]): void {
  const head = items.slice(0, -2);
  const [first, second] = items.slice(-2);
  first!.weight = 1;
  second!.weight = 1;
  for (let i = 0; i < first!.vector.length; i++) {
    let sum = 0;
    for (const { vector, weight } of head) sum += weight * vector[i]!;
    first!.vector[i] = clamp(-sum);
    second!.vector[i] = clamp(-(sum + first!.vector[i]!));
  }
}

const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
/** Whether two float32 vectors hold the same bits (a byte comparison: vitest's deep equality is slow on long arrays). */
const same = (a: Float32Array, b: Float32Array) => bits(a).equals(bits(b));

afterEach(() => useUpdateArena(undefined));

describe('UpdateArena', () => {
  it('folds admitted copies to the bits of the JavaScript fold on adversarial values and ragged lengths', () => {
    const rng = stream(1, 'test', 'update-arena');
    const a = arena();
    // Lengths below, at and across the SIMD width and the 16,384-element block.
    for (const length of [1, 3, 4, 5, 4099, 16_384, 16_387]) {
      for (const k of [1, 2, 3, 4, 5, 7, 9]) {
        const weightKinds = [
          () => 1 + rng.int(500),
          () => 10 ** (rng.int(300) - 150),
          () => (rng.next() + 0.5) * 1e-300,
          () => 2 ** (rng.int(200) - 100),
        ];
        const weight = weightKinds[(length + k) % weightKinds.length]!;
        const items = Array.from({ length: k }, () => ({
          vector: adversarial(rng, length),
          weight: weight(),
        }));
        if (k >= 3 && length % 2 === 1) cancelTail(items);
        const total = items.reduce((s, { weight: w }) => s + w, 0);
        const fold = () => {
          for (const { vector } of items) expect(a.admit(vector)).toBe(-1);
          return a.meanOf(
            length,
            items.map((i) => i.vector),
            items.map((i) => i.weight),
            total,
          );
        };
        // More updates than the arena keeps of a length at first: the first fold misses and makes room.
        const folded = k > 8 ? (expect(fold()).toBeUndefined(), fold()) : fold();
        expect(folded).toBeDefined();
        expect(same(folded!, meanOfAll(length, items))).toBe(true);
      }
    }
  });

  it('divides by the total as JavaScript does, where a reciprocal would round a quotient on a float32 tie the other way', () => {
    const a = arena();
    // Three float32 updates of weight 1 whose exact sum S (x₀ + x₁ + x₂, no rounding) has S / 3 land on a
    // float32 midpoint while S · (1 / 3) does not: only a true division gives JavaScript's bits.
    const sums: number[] = [];
    for (let i = 0; sums.length < 67; i++) {
      const tie = Math.fround(1 + i * 2 ** -13) + 2 ** -24;
      const ulp = 2 ** (Math.floor(Math.log2(3 * tie)) - 52);
      for (let k = -20; k <= 20; k++) {
        const sum = 3 * tie + k * ulp;
        if (Math.fround(sum / 3) !== Math.fround(sum * (1 / 3))) {
          sums.push(sum);
          break;
        }
      }
    }
    const length = sums.length;
    const [x0, x1, x2] = [new Float32Array(length), new Float32Array(length), new Float32Array(length)];
    sums.forEach((sum, i) => {
      x0[i] = sum;
      x1[i] = sum - x0[i]!;
      x2[i] = sum - x0[i]! - x1[i]!;
      expect(x0[i]! + x1[i]! + x2[i]!).toBe(sum);
    });
    for (const v of [x0, x1, x2]) a.admit(v);
    const folded = a.meanOf(length, [x0, x1, x2], [1, 1, 1], 3)!;
    const items = [x0, x1, x2].map((vector) => ({ vector, weight: 1 }));
    expect(same(folded, meanOfAll(length, items))).toBe(true);
    sums.forEach((sum, i) => expect(folded[i]).toBe(Math.fround(sum / 3)));
  });

  it('finds the first NaN or infinity where the JavaScript scan does, in the copy it keeps', () => {
    const a = arena();
    for (const length of [1, 6, 4099]) {
      for (const at of [0, Math.floor(length / 2), length - 1]) {
        for (const bad of [Number.NaN, Infinity, -Infinity]) {
          const v = new Float32Array(length).fill(0.5);
          v[at] = bad;
          if (at + 1 < length) v[length - 1] = Number.NaN;
          expect(a.admit(v)).toBe(firstNonFiniteJs(v));
          expect(a.admit(v)).toBe(at);
        }
      }
      expect(a.admit(new Float32Array(length).fill(-3.4028235e38))).toBe(-1);
    }
    useUpdateArena(null);
    const v = Float32Array.of(1, 2, Infinity);
    expect(admitParameters(v)).toBe(2);
  });

  it('keeps as many copies of a length as the largest fold asked of it, reusing the oldest slots', () => {
    const rng = stream(1, 'test', 'update-arena', 'capacity');
    const a = arena();
    useUpdateArena(a);
    const length = 1000;
    const items = Array.from({ length: 12 }, (_, j) => ({
      vector: adversarial(rng, length),
      weight: 1 + j,
    }));
    const vectors = items.map((i) => i.vector);
    const weights = items.map((i) => i.weight);
    const total = weights.reduce((s, w) => s + w, 0);
    const expected = meanOfAll(length, items);
    // Eight slots at first: the first four of twelve admitted are overwritten, the fold misses and asks for twelve.
    for (const v of vectors) admitParameters(v);
    expect(a.meanOf(length, vectors, weights, total)).toBeUndefined();
    expect(same(meanOfAll(length, items, true), expected)).toBe(true);
    const bytes = a.bytes;
    for (let round = 0; round < 3; round++) {
      for (const v of vectors) admitParameters(v);
      expect(same(a.meanOf(length, vectors, weights, total)!, expected)).toBe(true);
      expect(same(meanOfAll(length, items, true), expected)).toBe(true);
    }
    // Later rounds reuse the slots: the memory does not grow.
    expect(a.bytes).toBe(bytes);
    // A vector admitted since overwrites the oldest copy: that fold misses, to the same bits in JavaScript.
    admitParameters(adversarial(rng, length));
    expect(a.meanOf(length, vectors, weights, total)).toBeUndefined();
    expect(same(meanOfAll(length, items, true), expected)).toBe(true);
    expect(updateArena()).toBe(a);
  });

  it('stops copying a length whose folds need more than its memory cap, instead of filling the cap every round', () => {
    const capped = createUpdateArena(4 << 20);
    if (capped === null) throw new Error('WebAssembly is unavailable');
    const rng = stream(9, 'test', 'arena-cap');
    const length = 65_536; // 256 kB a copy: 30 copies need 7.5 MB, over the 4 MB cap
    const round = () => {
      const vectors = Array.from({ length: 30 }, () => Float32Array.from({ length }, () => rng.normal()));
      for (const v of vectors) expect(capped.admit(v)).toBe(-1);
      const weights = vectors.map((_, i) => i + 1);
      expect(capped.meanOf(length, vectors, weights, 465)).toBeUndefined();
      return capped.bytes;
    };
    const first = round();
    expect(first).toBeLessThan(4 << 20);
    expect(round()).toBe(first);
    expect(round()).toBe(first);
    // Vectors of that length are scanned where they are, still naming the first non-finite element.
    const bad = new Float32Array(length);
    bad[70] = Number.NaN;
    expect(capped.admit(bad)).toBe(70);
  });

  it('holds the copies the boundary admits, and FedAvg folds them unless a subclass aggregated first', () => {
    const rng = stream(1, 'test', 'update-arena', 'fedavg');
    const a = arena();
    useUpdateArena(a);
    const length = 1001;
    const contract = fitContract(length);
    const results: FitResult[] = Array.from({ length: 5 }, (_, k) => {
      const verdict = admit(
        encodeEnvelope('fit-reply', { numExamples: 10 + k, metrics: {} }, [
          ['parameters', adversarial(rng, length)],
        ]),
        contract,
      );
      if (verdict.status !== 'admitted') throw new Error(`reply ${k} was ${verdict.status}`);
      return { hospital: `h${k}`, reply: fitReplyOf(verdict.reply) };
    });
    const items = results.map((r) => ({ vector: r.reply.vectors.parameters!, weight: r.reply.numExamples }));
    const expected = weightedAverage(length, items);
    expect(a.folds).toBe(0);
    const options = { fractionFit: 1, fractionEvaluate: 1, minClients: 1, training: {} as never };
    const global = new Float32Array(length);
    expect(same(new FedAvg(options).aggregateFit(1, global, results, []), expected)).toBe(true);
    expect(a.folds).toBe(1);
    // An override may have written to the admitted vectors before calling FedAvg's: the copies are not read.
    class Clipped extends FedAvg {
      override aggregateFit(...args: Parameters<FedAvg['aggregateFit']>): Float32Array {
        args[2][0]!.reply.vectors.parameters![0] = 0.25;
        return super.aggregateFit(...args);
      }
    }
    const clipped = new Clipped(options).aggregateFit(1, global, results, []);
    expect(a.folds).toBe(1);
    expect(same(clipped, weightedAverage(length, items))).toBe(true);
    expect(same(clipped, expected)).toBe(false);
    // A rejected reply is still scanned in the copy: the same violation as the JavaScript scan names.
    const bad = new Float32Array(length).fill(1);
    bad[length - 2] = Number.NaN;
    const verdict = admit(
      encodeEnvelope('fit-reply', { numExamples: 10, metrics: {} }, [['parameters', bad]]),
      contract,
    );
    expect(verdict.status === 'rejected' && verdict.violation.field).toBe(
      `vectors.parameters[${length - 2}]`,
    );
  });

  it('copies nothing for a run whose strategy never folds from the arena (inPlace contracts)', () => {
    const a = arena();
    useUpdateArena(a);
    const length = 1001;
    const contract: ReplyContract = { ...fitContract(length), inPlace: true };
    const before = a.bytes;
    const bad = new Float32Array(length).fill(1);
    bad[7] = Number.POSITIVE_INFINITY;
    const verdict = admit(
      encodeEnvelope('fit-reply', { numExamples: 10, metrics: {} }, [['parameters', bad]]),
      contract,
    );
    expect(verdict.status === 'rejected' && verdict.violation.field).toBe('vectors.parameters[7]');
    const good = admit(
      encodeEnvelope('fit-reply', { numExamples: 10, metrics: {} }, [
        ['parameters', new Float32Array(length)],
      ]),
      contract,
    );
    if (good.status !== 'admitted') throw new Error(`the reply was ${good.status}`);
    const v = fitReplyOf(good.reply).vectors.parameters!;
    expect(a.meanOf(length, [v], [1], 1)).toBeUndefined();
    expect(a.bytes).toBe(before);
    expect(foldsAdmittedCopies(new FedAvg(FEDAVG_OPTIONS))).toBe(true);
    class Override extends FedAvg {
      override aggregateFit(...args: Parameters<FedAvg['aggregateFit']>): Float32Array {
        return super.aggregateFit(...args);
      }
    }
    expect(foldsAdmittedCopies(new Override(FEDAVG_OPTIONS))).toBe(false);
  });

  it('streams admitted updates through sums in the arena, window by window, to the same bits', () => {
    const rng = stream(1, 'test', 'update-arena', 'streaming');
    const a = arena();
    useUpdateArena(a);
    const length = 4099;
    const items = Array.from({ length: 3 * FOLD_WINDOW + 3 }, (_, j) => ({
      vector: adversarial(rng, length),
      weight: 20 + j,
    }));
    cancelTail(items);
    for (const count of [5, FOLD_WINDOW, items.length]) {
      const some = items.slice(0, count);
      const expected = meanOfAll(length, some);
      // Every update admitted just before it is added: each window, and the mean, folds from the arena.
      const folds = a.folds;
      const streamed = new StreamingMean(length, true);
      for (const { vector, weight } of some) {
        admitParameters(vector);
        streamed.add(vector, weight);
      }
      expect(same(streamed.mean(), expected)).toBe(true);
      expect(a.folds - folds).toBe(Math.floor(count / FOLD_WINDOW) + 1);
      const bytes = a.bytes;
      // One update not admitted: its window (or the last fold) is JavaScript's, on the same sums.
      const mixed = new StreamingMean(length, true);
      for (const [j, { vector, weight }] of some.entries()) {
        if (j !== 3) admitParameters(vector);
        mixed.add(vector, weight);
      }
      expect(same(mixed.mean(), expected)).toBe(true);
      // Once a length has its eight slots, the sums go back to the arena and streaming again takes no memory.
      if (count === items.length) expect(a.bytes).toBe(bytes);
    }
  });
});
