import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { FOLD_WINDOW, StreamingMean } from '../../src/server/streaming-mean.ts';

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

describe('StreamingMean', () => {
  it('is bit-identical to folding one update after another, for every count around its window', () => {
    const rng = stream(1, 'test', 'streaming-mean');
    const length = 1031;
    for (const k of [1, 2, 3, 4, 5, FOLD_WINDOW - 1, FOLD_WINDOW, FOLD_WINDOW + 1, 3 * FOLD_WINDOW + 3]) {
      const items = Array.from({ length: k }, (_, j) => ({
        // Magnitudes from 1e-6 to 1e6, so the order of additions shows in the last bits.
        vector: Float32Array.from({ length }, () => rng.normal() * 10 ** (rng.int(13) - 6)),
        weight: 20 + rng.int(500) + j,
      }));
      const mean = new StreamingMean(length);
      for (const { vector, weight } of items) mean.add(vector, weight);
      expect(Buffer.from(mean.mean().buffer)).toEqual(Buffer.from(oneByOne(length, items).buffer));
    }
  });

  it('refuses a vector of another length, no updates and weights summing to zero', () => {
    expect(() => new StreamingMean(3).add(new Float32Array(2), 1)).toThrow('vector of length 2, expected 3');
    expect(() => new StreamingMean(3).mean()).toThrow('no vectors to average');
    const zero = new StreamingMean(1);
    zero.add(new Float32Array(1), 0);
    expect(() => zero.mean()).toThrow('weights sum to zero');
  });
});
