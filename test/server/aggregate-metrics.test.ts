import { describe, expect, it } from 'vitest';
import { perCountry, weightedMetricMeans } from '../../src/server/aggregate-metrics.ts';

describe('weightedMetricMeans with subgroups', () => {
  const replies = [
    { numExamples: 100, metrics: { auroc: 0.8, auroc__female: 0.9, n__female: 10 } },
    { numExamples: 300, metrics: { auroc: 0.6, auroc__female: 0.5, n__female: 90 } },
  ];

  it('weights a subgroup metric by its subgroup count and sums the counts', () => {
    const m = weightedMetricMeans(replies).metrics;
    // Overall by examples: (0.8·100 + 0.6·300) / 400.
    expect(m.auroc).toBeCloseTo(0.65, 12);
    // By n__female: (0.9·10 + 0.5·90) / 100, not (0.9·100 + 0.5·300) / 400 = 0.6.
    expect(m.auroc__female).toBeCloseTo(0.54, 12);
    expect(m.n__female).toBe(100);
    expect(weightedMetricMeans(replies).numExamples).toBe(400);
  });

  it('averages a subgroup only over the hospitals that report it', () => {
    const m = weightedMetricMeans([
      ...replies,
      { numExamples: 50, metrics: { auroc: 0.7, sensitivity__age_65plus: 0.25, n__age_65plus: 5 } },
    ]).metrics;
    expect(m.n__female).toBe(100);
    expect(m.n__age_65plus).toBe(5);
    expect(m.sensitivity__age_65plus).toBe(0.25);
    expect(m.auroc__female).toBeCloseTo(0.54, 12);
    expect(m.auroc).toBeCloseTo((80 + 180 + 35) / 450, 12);
    expect(Object.keys(m)).toEqual([...Object.keys(m)].sort());
  });

  it('falls back to example weighting for a subgroup metric whose count is not reported', () => {
    const m = weightedMetricMeans([
      { numExamples: 10, metrics: { brier__male: 0.1 } },
      { numExamples: 30, metrics: { brier__male: 0.3, n__male: 10 } },
    ]).metrics;
    // (0.1·10 + 0.3·10) / 20.
    expect(m.brier__male).toBeCloseTo(0.2, 12);
    expect(m.n__male).toBe(10);
  });

  it('is reproducible for a fixed reply order', () => {
    const a = weightedMetricMeans(replies);
    const b = weightedMetricMeans(replies.map((r) => ({ ...r, metrics: { ...r.metrics } })));
    expect(b).toEqual(a);
  });
});

describe('perCountry', () => {
  it('aggregates each country by the same rules, countries sorted', () => {
    const out = perCountry([
      { country: 'KR', numExamples: 100, metrics: { loss: 1, auroc__female: 0.9, n__female: 10 } },
      { country: 'CN', numExamples: 200, metrics: { loss: 0.5, auroc__female: 0.7, n__female: 20 } },
      { country: 'KR', numExamples: 300, metrics: { loss: 2, auroc__female: 0.5, n__female: 90 } },
      { country: 'CN', numExamples: 600, metrics: { loss: 0.25 } },
    ]);
    expect(Object.keys(out)).toEqual(['CN', 'KR']);
    expect(out.KR!.numExamples).toBe(400);
    expect(out.KR!.metrics.loss).toBeCloseTo((100 + 600) / 400, 12);
    expect(out.KR!.metrics.auroc__female).toBeCloseTo(0.54, 12);
    expect(out.KR!.metrics.n__female).toBe(100);
    expect(out.CN!.numExamples).toBe(800);
    expect(out.CN!.metrics.loss).toBeCloseTo((100 + 150) / 800, 12);
    expect(out.CN!.metrics.auroc__female).toBeCloseTo(0.7, 12);
    expect(out.CN!.metrics.n__female).toBe(20);
    expect(perCountry([])).toEqual({});
  });
});

describe('privacy losses across hospitals', () => {
  it("are the worst hospital's ε, not an example-weighted mean that would under-report it", () => {
    const m = weightedMetricMeans([
      { numExamples: 1000, metrics: { dpsgd_epsilon: 1 } },
      { numExamples: 10, metrics: { dpsgd_epsilon: 50 } },
    ]).metrics;
    expect(m.dpsgd_epsilon).toBe(50);
  });
});
