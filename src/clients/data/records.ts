import { COHORT_FEATURES } from '../../protocol/cdm.ts';
import type { Examples } from '../../models/types.ts';
import type { Cohort } from './cohort.ts';
import { imagesToExamples, type ImageSet } from './imaging.ts';
import { toExamples } from './split.ts';

/** A hospital's records of either kind, as the split, the partitioners and subgroup metrics need them. */
export type Records =
  { readonly kind: 'cohort'; readonly set: Cohort } | { readonly kind: 'images'; readonly set: ImageSet };

const AGE = COHORT_FEATURES.findIndex((f) => f.name === 'age');
const SEX_MALE = COHORT_FEATURES.findIndex((f) => f.name === 'sex_male');
const D = COHORT_FEATURES.length;

/** Number of records. */
export const sizeOf = (r: Records): number => r.set.n;

/** Labels of every record. */
export const labelsOf = (r: Records): Uint8Array => r.set.labels;

/** The given rows as model inputs on the common scale. */
export function examplesOf(r: Records, rows: Uint32Array): Examples {
  return r.kind === 'cohort' ? toExamples(r.set, rows) : imagesToExamples(r.set, rows);
}

/** The given rows, in the given order, as records of the same kind. */
export function selectRows(r: Records, rows: ArrayLike<number>): Records {
  return r.kind === 'cohort'
    ? { kind: 'cohort', set: selectCohort(r.set, rows) }
    : { kind: 'images', set: selectImages(r.set, rows) };
}

/** Records laid end to end, in the order given. */
export function concatRecords(parts: readonly Records[]): Records {
  const first = parts[0];
  if (first === undefined) throw new Error('concatRecords: nothing to concatenate');
  const offsets: number[] = [];
  let n = 0;
  for (const p of parts) {
    if (p.kind !== first.kind) throw new Error('concatRecords: records of different kinds');
    offsets.push(n);
    n += p.set.n;
  }
  if (first.kind === 'cohort') {
    const features = new Float32Array(n * D);
    const labels = new Uint8Array(n);
    parts.forEach((p, k) => {
      const c = p.set as Cohort;
      features.set(c.features, offsets[k]! * D);
      labels.set(c.labels, offsets[k]!);
    });
    return { kind: 'cohort', set: { n, features, labels } };
  }
  const size = first.set.size;
  const pixels = new Float32Array(n * size * size);
  const labels = new Uint8Array(n);
  const sex = new Uint8Array(n);
  const age = new Uint8Array(n);
  parts.forEach((p, k) => {
    const s = p.set as ImageSet;
    if (s.size !== size) throw new Error('concatRecords: images of different sizes');
    pixels.set(s.pixels, offsets[k]! * size * size);
    labels.set(s.labels, offsets[k]!);
    sex.set(s.sex, offsets[k]!);
    age.set(s.age, offsets[k]!);
  });
  return { kind: 'images', set: { n, size, pixels, labels, sex, age } };
}

/** Subgroup masks over the given rows: sex and age band, where the records have them. */
export function subgroupsOf(r: Records, rows: Uint32Array): Record<string, Uint8Array> {
  const male = new Uint8Array(rows.length);
  const age = new Float32Array(rows.length);
  rows.forEach((row, i) => {
    if (r.kind === 'cohort') {
      male[i] = r.set.features[row * D + SEX_MALE]! >= 0.5 ? 1 : 0;
      age[i] = r.set.features[row * D + AGE]!;
    } else {
      male[i] = r.set.sex[row]!;
      age[i] = r.set.age[row]!;
    }
  });
  const mask = (pred: (i: number) => boolean) =>
    Uint8Array.from({ length: rows.length }, (_, i) => (pred(i) ? 1 : 0));
  return {
    female: mask((i) => male[i] === 0),
    male: mask((i) => male[i] === 1),
    age_lt50: mask((i) => age[i]! < 50),
    age_50_64: mask((i) => age[i]! >= 50 && age[i]! < 65),
    age_65plus: mask((i) => age[i]! >= 65),
  };
}

function selectCohort(c: Cohort, rows: ArrayLike<number>): Cohort {
  const n = rows.length;
  const features = new Float32Array(n * D);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    features.set(c.features.subarray(r * D, (r + 1) * D), i * D);
    labels[i] = c.labels[r]!;
  }
  return { n, features, labels };
}

function selectImages(s: ImageSet, rows: ArrayLike<number>): ImageSet {
  const n = rows.length;
  const px = s.size * s.size;
  const pixels = new Float32Array(n * px);
  const labels = new Uint8Array(n);
  const sex = new Uint8Array(n);
  const age = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    pixels.set(s.pixels.subarray(r * px, (r + 1) * px), i * px);
    labels[i] = s.labels[r]!;
    sex[i] = s.sex[r]!;
    age[i] = s.age[r]!;
  }
  return { n, size: s.size, pixels, labels, sex, age };
}
