import { z } from 'zod';
import { MAX_DIRICHLET_ALPHA, MIN_DIRICHLET_ALPHA } from './dirichlet-range.ts';
import { CDM_FIELDS, DEFAULT_EMR } from './emr-defaults.ts';

const ALPHA_RANGE = `expected a number from ${MIN_DIRICHLET_ALPHA} to ${MAX_DIRICHLET_ALPHA}`;

/** How records are divided among hospitals. */
export const partitionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('natural') }).describe("each hospital's own population (the default)"),
  z
    .strictObject({ kind: z.literal('iid') })
    .describe("all hospitals' records pooled and dealt at random, sizes as declared"),
  z
    .strictObject({
      kind: z.literal('dirichlet'),
      alpha: z
        .number({ error: ALPHA_RANGE })
        .min(MIN_DIRICHLET_ALPHA, { error: ALPHA_RANGE })
        .max(MAX_DIRICHLET_ALPHA, { error: ALPHA_RANGE })
        .describe(
          `concentration, from ${MIN_DIRICHLET_ALPHA} (each class almost wholly at one hospital) to ${MAX_DIRICHLET_ALPHA} (nearly IID)`,
        ),
      minPerHospital: z
        .int()
        .min(2)
        .default(2)
        .describe('proportions are drawn again until every hospital holds at least this many records'),
    })
    .describe(
      'label skew: each class split among hospitals by proportions ~ Dirichlet(alpha); small alpha, strong skew',
    ),
  z
    .strictObject({
      kind: z.literal('quantity-skew'),
      distribution: z.enum(['lognormal', 'power-law']).default('lognormal'),
      sigma: z.number().positive().max(5).default(1).describe('lognormal: standard deviation of log size'),
      exponent: z
        .number()
        .positive()
        .max(10)
        .default(1.5)
        .describe('power-law: i-th hospital size ∝ i^-exponent'),
    })
    .describe('sizes skewed, labels IID; the total is the sum of declared sizes'),
  z
    .strictObject({ kind: z.literal('pathological'), classesPerClient: z.int().min(1).max(2) })
    .describe('each hospital holds only k of the classes (McMahan et al. 2017)'),
]);

/** A site's scanner: how its images depart from an ideal acquisition (feature shift between sites). */
export const scannerSchema = z.strictObject({
  contrast: z.number().positive().max(4).default(1).describe('multiplies lesion-to-background contrast'),
  noise: z.number().min(0).max(2).default(0.1).describe('standard deviation of additive Gaussian noise'),
  blur: z.number().min(0).max(4).default(0).describe('Gaussian blur sigma, in pixels'),
  shift: z.number().min(-2).max(2).default(0).describe('intensity offset added to every pixel'),
});

/** Imaging settings of one site (used when the data kind is synthetic-imaging). */
export const imagingSiteSchema = z.strictObject({
  prevalence: z
    .number()
    .gt(0)
    .lt(1)
    .optional()
    .describe('share of scans with a lesion (default: the data setting)'),
  scanner: scannerSchema.default({ contrast: 1, noise: 0.1, blur: 0, shift: 0 }),
});

const columnName = z.string().min(1).max(200);

/** A hospital's own names, units and codes for the declared fields of a table (tabular data). */
const fieldMapping = {
  columns: z
    .record(z.string(), columnName)
    .default({})
    .describe(
      "this hospital's column name of each declared field (feature, outcome, id); absent: the field's name",
    ),
  units: z
    .record(
      z.string(),
      z.strictObject({
        unit: z.string().max(40).optional().describe("the hospital's unit, for the reader"),
        factor: z
          .number()
          .refine((x) => x !== 0 && Number.isFinite(x), { error: 'expected a finite non-zero number' }),
        offset: z.number().default(0),
      }),
    )
    .default({})
    .describe("per numeric field: value in the declared unit = this hospital's value × factor + offset"),
  codes: z
    .record(z.string(), z.record(z.string(), z.string().max(200)))
    .default({})
    .describe(
      "per categorical field (or the outcome): the hospital's code of each declared category or class",
    ),
  missing: z
    .array(z.string().max(40))
    .max(20)
    .default([''])
    .describe('cell texts that mean "not recorded" (after trimming); the empty cell by default'),
};

/** How a hospital's held-out split is chosen when it loads its own files. */
export const splitRuleSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({ kind: z.literal('fraction') })
    .describe("a seeded stratified split at the data's testFraction"),
  z
    .strictObject({
      kind: z.literal('column'),
      column: z.string().min(1).describe("column naming each row's split"),
      testValue: z.string().min(1).default('test').describe('value that marks a held-out row'),
    })
    .describe('the split recorded in the file'),
]);

/** Where a hospital's records come from: generated in its worker, or read there from its own files. */
export const sourceSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('table'),
      path: z.string().min(1).describe('CSV file, relative to the scenario file'),
      ...fieldMapping,
      split: splitRuleSchema.default({ kind: 'fraction' }),
    })
    .describe(
      "a CSV of any schema (data kind tabular), read through this hospital's own names, units and codes",
    ),
  z
    .strictObject({
      kind: z.literal('image-folder'),
      folder: z.string().min(1).describe('folder of PNG, JPEG or DICOM files, relative to the scenario file'),
      labels: z.string().min(1).describe('CSV, relative to the scenario file, with one row per image'),
      fileColumn: z.string().min(1).default('file'),
      labelColumn: z.string().min(1).default('label'),
      codes: z
        .record(z.string(), z.string().max(200))
        .default({})
        .describe("this hospital's code of each declared class, where it differs from the class name"),
      split: splitRuleSchema.default({ kind: 'fraction' }),
    })
    .describe('a folder of images (data kind image-folder) with a labels CSV'),
  z.strictObject({ kind: z.literal('generate') }).describe('synthetic records generated inside the worker'),
  z
    .strictObject({
      kind: z.literal('csv'),
      path: z.string().min(1).describe('CSV file, relative to the scenario file'),
      split: splitRuleSchema.default({ kind: 'fraction' }),
    })
    .describe("a local CSV file in the hospital's own schema (see emr)"),
  z
    .strictObject({
      kind: z.literal('dicom'),
      folder: z.string().min(1).describe('folder of DICOM files, relative to the scenario file'),
      labels: z.string().min(1).describe('CSV, relative to the scenario file, with one row per image'),
      fileColumn: z.string().min(1).default('file'),
      labelColumn: z.string().min(1).default('lesion'),
      split: splitRuleSchema.default({ kind: 'fraction' }),
    })
    .describe('a folder of DICOM images with a labels CSV'),
]);

/** A hospital's own record format, mapped to the common data model inside its worker. */
export const emrSchema = z
  .strictObject({
    columns: z
      .partialRecord(z.enum(CDM_FIELDS), z.string().min(1))
      .default({})
      .describe('column name of each common-data-model field; absent: the field name itself'),
    units: z
      .strictObject({
        glucose: z.enum(['mg/dL', 'mmol/L']).default(DEFAULT_EMR.units.glucose),
        cholesterol: z.enum(['mg/dL', 'mmol/L']).default(DEFAULT_EMR.units.cholesterol),
      })
      .default(DEFAULT_EMR.units)
      .describe('units of the laboratory values'),
    codes: z
      .strictObject({
        sex: z
          .strictObject({ male: z.string().min(1), female: z.string().min(1) })
          .default(DEFAULT_EMR.codes.sex),
        smoking: z
          .strictObject({ never: z.string().min(1), former: z.string().min(1), current: z.string().min(1) })
          .default(DEFAULT_EMR.codes.smoking),
        disease: z
          .strictObject({ yes: z.string().min(1), no: z.string().min(1) })
          .default(DEFAULT_EMR.codes.disease),
      })
      .default(DEFAULT_EMR.codes)
      .describe('category codes'),
  })
  .superRefine((emr, ctx) => {
    const owner = new Map<string, (typeof CDM_FIELDS)[number]>();
    for (const field of CDM_FIELDS) {
      const name = emr.columns[field] ?? field;
      const other = owner.get(name);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['columns', emr.columns[field] === undefined ? other : field],
          message: `expected a distinct column for each field, but both ${other} and ${field} map to ${JSON.stringify(name)}`,
        });
      }
      owner.set(name, field);
    }
  })
  .describe("a site's EMR schema: column names, units and category codes");

/** What data the hospitals hold. */
const dataSeed = z
  .int()
  .min(0)
  .max(2 ** 32 - 1)
  .optional()
  .describe(
    "seed of the patients, the partition and the held-out splits; absent: the run's seed. Pin it to keep one " +
      'federation while the run seed varies initialisation, shuffling and sampling',
  );

const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, {
  error: 'expected letters, digits and underscores, starting with a letter',
});

/** One declared feature of a table: numeric, or categorical with its categories, and what a missing cell means. */
export const featureSchema = z.strictObject({
  name: fieldName,
  type: z.enum(['numeric', 'categorical']),
  unit: z.string().max(40).optional().describe('unit of a numeric feature, for the reader'),
  categories: z
    .array(z.string().min(1).max(200))
    .min(2)
    .max(256)
    .optional()
    .describe('categories of a categorical feature (one-hot encoded, in this order)'),
  missing: z
    .enum(['error', 'drop', 'impute', 'impute-indicator'])
    .default('error')
    .describe(
      'a missing cell: bad input; drop the row; impute the (federated) mean, for a category its frequency; or ' +
        'impute and add a 0/1 column <name>_missing',
    ),
});

/** What a model predicts from a table or an image. */
export const outcomeSchema = z.discriminatedUnion('type', [
  z
    .strictObject({
      name: fieldName.default('outcome'),
      type: z.literal('binary'),
      classes: z
        .tuple([z.string().min(1).max(200), z.string().min(1).max(200)])
        .default(['0', '1'])
        .describe('the negative and the positive class'),
    })
    .describe('two classes, one sigmoid output'),
  z
    .strictObject({
      name: fieldName.default('outcome'),
      type: z.literal('multiclass'),
      classes: z.array(z.string().min(1).max(200)).min(2).max(256).describe('every class, in output order'),
    })
    .describe('K classes, a softmax output'),
  z
    .strictObject({
      name: fieldName.default('outcome'),
      type: z.literal('continuous'),
      unit: z.string().max(40).optional(),
    })
    .describe('a number, a linear output and squared error'),
]);

/** How inputs are scaled before training, and where the statistics come from. */
export const preprocessingSchema = z.strictObject({
  scaling: z
    .enum(['federated-standardise', 'federated-min-max', 'local-standardise', 'none'])
    .default('federated-standardise')
    .describe(
      'federated: each hospital sends counts, sums, centred sums of squares, minima and maxima of its training ' +
        'split, the coordinator combines them and broadcasts one transform; local: each hospital its own; none',
    ),
});

const ownFiles = z
  .strictObject({ kind: z.literal('natural') })
  .default({ kind: 'natural' })
  .describe("each hospital's own files (use fedmed split to partition a pooled dataset)");

export const dataSchema = z.discriminatedUnion('kind', [
  z
    .strictObject({
      kind: z.literal('tabular'),
      seed: dataSeed,
      testFraction: z.number().gt(0).lt(1).default(0.25),
      partition: ownFiles,
      features: z.array(featureSchema).min(1).max(1024),
      outcome: outcomeSchema,
      id: fieldName.optional().describe('a record id field: must be present, never used as a feature'),
      preprocessing: preprocessingSchema.default({ scaling: 'federated-standardise' }),
    })
    .describe("any table: declared features and outcome, each hospital's CSV read through its own mapping"),
  z
    .strictObject({
      kind: z.literal('image-folder'),
      seed: dataSeed,
      testFraction: z.number().gt(0).lt(1).default(0.25),
      partition: ownFiles,
      height: z.int().min(1).max(1024),
      width: z.int().min(1).max(1024),
      channels: z.int().min(1).max(4).default(1).describe('1: grey (colour images are averaged), 3: RGB'),
      outcome: outcomeSchema,
      preprocessing: preprocessingSchema.default({ scaling: 'none' }),
    })
    .describe('images of any size from PNG, JPEG or DICOM files, labels from a CSV'),
  z
    .strictObject({
      kind: z.literal('synthetic-cohort'),
      seed: dataSeed,
      testFraction: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.25)
        .describe('share of each hospital held out for evaluation'),
      partition: partitionSchema.default({ kind: 'natural' }),
      harmonise: z
        .boolean()
        .default(true)
        .describe("map each site's EMR schema to the common data model; false shows what skipping it costs"),
    })
    .describe('tabular cohort: demographics, vital signs, laboratory values, smoking, a genetic marker'),
  z
    .strictObject({
      kind: z.literal('synthetic-imaging'),
      seed: dataSeed,
      testFraction: z.number().gt(0).lt(1).default(0.25),
      partition: partitionSchema.default({ kind: 'natural' }),
      size: z.int().min(8).max(128).default(32).describe('image side in pixels'),
      prevalence: z.number().gt(0).lt(1).default(0.5).describe('share of scans with a lesion'),
    })
    .describe('grayscale scans where the label is the presence of a lesion'),
]);

/** How hospitals evaluate a model on their held-out split. */
export const evaluationSchema = z.strictObject({
  threshold: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.5)
    .describe('decision threshold for accuracy, sensitivity and specificity'),
  calibrationBins: z
    .int()
    .min(2)
    .max(100)
    .default(10)
    .describe('equal-width bins of the expected calibration error'),
  subgroups: z
    .boolean()
    .default(true)
    .describe('also report metrics by sex and age band where the data has them'),
  minSubgroupSize: z
    .int()
    .min(1)
    .default(10)
    .describe('smallest subgroup whose metrics a hospital reports (small cells could identify patients)'),
  histogramBins: z
    .int()
    .min(0)
    .max(1000)
    .default(0)
    .describe(
      'bins of the score histogram each hospital sends (one per class, one-vs-rest, for a multi-class outcome), for ' +
        'the federation-wide global_auroc and global_auprc (global_auroc_macro and _micro for multi-class) ' +
        '(0: none). The counts approach individual risk scores at small hospitals: for research on synthetic data',
    ),
});
