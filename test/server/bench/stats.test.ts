import { describe, expect, it } from 'vitest';
import { lowerIsBetter, meanCi, pairedDifference, roundsToTarget } from '../../../src/server/bench/stats.ts';
import type { BenchCurvePoint } from '../../../src/server/bench/types.ts';

describe('meanCi', () => {
  it('matches a hand computation for [1, 2, 3, 4, 5]', () => {
    const ci = meanCi([1, 2, 3, 4, 5]);
    // mean 3, sample sd √(10/4) = √2.5, t(0.975, 4) = 2.776445, half-width 2.776445·√2.5/√5 = 1.963243.
    expect(ci.mean).toBe(3);
    expect(ci.n).toBe(5);
    expect(ci.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(ci.halfWidth).toBeCloseTo(1.963243, 6);
    expect(ci.lower).toBeCloseTo(3 - 1.963243, 6);
    expect(ci.upper).toBeCloseTo(3 + 1.963243, 6);
  });

  it('uses the requested level', () => {
    // t(0.95, 4) = 2.131847.
    expect(meanCi([1, 2, 3, 4, 5], 0.9).halfWidth).toBeCloseTo((2.131847 * Math.sqrt(2.5)) / Math.sqrt(5), 6);
  });

  it('gives a zero-width interval for identical values', () => {
    expect(meanCi([0.5, 0.5, 0.5]).halfWidth).toBe(0);
  });

  it('has no interval, rather than NaN, for a single value', () => {
    const ci = meanCi([0.8]);
    expect(ci).toEqual({ mean: 0.8, n: 1 });
    expect(Object.values(ci).some(Number.isNaN)).toBe(false);
  });

  it('rejects no values, non-finite values and a bad level', () => {
    expect(() => meanCi([])).toThrow(RangeError);
    expect(() => meanCi([1, Number.NaN])).toThrow(/value 1 is NaN/);
    expect(() => meanCi([1, 2], 1)).toThrow(/level/);
  });
});

describe('pairedDifference', () => {
  const seeds = (values: Record<number, number>) =>
    new Map(Object.entries(values).map(([k, v]) => [Number(k), v]));

  it('matches a hand computation on paired seeds', () => {
    // fedprox − fedavg accuracy per seed: 0.81 − 0.80, 0.81 − 0.82, 0.84 − 0.84 = 0.01, −0.01, 0.
    const d = pairedDifference(seeds({ 1: 0.81, 2: 0.81, 3: 0.84 }), seeds({ 1: 0.8, 2: 0.82, 3: 0.84 }));
    expect(d.n).toBe(3);
    expect(d.mean).toBeCloseTo(0, 12);
    expect(d.sd).toBeCloseTo(0.01, 12);
    // t(0.975, 2) = 4.302653.
    expect(d.halfWidth).toBeCloseTo((4.302653 * 0.01) / Math.sqrt(3), 6);
  });

  it('pairs only the seeds both samples have', () => {
    // Shared seeds 1 and 2: differences 1 and 2 → mean 1.5, sd √0.5; t(0.975, 1) = 12.706205.
    const d = pairedDifference(seeds({ 5: 10, 2: 3, 1: 1 }), seeds({ 1: 0, 4: 7, 2: 1 }));
    expect(d.n).toBe(2);
    expect(d.mean).toBe(1.5);
    expect(d.sd).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(d.halfWidth).toBeCloseTo(12.706205 / 2, 5);
    expect(pairedDifference(seeds({ 1: 0.9, 2: 0.5 }), seeds({ 1: 0.7 }))).toEqual({
      mean: 0.9 - 0.7,
      n: 1,
    });
  });

  it('uses the requested level', () => {
    // Differences 1, 2, 3, 4, 5; t(0.95, 4) = 2.131847.
    const a = seeds({ 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 });
    const zero = seeds({ 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 });
    expect(pairedDifference(a, zero, 0.9).halfWidth).toBeCloseTo(
      (2.131847 * Math.sqrt(2.5)) / Math.sqrt(5),
      6,
    );
  });

  it('rejects samples without a shared seed and non-finite values', () => {
    expect(() => pairedDifference(seeds({ 2: 1, 1: 1 }), seeds({ 3: 1 }))).toThrow(
      new RangeError('pairedDifference: the two samples share no seed (a has seeds 1, 2; b has seeds 3)'),
    );
    expect(() => pairedDifference(new Map(), seeds({ 3: 1 }))).toThrow(/a has none/);
    expect(() => pairedDifference(seeds({ 1: 1, 2: Number.NaN }), seeds({ 1: 1, 2: 1 }))).toThrow(
      /seed 2 is NaN in a/,
    );
  });
});

describe('roundsToTarget', () => {
  const curve: BenchCurvePoint[] = [
    { round: 1, metrics: { auroc: 0.6 } },
    { round: 2, metrics: {} },
    { round: 3, metrics: { auroc: 0.8 } },
    { round: 4, metrics: { auroc: 0.9 } },
  ];

  it('returns the first round at or above the target', () => {
    expect(roundsToTarget(curve, 'auroc', 0.8)).toBe(3);
    expect(roundsToTarget(curve, 'auroc', 0.85)).toBe(4);
    expect(roundsToTarget([...curve].reverse(), 'auroc', 0.8)).toBe(3);
  });

  it('is undefined when the target or the metric is never reached', () => {
    expect(roundsToTarget(curve, 'auroc', 0.95)).toBeUndefined();
    expect(roundsToTarget(curve, 'auprc', 0.1)).toBeUndefined();
    expect(roundsToTarget([], 'auroc', 0.1)).toBeUndefined();
  });
});

describe('lowerIsBetter', () => {
  it('knows losses, the Brier score and calibration error, and their subgroup forms', () => {
    for (const m of ['loss', 'train_loss', 'brier', 'ece', 'brier__female', 'loss__age_65plus']) {
      expect(lowerIsBetter(m)).toBe(true);
    }
    for (const m of ['accuracy', 'auroc', 'global_auprc', 'sensitivity__male', 'ecex']) {
      expect(lowerIsBetter(m)).toBe(false);
    }
  });
});
