import { describe, expect, it } from 'vitest';
import { binaryMetrics, MetricsInputError } from '../../src/clients/metrics.ts';

const f = (xs: number[]): Float32Array => Float32Array.from(xs);

describe('binaryMetrics', () => {
  it('computes AUROC by hand', () => {
    // Positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ordered correctly.
    expect(binaryMetrics(f([0, 0, 1, 1]), f([0.1, 0.4, 0.35, 0.8])).auroc).toBeCloseTo(0.75, 12);
  });

  it('counts a tie as one half', () => {
    // Pairs: (0.5 vs 0.5) tie = ½, (0.5 vs 0.2) = 1, (0.9 vs both) = 2 → 3.5 / 4.
    expect(binaryMetrics(f([0, 1, 0, 1]), f([0.5, 0.5, 0.2, 0.9])).auroc).toBeCloseTo(0.875, 12);
    expect(binaryMetrics(f([0, 1, 0, 1, 1]), f([0.3, 0.3, 0.3, 0.3, 0.3])).auroc).toBeCloseTo(0.5, 12);
    // Ties across several groups: pos {0.2, 0.6, 0.6}, neg {0.2, 0.6, 0.1}.
    // 0.2: ½ + 1 = 1.5; each 0.6: 1 + 1 + ½ = 2.5 → 6.5 / 9.
    expect(binaryMetrics(f([1, 1, 1, 0, 0, 0]), f([0.2, 0.6, 0.6, 0.2, 0.6, 0.1])).auroc).toBeCloseTo(
      6.5 / 9,
      12,
    );
  });

  it('is 1 for a perfect ranking and 0 for a reversed one', () => {
    expect(binaryMetrics(f([0, 0, 1, 1]), f([0.1, 0.2, 0.3, 0.4])).auroc).toBe(1);
    expect(binaryMetrics(f([1, 1, 0, 0]), f([0.1, 0.2, 0.3, 0.4])).auroc).toBe(0);
  });

  it('leaves auroc absent when the labels hold one class', () => {
    const m = binaryMetrics(f([1, 1, 1]), f([0.2, 0.7, 0.9]));
    expect('auroc' in m).toBe(false);
    expect(Object.keys(m).sort()).toEqual(['accuracy', 'loss']);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect('auroc' in binaryMetrics(f([0, 0]), f([0.2, 0.7]))).toBe(false);
  });

  it('computes loss and accuracy by hand', () => {
    const m = binaryMetrics(f([1, 0, 1, 0]), f([0.9, 0.2, 0.4, 0.5]));
    const p = [0.9, 0.2, 0.4, 0.5].map((x) => Math.fround(x));
    const expected = -(Math.log(p[0]!) + Math.log(1 - p[1]!) + Math.log(p[2]!) + Math.log(1 - p[3]!)) / 4;
    expect(m.loss).toBeCloseTo(expected, 10);
    // 0.9 → 1 ✓, 0.2 → 0 ✓, 0.4 → 0 ✗, 0.5 → 1 ✗.
    expect(m.accuracy).toBe(0.5);
    expect(Object.keys(m).sort()).toEqual(['accuracy', 'auroc', 'loss']);
    expect('prevalence' in m).toBe(false);
  });

  it('clips probabilities so loss stays finite', () => {
    const m = binaryMetrics(f([1, 0]), f([0, 1]));
    expect(Number.isFinite(m.loss)).toBe(true);
    expect(m.loss).toBeCloseTo(-Math.log(1e-7), 4);
    expect(m.accuracy).toBe(0);
    expect(m.auroc).toBe(0);
  });

  it('never returns NaN and is empty for no examples', () => {
    expect(binaryMetrics(f([]), f([]))).toEqual({});
    const m = binaryMetrics(f([0, 1, 1, 0, 1]), f([0.5, 0.5, 0.5, 0.5, 0.5]));
    for (const v of Object.values(m)) expect(Number.isNaN(v)).toBe(false);
  });

  it('rejects mismatched or invalid input by row', () => {
    expect(() => binaryMetrics(f([0, 1]), f([0.5]))).toThrow(MetricsInputError);
    expect(() => binaryMetrics(f([0, 2]), f([0.5, 0.5]))).toThrow(/row 1/);
    expect(() => binaryMetrics(f([0, 1]), f([0.5, NaN]))).toThrow(/row 1/);
  });

  it('agrees with the O(n²) pair count on random scores with many ties', () => {
    let s = 12345;
    const next = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
    const n = 400;
    const y = new Float32Array(n);
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = next() < 0.3 ? 1 : 0;
      p[i] = Math.round(next() * 10) / 10;
    }
    let wins = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        if (y[i] === 1 && y[j] === 0) {
          pairs++;
          wins += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
        }
    expect(binaryMetrics(y, p).auroc).toBeCloseTo(wins / pairs, 12);
  });
});
