import { describe, expect, it } from 'vitest';
import { meanCi, roundsToTarget } from '../../../src/server/bench/stats.ts';
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
