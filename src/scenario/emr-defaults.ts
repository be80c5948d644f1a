/** Fields of the tabular common data model as a site records them (before encoding for the model). */
export const CDM_FIELDS = [
  'id',
  'age',
  'sex',
  'bmi',
  'sbp',
  'glucose',
  'cholesterol',
  'smoking',
  'risk_alleles',
  'disease',
] as const;

/** A site's EMR schema when the scenario gives none: CDM field names, mg/dL, and the codes below. */
export const DEFAULT_EMR = {
  columns: {},
  units: { glucose: 'mg/dL', cholesterol: 'mg/dL' },
  codes: {
    sex: { male: 'M', female: 'F' },
    smoking: { never: 'never', former: 'former', current: 'current' },
    disease: { yes: '1', no: '0' },
  },
} as const;
