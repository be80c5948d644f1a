import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { FOLD_WINDOW, meanOfAll, StreamingMean } from '../../src/server/streaming-mean.ts';

/** The coordinator's FedAvg fold before streaming: one update after another, Float64, in the order given. */
function oneByOne(length: number, items: readonly { vector: Float32Array; weight: number }[]): Float32Array {
  const acc = new Float64Array(length);
  let total = 0;
  for (const { vector, weight } of items) {
    for (let i = 0; i < length; i++) acc[i]! += weight * vector[i]!;
    total += weight;
  }
  return Float32Array.from(acc, (a) => a / total);
}

/**
 * Makes the last two updates (weight 1) cancel the Float64 sum of the others down to about 2⁻⁵⁰ of it, so a sum
 * accumulated in any other order or grouping differs in the float32 mean, not only in bits that rounding hides.
 */
function cancelTail(items: { vector: Float32Array; weight: number }[], length: number): void {
  const head = items.slice(0, -2);
  const [first, second] = items.slice(-2);
  for (let i = 0; i < length; i++) {
    let sum = 0;
    for (const { vector, weight } of head) sum += weight * vector[i]!;
    first!.vector[i] = -sum;
    const rest = sum + first!.vector[i]!;
    second!.vector[i] = -rest;
  }
  first!.weight = 1;
  second!.weight = 1;
}

describe('StreamingMean', () => {
  it('is bit-identical to folding one update after another, for every count around its window, held or streamed', () => {
    const rng = stream(1, 'test', 'streaming-mean');
    // Two blocks of the fold and a ragged tail.
    const length = 4099;
    for (const k of [1, 2, 3, 4, 5, FOLD_WINDOW - 1, FOLD_WINDOW, FOLD_WINDOW + 1, 3 * FOLD_WINDOW + 3]) {
      const items = Array.from({ length: k }, (_, j) => ({
        vector: Float32Array.from({ length }, () => rng.normal() * 10 ** (rng.int(13) - 6)),
        weight: 20 + rng.int(500) + j,
      }));
      if (k >= 3) cancelTail(items, length);
      const mean = new StreamingMean(length);
      for (const { vector, weight } of items) mean.add(vector, weight);
      const expected = Buffer.from(oneByOne(length, items).buffer);
      expect(Buffer.from(mean.mean().buffer)).toEqual(expected);
      expect(Buffer.from(meanOfAll(length, items).buffer)).toEqual(expected);
    }
  });

  it('refuses a vector of another length, no updates and weights summing to zero', () => {
    expect(() => new StreamingMean(3).add(new Float32Array(2), 1)).toThrow('vector of length 2, expected 3');
    expect(() => new StreamingMean(3).mean()).toThrow('no vectors to average');
    expect(() => meanOfAll(3, [{ vector: new Float32Array(2), weight: 1 }])).toThrow(
      'vector of length 2, expected 3',
    );
    expect(() => meanOfAll(3, [])).toThrow('no vectors to average');
    expect(() => meanOfAll(1, [{ vector: new Float32Array(1), weight: 0 }])).toThrow('weights sum to zero');
    const zero = new StreamingMean(1);
    zero.add(new Float32Array(1), 0);
    expect(() => zero.mean()).toThrow('weights sum to zero');
  });
});
