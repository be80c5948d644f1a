import { describe, expect, it } from 'vitest';
import { clinicalMetrics, scoreHistogram } from '../../src/clients/metrics.ts';
import { stream } from '../../src/common/rng.ts';
import { HISTOGRAM_LOGIT_RANGE } from '../../src/protocol/messages.ts';
import { weightedMetricMeans } from '../../src/server/aggregate-metrics.ts';
import { globalClassRocMetrics, globalRocMetrics } from '../../src/server/global-roc.ts';
import { classHistograms, multiclassMetrics } from '../../src/clients/outcome-metrics.ts';

const OPTS = { threshold: 0.5, calibrationBins: 10 } as const;
const f = (v: readonly number[]) => Float32Array.from(v);

const BINS = 100;
/** The probability at a bin's centre (on the logit scale), so binning loses nothing and exact metrics come out. */
const centre = (bin: number) => {
  const r = HISTOGRAM_LOGIT_RANGE;
  return 1 / (1 + Math.exp(-(-r + (2 * r * (bin + 0.5)) / BINS)));
};

describe('scoreHistogram (client side)', () => {
  it('counts each example in its logit bin by class; p = 0 and p = 1 fall in the end bins', () => {
    // 10 bins of width 2 over logits [−10, 10): logit(0.5) = 0 opens bin 5, logit(0.9) ≈ 2.2 is in bin 6.
    const h = scoreHistogram(f([1, 0, 1, 0, 1, 0]), f([0, 0.5, 0.9, 0.1, 1, 1e-6]), 10);
    expect(h.positives).toEqual([1, 0, 0, 0, 0, 0, 1, 0, 0, 1]);
    expect(h.negatives).toEqual([1, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    expect(() => scoreHistogram(f([1]), f([0.5]), 0)).toThrow(/bins: expected an integer ≥ 1/);
  });
});

describe('globalRocMetrics (coordinator side)', () => {
  it('equals the exact AUROC and AUPRC of the pooled patients when scores sit on distinct bin centres', () => {
    const y = [1, 0, 1, 1, 0, 0, 1, 0];
    const p = [centre(90), centre(10), centre(55), centre(50), centre(52), centre(70), centre(30), centre(5)];
    const exact = clinicalMetrics(f(y), f(p), OPTS);
    // Two hospitals hold the patients; their histograms are summed.
    const a = scoreHistogram(f(y.slice(0, 3)), f(p.slice(0, 3)), BINS);
    const b = scoreHistogram(f(y.slice(3)), f(p.slice(3)), BINS);
    const g = globalRocMetrics([a, b]);
    expect(g.global_auroc).toBeCloseTo(exact.auroc!, 12);
    expect(g.global_auprc).toBeCloseTo(exact.auprc!, 12);
  });

  it('counts a case and a control in the same bin as half a win, as Mann–Whitney counts ties', () => {
    const y = f([1, 0, 1, 0]);
    const p = f([centre(50), centre(50), centre(80), centre(10)]);
    const g = globalRocMetrics([scoreHistogram(y, p, BINS)]);
    expect(g.global_auroc).toBeCloseTo(clinicalMetrics(y, p, OPTS).auroc!, 12);
    // The top case has precision 1; the tied bin's one case comes with its one control: 2/3.
    expect(g.global_auprc).toBeCloseTo((1 + 2 / 3) / 2, 12);
  });

  it('is close to the exact metrics on continuous scores (within 0.005 for 2,000 patients, 100 bins)', () => {
    const rng = stream(3, 'roc');
    const n = 2000;
    const y = new Float32Array(n);
    const p = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rng.next() < 0.3 ? 1 : 0;
      p[i] = 1 / (1 + Math.exp(-(1.2 * y[i]! - 0.8 + rng.normal())));
    }
    const exact = clinicalMetrics(y, p, OPTS);
    const g = globalRocMetrics([scoreHistogram(y, p, BINS)]);
    expect(Math.abs(g.global_auroc! - exact.auroc!)).toBeLessThan(0.005);
    expect(Math.abs(g.global_auprc! - exact.auprc!)).toBeLessThan(0.005);
  });

  it('ranks single-class hospitals against each other, where no hospital can compute an AUROC alone', () => {
    const cases = scoreHistogram(f([1, 1, 1]), f([centre(80), centre(60), centre(40)]), BINS);
    const controls = scoreHistogram(f([0, 0]), f([centre(50), centre(20)]), BINS);
    // 6 case–control pairs: (80: 2 wins) (60: 2) (40: 1 of 2) → 5/6.
    expect(globalRocMetrics([cases, controls]).global_auroc).toBeCloseTo(5 / 6, 12);
    expect(globalRocMetrics([cases]).global_auroc).toBeUndefined();
    expect(globalRocMetrics([controls])).toEqual({});
    expect(globalRocMetrics([])).toEqual({});
  });

  it('joins the example-weighted means only when every reply carries a histogram', () => {
    const h = scoreHistogram(f([1, 0]), f([centre(70), centre(30)]), BINS);
    const withBoth = weightedMetricMeans([
      { numExamples: 2, metrics: { accuracy: 1 }, histogram: h },
      { numExamples: 2, metrics: { accuracy: 0.5 }, histogram: h },
    ]);
    expect(withBoth.metrics).toEqual({ accuracy: 0.75, global_auprc: 1, global_auroc: 1 });
    const partial = weightedMetricMeans([
      { numExamples: 2, metrics: { accuracy: 1 }, histogram: h },
      { numExamples: 2, metrics: { accuracy: 0.5 } },
    ]);
    expect(partial.metrics).toEqual({ accuracy: 0.75 });
  });

  it('sums a bin of many cases in closed form, equal to the term-by-term sum, so no count can stall it', () => {
    // One top bin of 3 cases and 2 controls, then a bin of 20,000 cases and 50,000 controls.
    const termByTerm = (tp: number, c: number, a: number, d: number) => {
      let sum = 0;
      for (let j = 1; j <= a; j++) sum += (tp + j) / (c + j * d);
      return sum;
    };
    const expected =
      (termByTerm(0, 0, 3, 1 + 2 / 3) + termByTerm(3, 5, 20_000, 1 + 50_000 / 20_000)) / 20_003;
    const g = globalRocMetrics([{ positives: [20_000, 3], negatives: [50_000, 2] }]);
    expect(g.global_auprc).toBeCloseTo(expected, 12);
    // A hospital claiming 2^53 − 2 cases in one bin: admitted by the count checks, answered at once.
    const huge = globalRocMetrics([{ positives: [0, 2 ** 53 - 2], negatives: [1, 0] }]);
    expect(huge.global_auprc).toBeCloseTo(1, 12);
    expect(huge.global_auroc).toBe(1);
  });
});

describe('globalClassRocMetrics (multi-class, coordinator side)', () => {
  it("equals the pooled patients' exact macro and micro one-vs-rest AUROC when scores sit on distinct bin centres", () => {
    const K = 3;
    const y = [0, 1, 2, 0, 1, 2, 2, 0, 1];
    // Every (patient, class) probability on its own bin centre: no two pairs tie, so binning loses nothing.
    const p = y.flatMap((_, i) => [0, 1, 2].map((k) => centre(3 + 11 * i + 3 * k + ((i * 7 + k * 5) % 3))));
    const exact = multiclassMetrics(f(y), f(p), K, { calibrationBins: 10, minCellSize: 1 }).metrics;
    const hospital = (from: number, to: number) =>
      classHistograms(f(y.slice(from, to)), f(p.slice(K * from, K * to)), K, BINS);
    const g = globalClassRocMetrics([hospital(0, 4), hospital(4, 9)]);
    expect(g.global_auroc_macro).toBeCloseTo(exact.auroc_macro!, 12);
    expect(g.global_auroc_micro).toBeCloseTo(exact.auroc_micro!, 12);
    expect(g.global_auprc_micro).toBeGreaterThan(0);
    // The coordinator's mean of the per-hospital macro AUROCs is not the pooled one.
    const means = weightedMetricMeans(
      [hospital(0, 4), hospital(4, 9)].map((h, i) => ({
        numExamples: i === 0 ? 4 : 5,
        metrics: {},
        classHistograms: h,
      })),
    ).metrics;
    expect(means.global_auroc_macro).toBe(g.global_auroc_macro);
  });

  it('a class no patient has is left out of the macro mean, as a hospital leaves it out of its own', () => {
    const y = [0, 1, 0, 1];
    const p = [0.9, 0.05, 0.05, 0.2, 0.7, 0.1, 0.6, 0.3, 0.1, 0.3, 0.6, 0.1];
    const g = globalClassRocMetrics([classHistograms(f(y), f(p), 3, BINS)]);
    const exact = multiclassMetrics(f(y), f(p), 3, { calibrationBins: 10, minCellSize: 1 }).metrics;
    expect(g.global_auroc_macro).toBeCloseTo(exact.auroc_macro!, 12);
  });
});
