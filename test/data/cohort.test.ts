import { describe, expect, it } from 'vitest';
import { generateCohort, PLAUSIBLE_RANGES, CohortError } from '../../src/clients/data/cohort.ts';
import { profileFor, PopulationProfileError } from '../../src/clients/data/populations.ts';
import { COHORT_FEATURES } from '../../src/protocol/cdm.ts';
import { columnMeans, hospital, prevalenceOf } from './helpers.ts';

const col = (name: string): number => COHORT_FEATURES.findIndex((f) => f.name === name);

describe('generateCohort', () => {
  it('is deterministic per (seed, hospital id)', () => {
    const h = hospital('kr-seoul-1', 'KR', 3000);
    const a = generateCohort(h, 42);
    const b = generateCohort(structuredClone(h), 42);
    expect(a.n).toBe(3000);
    expect(a.features.length).toBe(3000 * COHORT_FEATURES.length);
    expect(Buffer.from(a.features.buffer).equals(Buffer.from(b.features.buffer))).toBe(true);
    expect(Buffer.from(a.labels.buffer).equals(Buffer.from(b.labels.buffer))).toBe(true);
  });

  it("does not depend on other hospitals' settings", () => {
    const mine = hospital('cn-shanghai-2', 'CN', 2000);
    const before = generateCohort(mine, 9);
    // Other hospitals (different ids, sizes, overrides) are generated in between and with other settings.
    generateCohort(hospital('kr-seoul-1', 'KR', 5000, { prevalence: 0.3 }), 9);
    generateCohort(hospital('kr-seoul-1', 'KR', 100, { ageMean: 80, labelNoise: 0.2 }), 9);
    const after = generateCohort(mine, 9);
    expect(Buffer.from(after.features.buffer).equals(Buffer.from(before.features.buffer))).toBe(true);
    expect(Buffer.from(after.labels.buffer).equals(Buffer.from(before.labels.buffer))).toBe(true);
  });

  it('differs between seeds and between hospital ids', () => {
    const h = hospital('kr-seoul-1', 'KR', 500);
    const a = generateCohort(h, 1);
    const b = generateCohort(h, 2);
    const c = generateCohort(hospital('kr-seoul-2', 'KR', 500), 1);
    expect(Buffer.from(a.features.buffer).equals(Buffer.from(b.features.buffer))).toBe(false);
    expect(Buffer.from(a.features.buffer).equals(Buffer.from(c.features.buffer))).toBe(false);
  });

  it.each([
    ['KR', 0.1, 0.015],
    ['CN', 0.1, 0.015],
    ['KR', 0.01, 0.004],
    ['CN', 0.01, 0.004],
    ['BR', 0.3, 0.02],
  ])('achieves the target prevalence (%s, %f)', (country, target, tol) => {
    const c = generateCohort(hospital('h-1', country, 20_000, { prevalence: target }), 11);
    expect(Math.abs(prevalenceOf(c.labels) - target)).toBeLessThan(tol);
  });

  it('uses the country default prevalence when not overridden', () => {
    for (const country of ['KR', 'CN', 'FR']) {
      const target = profileFor(country, {}).prevalence;
      const c = generateCohort(hospital('h-1', country, 20_000), 5);
      expect(Math.abs(prevalenceOf(c.labels) - target)).toBeLessThan(0.015);
    }
  });

  it('flips labels with probability labelNoise', () => {
    const clean = generateCohort(hospital('h-1', 'KR', 20_000, { prevalence: 0.1 }), 3);
    const noisy = generateCohort(hospital('h-1', 'KR', 20_000, { prevalence: 0.1, labelNoise: 0.1 }), 3);
    expect(Buffer.from(noisy.features.buffer).equals(Buffer.from(clean.features.buffer))).toBe(true);
    let flips = 0;
    for (let i = 0; i < clean.n; i++) if (clean.labels[i] !== noisy.labels[i]) flips++;
    expect(Math.abs(flips / clean.n - 0.1)).toBeLessThan(0.015);
    // Recorded prevalence is p(1 − ε) + (1 − p)ε.
    expect(Math.abs(prevalenceOf(noisy.labels) - 0.18)).toBeLessThan(0.015);
  });

  it('gives KR and CN visibly different populations', () => {
    const kr = columnMeans(generateCohort(hospital('kr-1', 'KR', 20_000), 1));
    const cn = columnMeans(generateCohort(hospital('cn-1', 'CN', 20_000), 1));
    const alleles = col('risk_alleles');
    expect(kr[alleles]).toBeCloseTo(2 * profileFor('KR', {}).riskAlleleFrequency, 1);
    expect(cn[alleles]).toBeCloseTo(2 * profileFor('CN', {}).riskAlleleFrequency, 1);
    expect(cn[alleles]! - kr[alleles]!).toBeGreaterThan(0.1);
    expect(cn[col('sbp')]! - kr[col('sbp')]!).toBeGreaterThan(5);
    expect(cn[col('age')]! - kr[col('age')]!).toBeGreaterThan(2);
    expect(kr[col('smoking_former')]! - cn[col('smoking_former')]!).toBeGreaterThan(0.1);
  });

  it("matches the profile's means, with overrides winning", () => {
    const c = generateCohort(
      hospital('kr-2', 'KR', 20_000, {
        ageMean: 65,
        glucoseMean: 110,
        maleFraction: 0.7,
        riskAlleleFrequency: 0.4,
      }),
      1,
    );
    const m = columnMeans(c);
    expect(Math.abs(m[col('age')]! - 65)).toBeLessThan(0.5);
    expect(Math.abs(m[col('glucose')]! - 110)).toBeLessThan(2);
    expect(Math.abs(m[col('sex_male')]! - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(m[col('risk_alleles')]! - 0.8)).toBeLessThan(0.03);
    expect(Math.abs(m[col('bmi')]! - 24)).toBeLessThan(0.2);
  });

  it('keeps values in physiological ranges and codes binary features as 0/1', () => {
    const c = generateCohort(hospital('x-1', 'CN', 20_000, { ageMean: 90, ageSd: 30, bmiMean: 44 }), 2);
    const d = COHORT_FEATURES.length;
    const ranges: Record<string, readonly [number, number]> = {
      ...PLAUSIBLE_RANGES,
      sex_male: [0, 1],
      smoking_former: [0, 1],
      smoking_current: [0, 1],
      risk_alleles: [0, 2],
    };
    const outOfRange = new Array<number>(d).fill(0);
    let notInteger = 0;
    let bothSmoking = 0;
    for (let i = 0; i < c.n; i++) {
      for (let j = 0; j < d; j++) {
        const [lo, hi] = ranges[COHORT_FEATURES[j]!.name]!;
        const v = c.features[i * d + j]!;
        if (!(v >= lo && v <= hi)) outOfRange[j]!++;
      }
      for (const name of ['sex_male', 'smoking_former', 'smoking_current', 'risk_alleles']) {
        if (!Number.isInteger(c.features[i * d + col(name)])) notInteger++;
      }
      if (c.features[i * d + col('smoking_former')]! + c.features[i * d + col('smoking_current')]! > 1)
        bothSmoking++;
    }
    expect(outOfRange).toEqual(new Array<number>(d).fill(0));
    expect(notInteger).toBe(0);
    expect(bothSmoking).toBe(0);
    expect(c.labels.every((y) => y === 0 || y === 1)).toBe(true);
  });

  it('smokes more among men in both countries', () => {
    for (const country of ['KR', 'CN']) {
      const c = generateCohort(hospital('s-1', country, 20_000), 4);
      const d = COHORT_FEATURES.length;
      const count = [0, 0];
      const smokers = [0, 0];
      for (let i = 0; i < c.n; i++) {
        const male = c.features[i * d + col('sex_male')]!;
        count[male]!++;
        smokers[male]! += c.features[i * d + col('smoking_current')]!;
      }
      expect(smokers[1]! / count[1]!).toBeGreaterThan(3 * (smokers[0]! / count[0]!));
    }
  });

  it('rejects an impossible profile naming the field and hospital, not a value', () => {
    const smoking = hospital('bad-1', 'KR', 100, { currentSmokerRate: 0.9 });
    expect(() => generateCohort(smoking, 1)).toThrow(CohortError);
    expect(() => generateCohort(smoking, 1)).toThrow(
      /^hospital bad-1: cohort\.currentSmokerRate \+ formerSmokerRate/,
    );
    expect(() => profileFor('KR', smoking.cohort)).toThrow(PopulationProfileError);
    const empty = { ...hospital('bad-1', 'KR', 100), patients: 0 };
    expect(() => generateCohort(empty, 1)).toThrow(CohortError);
    expect(() => generateCohort(empty, 1)).toThrow(/bad-1/);
  });
});
