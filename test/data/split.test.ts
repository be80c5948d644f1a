import { dataSchema } from '../../src/scenario/data-schema.ts';
import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { buildLocalData } from '../../src/clients/data/index.ts';
import { generateCohort } from '../../src/clients/data/cohort.ts';
import { splitTrainTest, toExamples, SplitError } from '../../src/clients/data/split.ts';
import { COHORT_FEATURES } from '../../src/protocol/cdm.ts';
import { hospital } from './helpers.ts';

function isSortedAscending(a: Uint32Array): boolean {
  for (let i = 1; i < a.length; i++) if (a[i - 1]! >= a[i]!) return false;
  return true;
}

describe('splitTrainTest', () => {
  it('is stratified, disjoint, sorted and covers every row', () => {
    const labels = new Uint8Array(1000);
    for (let i = 0; i < 1000; i++) labels[i] = i % 10 === 3 ? 1 : 0; // 100 positives
    const { train, test } = splitTrainTest(labels, 0.25, stream(1, 'split', 'h'));
    expect(train.length + test.length).toBe(1000);
    expect(isSortedAscending(train)).toBe(true);
    expect(isSortedAscending(test)).toBe(true);
    const seen = new Uint8Array(1000);
    for (const i of train) seen[i]!++;
    for (const i of test) seen[i]!++;
    expect(seen.every((s) => s === 1)).toBe(true);
    let testPos = 0;
    for (const i of test) testPos += labels[i]!;
    expect(testPos).toBe(25);
    expect(test.length).toBe(250);
  });

  it('puts at least one example of each class with two or more members in test', () => {
    const labels = new Uint8Array(100);
    labels[17] = 1;
    labels[60] = 1;
    const { train, test } = splitTrainTest(labels, 0.1, stream(1, 'split', 'h'));
    const testPos = [...test].filter((i) => labels[i] === 1).length;
    const trainPos = [...train].filter((i) => labels[i] === 1).length;
    expect(testPos).toBe(1);
    expect(trainPos).toBe(1);
    const lone = new Uint8Array(50);
    lone[3] = 1;
    const s = splitTrainTest(lone, 0.5, stream(1, 'split', 'h'));
    expect([...s.train]).toContain(3);
  });

  it('is deterministic given the stream and differs between streams', () => {
    const labels = generateCohort(hospital('h-1', 'KR', 2000), 1).labels;
    const a = splitTrainTest(labels, 0.3, stream(1, 'split', 'h-1'));
    const b = splitTrainTest(labels, 0.3, stream(1, 'split', 'h-1'));
    const c = splitTrainTest(labels, 0.3, stream(2, 'split', 'h-1'));
    expect([...a.test]).toEqual([...b.test]);
    expect([...a.test]).not.toEqual([...c.test]);
  });

  it('rejects bad fractions and labels without patient values', () => {
    expect(() => splitTrainTest(new Uint8Array(10), 0, stream(1))).toThrow(SplitError);
    expect(() => splitTrainTest(new Uint8Array(10), 1, stream(1))).toThrow(SplitError);
    expect(() => splitTrainTest(Uint8Array.from([0, 1, 7]), 0.5, stream(1))).toThrow(/row 2/);
  });
});

describe('toExamples', () => {
  it('standardizes with the CDM reference centre and scale', () => {
    const cohort = generateCohort(hospital('h-1', 'CN', 50), 1);
    const rows = Uint32Array.from([4, 0, 49]);
    const ex = toExamples(cohort, rows);
    const d = COHORT_FEATURES.length;
    expect(ex.n).toBe(3);
    expect(ex.inputShape).toEqual([9]);
    expect(ex.x.length).toBe(3 * d);
    rows.forEach((row, r) => {
      COHORT_FEATURES.forEach((f, j) => {
        expect(ex.x[r * d + j]).toBeCloseTo((cohort.features[row * d + j]! - f.centre) / f.scale, 6);
      });
      expect(ex.y[r]).toBe(cohort.labels[row]);
    });
  });

  it('standardizes a hand-made patient exactly', () => {
    const features = Float32Array.from([70, 1, 28, 143, 150, 235, 0, 1, 2]);
    const ex = toExamples({ n: 1, features, labels: Uint8Array.from([1]) }, Uint32Array.from([0]));
    const expected = [1, 1, 1, 1, 2, 1, 0, 1, 1.5 / 0.7];
    expected.forEach((v, j) => expect(ex.x[j]).toBeCloseTo(v, 6));
    expect(ex.y[0]).toBe(1);
  });

  it('rejects an out-of-range row by position', () => {
    const cohort = generateCohort(hospital('h-1', 'CN', 20), 1);
    expect(() => toExamples(cohort, Uint32Array.from([0, 20]))).toThrow(/position 1/);
  });
});

describe('buildLocalData', () => {
  it('splits a hospital into train and test deterministically', () => {
    const h = hospital('kr-seoul-1', 'KR', 1000);
    const data = dataSchema.parse({ kind: 'synthetic-cohort', testFraction: 0.25 });
    const ctx = { seed: 7, data, hospitals: [h], baseDir: '.' };
    const a = buildLocalData(h.id, ctx);
    const b = buildLocalData(h.id, ctx);
    expect(a.train.n + a.test.n).toBe(1000);
    expect(a.test.n).toBeGreaterThanOrEqual(245);
    expect(a.test.n).toBeLessThanOrEqual(255);
    expect(a.train.inputShape).toEqual([9]);
    expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(b.train.x.buffer))).toBe(true);
    expect(Buffer.from(a.test.y.buffer).equals(Buffer.from(b.test.y.buffer))).toBe(true);
  });
});
