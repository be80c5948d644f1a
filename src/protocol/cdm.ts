import type { DataConfig } from '../scenario/schema.ts';
import { tabularColumns } from './own-data-layout.ts';

/**
 * The common data model: the feature layout every hospital maps its records to before training. It is an
 * agreement between sites (names, order, reference scaling), not data; both coordinator and clients read it.
 */

/** One model input of the tabular common data model. */
export interface CdmFeature {
  readonly name: string;
  /** What the value means, with its unit. */
  readonly description: string;
  /** Reference centre subtracted before training (a published clinical reference, not a site statistic). */
  readonly centre: number;
  /** Reference scale divided by after centring. */
  readonly scale: number;
}

/** Model inputs of the tabular cohort, in order. */
export const COHORT_FEATURES: readonly CdmFeature[] = [
  { name: 'age', description: 'age in years', centre: 55, scale: 15 },
  { name: 'sex_male', description: '1 if male, 0 if female', centre: 0.5, scale: 0.5 },
  { name: 'bmi', description: 'body-mass index in kg/m²', centre: 24, scale: 4 },
  { name: 'sbp', description: 'systolic blood pressure in mmHg', centre: 125, scale: 18 },
  { name: 'glucose', description: 'fasting plasma glucose in mg/dL', centre: 100, scale: 25 },
  { name: 'cholesterol', description: 'total cholesterol in mg/dL', centre: 195, scale: 40 },
  { name: 'smoking_former', description: '1 if a former smoker', centre: 0, scale: 1 },
  { name: 'smoking_current', description: '1 if a current smoker', centre: 0, scale: 1 },
  {
    name: 'risk_alleles',
    description: 'count of risk alleles at the marker locus (0, 1 or 2)',
    centre: 0.5,
    scale: 0.7,
  },
];

/** Name of the binary outcome in the cohort common data model. */
export const COHORT_LABEL = 'disease';

/** The shape of one example's input for the data a scenario declares. */
export function inputShapeOf(data: DataConfig): readonly number[] {
  switch (data.kind) {
    case 'synthetic-cohort':
      return [COHORT_FEATURES.length];
    case 'synthetic-imaging':
      return [data.size, data.size, 1];
    case 'tabular':
      return [tabularColumns(data).length];
    case 'image-folder':
      return [data.height, data.width, data.channels];
  }
}
