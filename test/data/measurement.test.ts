import { describe, expect, it } from 'vitest';
import {
  CohortError,
  generateCohort,
  NUM_FEATURES,
  PLAUSIBLE_RANGES,
} from '../../src/clients/data/cohort.ts';
import { COHORT_FEATURES } from '../../src/protocol/cdm.ts';
import type { HospitalConfig } from '../../src/scenario/schema.ts';
import { columnMeans, hospital } from './helpers.ts';

type Measurement = NonNullable<HospitalConfig['cohort']['measurement']>;

const col = (name: string): number => COHORT_FEATURES.findIndex((f) => f.name === name);

function column(features: Float32Array, j: number): Float32Array {
  return features.filter((_, i) => i % NUM_FEATURES === j);
}

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

function sd(xs: Float32Array): number {
  let m = 0;
  for (const x of xs) m += x;
  m /= xs.length;
  let v = 0;
  for (const x of xs) v += (x - m) ** 2;
  return Math.sqrt(v / (xs.length - 1));
}

const N = 20_000;
const SEED = 17;
const base = (measurement?: Measurement): HospitalConfig =>
  hospital('kr-busan-1', 'KR', N, measurement === undefined ? {} : { measurement });

describe('measurement bias', () => {
  const plain = generateCohort(base(), SEED);

  it('leaves a hospital without measurement settings byte-identical', () => {
    const withField = generateCohort(hospital('kr-busan-1', 'KR', N, { measurement: {} }), SEED);
    const zero = generateCohort(base({ sbp: { offset: 0, sd: 0 } }), SEED);
    for (const c of [withField, zero]) {
      expect(sameBytes(c.features, plain.features)).toBe(true);
      expect(sameBytes(c.labels, plain.labels)).toBe(true);
    }
  });

  it.each([
    ['sbp', 8],
    ['glucose', -6],
    ['cholesterol', 15],
    ['bmi', 1.5],
  ] as const)('an offset on %s shifts its mean by ≈ the offset', (feature, offset) => {
    const biased = generateCohort(base({ [feature]: { offset, sd: 0 } }), SEED);
    const shift = columnMeans(biased)[col(feature)]! - columnMeans(plain)[col(feature)]!;
    expect(Math.abs(shift - offset)).toBeLessThan(0.05 * Math.abs(offset) + 0.06);
  });

  it('noise of sd s widens the spread to ≈ √(sd² + s²) and keeps the mean', () => {
    const noisy = generateCohort(base({ cholesterol: { offset: 0, sd: 20 } }), SEED);
    const j = col('cholesterol');
    const before = sd(column(plain.features, j));
    const after = sd(column(noisy.features, j));
    expect(after / Math.sqrt(before ** 2 + 400)).toBeGreaterThan(0.97);
    expect(after / Math.sqrt(before ** 2 + 400)).toBeLessThan(1.03);
    expect(Math.abs(columnMeans(noisy)[j]! - columnMeans(plain)[j]!)).toBeLessThan(1);
  });

  it('changes neither labels nor unmeasured features, and keeps precision and range', () => {
    const biased = generateCohort(
      base({ bmi: { offset: 2, sd: 1.3 }, glucose: { offset: 40, sd: 25 }, sbp: { offset: -30, sd: 10 } }),
      SEED,
    );
    expect(sameBytes(biased.labels, plain.labels)).toBe(true);
    for (const name of [
      'age',
      'sex_male',
      'cholesterol',
      'smoking_former',
      'smoking_current',
      'risk_alleles',
    ]) {
      expect(sameBytes(column(biased.features, col(name)), column(plain.features, col(name)))).toBe(true);
    }
    for (const [name, decimals] of [
      ['bmi', 1],
      ['sbp', 0],
      ['glucose', 0],
    ] as const) {
      const values = column(biased.features, col(name));
      const [lo, hi] = PLAUSIBLE_RANGES[name];
      const scale = 10 ** decimals;
      const outside = values.filter((v) => v < lo || v > hi).length;
      const imprecise = values.filter((v) => Math.abs(v * scale - Math.round(v * scale)) > 1e-3).length;
      expect({ name, outside, imprecise }).toEqual({ name, outside: 0, imprecise: 0 });
      expect(sameBytes(values, column(plain.features, col(name)))).toBe(false);
    }
  });

  it("one feature's settings do not change another feature's recorded values", () => {
    const a = generateCohort(base({ sbp: { offset: 3, sd: 5 } }), SEED);
    const b = generateCohort(base({ sbp: { offset: 3, sd: 5 }, bmi: { offset: 0, sd: 2 } }), SEED);
    expect(sameBytes(column(a.features, col('sbp')), column(b.features, col('sbp')))).toBe(true);
  });

  it('is deterministic and differs between hospitals with the same settings', () => {
    const m: Measurement = { glucose: { offset: 0, sd: 10 } };
    const a = generateCohort(base(m), SEED);
    const b = generateCohort(base(m), SEED);
    expect(sameBytes(a.features, b.features)).toBe(true);
    const other = generateCohort(hospital('kr-busan-2', 'KR', N, { measurement: m }), SEED);
    const otherPlain = generateCohort(hospital('kr-busan-2', 'KR', N), SEED);
    const noise = (biased: Float32Array, truth: Float32Array): Float32Array => {
      const t = column(truth, col('glucose'));
      return column(biased, col('glucose')).map((v, i) => v - t[i]!);
    };
    expect(sameBytes(noise(a.features, plain.features), noise(other.features, otherPlain.features))).toBe(
      false,
    );
  });

  it('rejects a non-finite offset or negative sd, naming the field but no value', () => {
    // Built past the schema, which would already refuse these.
    const bad = { ...base(), cohort: { measurement: { sbp: { offset: Number.NaN, sd: 0 } } } };
    expect(() => generateCohort(bad, SEED)).toThrow(CohortError);
    expect(() => generateCohort(bad, SEED)).toThrow(/measurement\.sbp\.offset/);
    const negative = { ...base(), cohort: { measurement: { glucose: { offset: 0, sd: -1 } } } };
    expect(() => generateCohort(negative, SEED)).toThrow(/measurement\.glucose\.sd/);
  });
});
