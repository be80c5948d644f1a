import { permutation } from '../../common/rng.ts';
import type { Rng } from '../../common/rng.ts';
import { COHORT_FEATURES } from '../../protocol/cdm.ts';
import type { Examples } from '../../models/types.ts';
import type { Cohort } from './cohort.ts';

/** A split or conversion that cannot be done; names the field or row, never a patient value. */
export class SplitError extends Error {
  override readonly name = 'SplitError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Stratified train/test split: each class sends `round(size × testFraction)` of its rows to test, but at
 * least one and at most all but one when the class has two or more rows (a lone row stays in train).
 * Indices are sorted ascending within each split.
 */
export function splitTrainTest(
  labels: Uint8Array,
  testFraction: number,
  rng: Rng,
): { train: Uint32Array; test: Uint32Array } {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new SplitError('testFraction', 'testFraction: expected a number strictly between 0 and 1');
  }
  const negatives: number[] = [];
  const positives: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y === 0) negatives.push(i);
    else if (y === 1) positives.push(i);
    else throw new SplitError('labels', `label at row ${i}: expected 0 or 1`);
  }
  const test: number[] = [];
  const train: number[] = [];
  for (const rows of [negatives, positives]) {
    const size = rows.length;
    let nTest = Math.round(size * testFraction);
    if (size >= 2) nTest = Math.min(size - 1, Math.max(1, nTest));
    else nTest = 0;
    const order = permutation(size, rng);
    for (let k = 0; k < size; k++) (k < nTest ? test : train).push(rows[order[k]!]!);
  }
  return { train: Uint32Array.from(train).sort(), test: Uint32Array.from(test).sort() };
}

/** The given rows of a cohort as Examples, each feature standardized by the CDM's reference centre and scale. */
export function toExamples(cohort: Cohort, rows: Uint32Array): Examples {
  const d = COHORT_FEATURES.length;
  if (cohort.features.length !== cohort.n * d || cohort.labels.length !== cohort.n) {
    throw new SplitError('cohort', `cohort: expected ${d} features and one label per patient`);
  }
  const centre = Float64Array.from(COHORT_FEATURES, (f) => f.centre);
  const scale = Float64Array.from(COHORT_FEATURES, (f) => f.scale);
  const n = rows.length;
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    const row = rows[r]!;
    if (row >= cohort.n)
      throw new SplitError('rows', `row index at position ${r}: expected below ${cohort.n}`);
    const src = row * d;
    const dst = r * d;
    for (let j = 0; j < d; j++) x[dst + j] = (cohort.features[src + j]! - centre[j]!) / scale[j]!;
    y[r] = cohort.labels[row]!;
  }
  return { x, y, n, inputShape: [d] };
}
