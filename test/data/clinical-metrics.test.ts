import { describe, expect, it } from 'vitest';
import {
  binaryMetrics,
  clinicalMetrics,
  MAX_SUBGROUPS,
  MetricsInputError,
  SUBGROUP_METRICS,
} from '../../src/clients/metrics.ts';
import { MAX_METRICS, METRIC_NAME } from '../../src/protocol/messages.ts';

const f = (xs: number[]): Float32Array => Float32Array.from(xs);
const u = (xs: number[]): Uint8Array => Uint8Array.from(xs);
const OPTS = { threshold: 0.5, calibrationBins: 10 } as const;

/** Deterministic scores with many ties and a seeded label pattern (no Math.random). */
function tiedData(n: number, seed: number): { y: Float32Array; p: Float32Array } {
  let s = seed;
  const next = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31), s / 2 ** 31);
  const y = new Float32Array(n);
  const p = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = next() < 0.3 ? 1 : 0;
    p[i] = Math.round(next() * 10) / 10;
  }
  return { y, p };
}

/** Average precision straight from its definition: Σ over distinct thresholds t (descending) of ΔR(t)·P(t). */
function bruteAp(y: Float32Array, p: Float32Array): number {
  const nPos = y.reduce((a, b) => a + b, 0);
  const thresholds = [...new Set(p)].sort((a, b) => b - a);
  let prevRecall = 0;
  let ap = 0;
  for (const t of thresholds) {
    let tp = 0;
    let predicted = 0;
    for (let i = 0; i < y.length; i++) {
      if (p[i]! >= t) {
        predicted++;
        tp += y[i]!;
      }
    }
    ap += (tp / nPos - prevRecall) * (tp / predicted);
    prevRecall = tp / nPos;
  }
  return ap;
}

describe('clinicalMetrics', () => {
  it('computes average precision by hand', () => {
    // 0.9: TP → P = 1, ΔR = ½; 0.8: FP; 0.7: TP → P = 2/3, ΔR = ½.
    const m = clinicalMetrics(f([1, 0, 1, 0]), f([0.9, 0.8, 0.7, 0.1]), OPTS);
    expect(m.auprc).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect(m.auroc).toBeCloseTo(0.75, 12);
  });

  it('takes tied scores together for average precision, in any order', () => {
    // 0.5 holds one positive and one negative: P = ½, ΔR = ½; then 0.2: P = 2/3, ΔR = ½ → 7/12.
    expect(clinicalMetrics(f([1, 0, 1]), f([0.5, 0.5, 0.2]), OPTS).auprc).toBeCloseTo(7 / 12, 12);
    expect(clinicalMetrics(f([0, 1, 1]), f([0.5, 0.5, 0.2]), OPTS).auprc).toBeCloseTo(7 / 12, 12);
    expect(clinicalMetrics(f([1, 1, 0]), f([0.2, 0.5, 0.5]), OPTS).auprc).toBeCloseTo(7 / 12, 12);
  });

  it('agrees with the definition of average precision on many ties', () => {
    for (const seed of [1, 2, 3]) {
      const { y, p } = tiedData(500, seed);
      expect(clinicalMetrics(y, p, OPTS).auprc).toBeCloseTo(bruteAp(y, p), 12);
    }
  });

  it('counts sensitivity, specificity and accuracy at the threshold (p ≥ threshold is positive)', () => {
    const y = f([1, 0, 1, 0]);
    const p = f([0.9, 0.8, 0.7, 0.1]);
    // At 0.75: 0.9 TP, 0.8 FP, 0.7 FN, 0.1 TN.
    const high = clinicalMetrics(y, p, { threshold: 0.75, calibrationBins: 10 });
    expect([high.sensitivity, high.specificity, high.accuracy]).toEqual([0.5, 0.5, 0.5]);
    // At 0.5: 0.9 TP, 0.8 FP, 0.7 TP, 0.1 TN.
    const mid = clinicalMetrics(y, p, OPTS);
    expect([mid.sensitivity, mid.specificity, mid.accuracy]).toEqual([1, 0.5, 0.75]);
    // A probability equal to the threshold is positive.
    const tie = clinicalMetrics(f([1, 0]), f([0.25, 0.25]), { threshold: 0.25, calibrationBins: 10 });
    expect([tie.sensitivity, tie.specificity]).toEqual([1, 0]);
  });

  it('computes the Brier score and a two-bin ECE by hand', () => {
    const y = f([1, 0, 1, 0]);
    const p = f([0.75, 0.5, 0.25, 0]);
    const m = clinicalMetrics(y, p, { threshold: 0.5, calibrationBins: 2 });
    // (0.25² + 0.5² + 0.75² + 0²) / 4 = 0.875 / 4.
    expect(m.brier).toBeCloseTo(0.21875, 12);
    // Bin [0, ½): {0.25 (y=1), 0 (y=0)} → |0.125 − 0.5| · 2/4 = 0.1875.
    // Bin [½, 1]: {0.75 (y=1), 0.5 (y=0)} → |0.625 − 0.5| · 2/4 = 0.0625.
    expect(m.ece).toBeCloseTo(0.25, 12);
    // One bin: |mean p − mean y| = |0.375 − 0.5|.
    expect(clinicalMetrics(y, p, { threshold: 0.5, calibrationBins: 1 }).ece).toBeCloseTo(0.125, 12);
    // p = 1 falls in the last bin: perfectly calibrated.
    expect(clinicalMetrics(f([1, 0]), f([1, 0]), { threshold: 0.5, calibrationBins: 4 }).ece).toBe(0);
  });

  it('reports loss, accuracy and auroc exactly as binaryMetrics does at threshold 0.5', () => {
    const { y, p } = tiedData(300, 9);
    const b = binaryMetrics(y, p);
    const c = clinicalMetrics(y, p, OPTS);
    expect(c.loss).toBe(b.loss);
    expect(c.accuracy).toBe(b.accuracy);
    expect(c.auroc).toBe(b.auroc);
    expect(Object.keys(c).sort()).toEqual(
      ['accuracy', 'auprc', 'auroc', 'brier', 'ece', 'loss', 'sensitivity', 'specificity'].sort(),
    );
  });

  it('leaves metrics undefined for the data absent, never NaN', () => {
    const noPos = clinicalMetrics(f([0, 0, 0]), f([0.1, 0.6, 0.3]), OPTS);
    expect(Object.keys(noPos).sort()).toEqual(['accuracy', 'brier', 'ece', 'loss', 'specificity']);
    expect(noPos.specificity).toBeCloseTo(2 / 3, 12);
    const noNeg = clinicalMetrics(f([1, 1]), f([0.1, 0.6]), OPTS);
    expect(Object.keys(noNeg).sort()).toEqual(['accuracy', 'auprc', 'brier', 'ece', 'loss', 'sensitivity']);
    expect(noNeg.auprc).toBe(1);
    expect(clinicalMetrics(f([]), f([]), OPTS)).toEqual({});
    const { y, p } = tiedData(50, 4);
    for (const m of [noPos, noNeg, clinicalMetrics(y, p, OPTS)]) {
      for (const v of Object.values(m)) expect(Number.isFinite(v)).toBe(true);
    }
  });

  it('reports each subgroup with a count, omitting empty groups and undefined metrics', () => {
    const y = f([1, 0, 1, 0, 1, 0]);
    const p = f([0.9, 0.2, 0.4, 0.6, 0.8, 0.1]);
    const m = clinicalMetrics(y, p, {
      ...OPTS,
      subgroups: {
        female: u([1, 1, 1, 0, 0, 0]),
        male: u([0, 0, 0, 1, 1, 1]),
        age_65plus: u([1, 0, 1, 0, 1, 0]),
        age_lt50: u([0, 0, 0, 0, 0, 0]),
      },
    });
    expect(m.n__female).toBe(3);
    expect(m.n__male).toBe(3);
    expect(m.n__age_65plus).toBe(3);
    expect('n__age_lt50' in m).toBe(false);
    expect(Object.keys(m).some((k) => k.endsWith('__age_lt50'))).toBe(false);
    // age_65plus holds positives only: no auroc, no specificity.
    expect(
      Object.keys(m)
        .filter((k) => k.endsWith('__age_65plus'))
        .sort(),
    ).toEqual(['auprc__age_65plus', 'brier__age_65plus', 'n__age_65plus', 'sensitivity__age_65plus']);
    const female = clinicalMetrics(f([1, 0, 1]), f([0.9, 0.2, 0.4]), OPTS);
    for (const name of SUBGROUP_METRICS) expect(m[`${name}__female`]).toBe(female[name]);
    expect(m.sensitivity__female).toBe(0.5);
    // Positives 0.9 and 0.4 both outrank the negative 0.2.
    expect(m.auroc__female).toBe(1);
  });

  it('scores each subgroup exactly as its own examples alone, ties, 0, −0 and 1 included', () => {
    // Subgroups are read from one ranking of all examples; each must equal a call on its examples only.
    for (const seed of [11, 12]) {
      const { y, p } = tiedData(300, seed);
      for (let i = 0; i < 300; i += 17) p[i] = [0, -0, 1][i % 3]!;
      const masks = [3, 4, 7].map((m) => Uint8Array.from({ length: 300 }, (_, i) => (i % m === 1 ? 1 : 0)));
      const m = clinicalMetrics(y, p, { ...OPTS, subgroups: { a: masks[0]!, b: masks[1]!, c: masks[2]! } });
      ['a', 'b', 'c'].forEach((g, k) => {
        const keep = (_: number, i: number) => masks[k]![i] === 1;
        const alone = clinicalMetrics(y.filter(keep), p.filter(keep), OPTS);
        for (const name of SUBGROUP_METRICS) expect(m[`${name}__${g}`]).toBe(alone[name]);
      });
    }
  });

  it('gives the same metrics whatever calls came before (its work buffers are kept between calls)', () => {
    const run = (n: number, seed: number) => {
      const { y, p } = tiedData(n, seed);
      const half = Uint8Array.from({ length: n }, (_, i) => i % 2);
      return clinicalMetrics(y, p, { ...OPTS, subgroups: { odd: half } });
    };
    const first = run(200, 21);
    run(3000, 22);
    run(5, 23);
    expect(run(200, 21)).toEqual(first);
  });

  it('fits five subgroups in 38 valid metric names, within MAX_METRICS', () => {
    const { y, p } = tiedData(400, 7);
    const mask = (k: number): Uint8Array => Uint8Array.from({ length: 400 }, (_, i) => (i % 5 === k ? 1 : 0));
    const groups = ['female', 'male', 'age_lt50', 'age_50_64', 'age_65plus'];
    const m = clinicalMetrics(y, p, {
      ...OPTS,
      subgroups: Object.fromEntries(groups.map((g, k) => [g, mask(k)])),
    });
    expect(SUBGROUP_METRICS).toEqual(['auroc', 'auprc', 'sensitivity', 'specificity', 'brier']);
    expect(Object.keys(m)).toHaveLength(8 + 5 * (SUBGROUP_METRICS.length + 1));
    expect(Object.keys(m).length).toBeLessThanOrEqual(MAX_METRICS);
    for (const name of Object.keys(m)) expect(name).toMatch(METRIC_NAME);
    for (const g of groups) expect(m[`n__${g}`]).toBe(80);
  });

  it('allows as many subgroups as fit in MAX_METRICS and names within 32 characters', () => {
    const { y, p } = tiedData(100, 5);
    const ones = new Uint8Array(100).fill(1);
    const names = Array.from({ length: MAX_SUBGROUPS }, (_, i) => `group_${i}_abcdefghijk`);
    const m = clinicalMetrics(y, p, { ...OPTS, subgroups: Object.fromEntries(names.map((g) => [g, ones])) });
    expect(Object.keys(m).length).toBeLessThanOrEqual(MAX_METRICS);
    for (const name of Object.keys(m)) expect(name).toMatch(METRIC_NAME);
    const tooMany = Object.fromEntries([...names, 'extra'].map((g) => [g, ones]));
    expect(() => clinicalMetrics(y, p, { ...OPTS, subgroups: tooMany })).toThrow(/at most 9/);
  });

  it('rejects bad options and subgroups with a clear error', () => {
    const y = f([1, 0]);
    const p = f([0.5, 0.5]);
    const bad = (subgroups: Record<string, Uint8Array>) => () =>
      clinicalMetrics(y, p, { ...OPTS, subgroups });
    expect(bad({ Female: u([1, 0]) })).toThrow(MetricsInputError);
    expect(bad({ a__b: u([1, 0]) })).toThrow(/subgroup "a__b"/);
    expect(bad({ abcdefghijklmnopqrst: u([1, 0]) })).toThrow(/at most 19 characters/);
    expect(bad({ female: u([1]) })).toThrow(/mask of 2 rows/);
    expect(bad({ female: u([1, 2]) })).toThrow(/row 1/);
    expect(() => clinicalMetrics(y, p, { threshold: 0, calibrationBins: 10 })).toThrow(/threshold/);
    expect(() => clinicalMetrics(y, p, { threshold: 1, calibrationBins: 10 })).toThrow(/threshold/);
    expect(() => clinicalMetrics(y, p, { threshold: 0.5, calibrationBins: 1.5 })).toThrow(/calibrationBins/);
    expect(() => clinicalMetrics(y, f([0.5, NaN]), OPTS)).toThrow(/row 1/);
    expect(() => clinicalMetrics(f([0, 3]), p, OPTS)).toThrow(/row 1/);
  });
});
