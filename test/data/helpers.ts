import { hospitalSchema, type HospitalConfig } from '../../src/scenario/schema.ts';
import type { Cohort } from '../../src/clients/data/cohort.ts';

export function hospital(
  id: string,
  country: string,
  patients: number,
  cohort: HospitalConfig['cohort'] = {},
): HospitalConfig {
  return hospitalSchema.parse({ id, country, patients, cohort });
}

export function columnMeans(c: Cohort): Float64Array {
  const d = c.features.length / c.n;
  const mean = new Float64Array(d);
  for (let i = 0; i < c.n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + c.features[i * d + j]!;
  return mean.map((s) => s / c.n);
}

export function prevalenceOf(labels: Uint8Array): number {
  let s = 0;
  for (const y of labels) s += y;
  return s / labels.length;
}
