import { describe, expect, it } from 'vitest';
import { encodeEnvelope } from '../../src/protocol/envelope.ts';
import { metricRule } from '../../src/protocol/metric-names.ts';
import { admit, evaluateReplyOf, type ReplyContract, type Verdict } from '../../src/server/boundary.ts';
import { weightedMetricMeans } from '../../src/server/aggregate-metrics.ts';
import { consistent } from '../../src/server/preprocessing.ts';

const sizes = { parameters: 4, histogramBins: 0, columns: 3, features: 2, classes: 2 };
const f64 = (...v: number[]) => Float64Array.from(v);

const statsContract: ReplyContract = {
  hospital: 'it-1',
  kind: 'statistics-reply',
  sizes,
  vectors: ['count', 'sum', 'm2', 'min', 'max'],
  counts: { train: { min: 5, max: 5 } },
};
const stats = (count = f64(5, 5, 4)) =>
  encodeEnvelope('statistics-reply', { train: 5 }, [
    ['count', count],
    ['sum', f64(1, 2, 3)],
    ['m2', f64(1, 1, 1)],
    ['min', f64(0, 0, 0)],
    ['max', f64(1, 1, 1)],
  ]);

const evalContract: ReplyContract = {
  hospital: 'it-1',
  kind: 'evaluate-reply',
  sizes,
  vectors: ['confusion'],
  counts: { numExamples: { min: 12, max: 12 } },
};
const evaluation = (confusion: Uint32Array, suppressed: number) =>
  encodeEnvelope(
    'evaluate-reply',
    { numExamples: 12, metrics: { accuracy: 0.75, confusion_suppressed: suppressed } },
    [['confusion', confusion]],
  );

const violation = (v: Verdict) => (v.status === 'rejected' ? v.violation.message : v.status);

describe('own data crosses the boundary only as declared kinds and lengths', () => {
  it('admits column statistics of the declared width as float64, and refuses another width or type', () => {
    expect(admit(stats(), statsContract).status).toBe('admitted');
    expect(violation(admit(stats(f64(5, 5)), statsContract))).toMatch(/vectors\.count must be of length 3/);
    const f32 = encodeEnvelope('statistics-reply', { train: 5 }, [
      ['count', Float32Array.from([5, 5, 4])],
      ['sum', f64(1, 2, 3)],
      ['m2', f64(1, 1, 1)],
      ['min', f64(0, 0, 0)],
      ['max', f64(1, 1, 1)],
    ]);
    expect(violation(admit(f32, statsContract))).toMatch(/vectors\.count must be of type f64/);
  });

  it('a confusion matrix must be K × K counts adding up, with the suppressed cells, to the held-out count', () => {
    const ok = admit(evaluation(Uint32Array.from([5, 0, 0, 4]), 3), evalContract);
    expect(ok.status).toBe('admitted');
    if (ok.status === 'admitted') expect(evaluateReplyOf(ok.reply).confusion).toEqual([5, 0, 0, 4]);
    expect(violation(admit(evaluation(Uint32Array.from([5, 0, 0, 4]), 0), evalContract))).toMatch(
      /vectors\.confusion must be counts adding up to numExamples/,
    );
    expect(violation(admit(evaluation(Uint32Array.from([5, 0, 4]), 3), evalContract))).toMatch(/length 4/);
  });

  it('a multi-class histogram is one one-vs-rest histogram per class, each adding up to the held-out count', () => {
    const contract: ReplyContract = {
      ...evalContract,
      sizes: { ...sizes, histogramBins: 2 },
      vectors: ['confusion', 'histogram'],
    };
    // Two classes × (2 positive bins, 2 negative bins); class 0: 5 positives and 7 negatives, class 1: 7 and 5.
    const reply = (histogram: number[]) =>
      encodeEnvelope('evaluate-reply', { numExamples: 12, metrics: { confusion_suppressed: 3 } }, [
        ['confusion', Uint32Array.from([5, 0, 0, 4])],
        ['histogram', Uint32Array.from(histogram)],
      ]);
    const ok = admit(reply([1, 4, 6, 1, 6, 1, 1, 4]), contract);
    expect(ok.status).toBe('admitted');
    if (ok.status === 'admitted')
      expect(evaluateReplyOf(ok.reply).classHistograms).toEqual([
        { positives: [1, 4], negatives: [6, 1] },
        { positives: [6, 1], negatives: [1, 4] },
      ]);
    // The same total (24) split unevenly between the classes: one class claims patients the other lacks.
    expect(violation(admit(reply([2, 4, 6, 1, 5, 1, 1, 4]), contract))).toMatch(
      /vectors\.histogram must be each class's counts adding up to numExamples/,
    );
    expect(violation(admit(reply([1, 4, 6, 1]), contract))).toMatch(/length 8/);
  });

  it('per-class metrics are registered for class indices below the cap only', () => {
    expect(metricRule('sensitivity__class_3')).toBeDefined();
    expect(metricRule('n__class_23')).toBeDefined();
    expect(metricRule('n__class_24')).toBeUndefined();
    expect(metricRule('auroc__class_1')).toBeUndefined();
    expect(metricRule('balanced_accuracy')).toBeDefined();
  });

  it('the coordinator sums confusion matrices and computes global_r2 about the pooled mean', () => {
    const m = weightedMetricMeans([
      { numExamples: 4, metrics: {}, confusion: [2, 1, 0, 1] },
      { numExamples: 4, metrics: {}, confusion: [1, 0, 1, 2] },
    ]);
    expect(m.confusion).toEqual([3, 1, 1, 3]);
    expect(m.metrics.global_accuracy).toBe(0.75);
    // Two hospitals: targets {0, 2} and {4, 6}; predictions off by 1 everywhere: SSE 4, SST 20.
    const r = weightedMetricMeans([
      { numExamples: 2, metrics: { mse: 1, target_mean: 1, target_var: 1 } },
      { numExamples: 2, metrics: { mse: 1, target_mean: 5, target_var: 1 } },
    ]);
    expect(r.metrics.global_r2).toBeCloseTo(1 - 4 / 20, 12);
  });
});

describe("a hospital's column statistics that no real column could give", () => {
  it('are refused before they reach the federation’s transform', () => {
    const values = [1, 2, 3, 4, 5, 6];
    const mean = values.reduce((a, b) => a + b) / values.length;
    const m2 = values.reduce((a, v) => a + (v - mean) ** 2, 0);
    expect(consistent(6, 21, m2, 1, 6)).toBe(true);
    expect(consistent(1, 1e308, 0, 0, 0)).toBe(false);
    expect(consistent(2, 1, 0, 1e300, 1e300)).toBe(false);
    expect(consistent(2, 0, 0, -1e308, 1e308)).toBe(false);
    expect(consistent(6, 21, 1e6, 1, 6)).toBe(false);
    expect(consistent(6, 21, m2, 6, 1)).toBe(false);
  });
});
