import { stream } from '../../common/rng.ts';
import type { Examples } from '../../models/types.ts';
import type { DataConfig, HospitalConfig } from '../../scenario/schema.ts';
import { generateCohort } from './cohort.ts';
import { splitTrainTest, toExamples } from './split.ts';

export { generateCohort, CohortError, DISEASE_MECHANISM, PLAUSIBLE_RANGES } from './cohort.ts';
export type { Cohort } from './cohort.ts';
export { profileFor, PopulationProfileError } from './populations.ts';
export type { ResolvedCohortProfile } from './populations.ts';
export { splitTrainTest, toExamples, SplitError } from './split.ts';

/**
 * A hospital's local data, built inside its worker: the synthetic cohort from `seed/data/<id>`, split into
 * train and held-out test with `seed/split/<id>`, standardized on the common data model's reference scale.
 */
export function buildPartition(
  hospital: HospitalConfig,
  data: DataConfig,
  seed: number,
): { train: Examples; test: Examples } {
  switch (data.kind) {
    case 'synthetic-cohort': {
      const cohort = generateCohort(hospital, seed);
      const { train, test } = splitTrainTest(
        cohort.labels,
        data.testFraction,
        stream(seed, 'split', hospital.id),
      );
      return { train: toExamples(cohort, train), test: toExamples(cohort, test) };
    }
  }
}
