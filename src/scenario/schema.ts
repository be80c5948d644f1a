import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { dataSchema, emrSchema, evaluationSchema, imagingSiteSchema, sourceSchema } from './data-schema.ts';
import { privacyIssues, privacySchema } from './privacy-schema.ts';
import { auditSchema } from './audit-schema.ts';
import { countryCode, hospitalId } from './ids.ts';
import { checkJurisdiction, jurisdictionSchema } from './jurisdiction-schema.ts';
import { strategySchema } from './strategy-schema.ts';
import { checkDataAttacks } from './data-attack-check.ts';
import { BUILT_IN_PROFILES, clockSchema } from './clock-schema.ts';
import { hospitalDataSchema } from './hospital-data-schema.ts';

const fraction = z.number().min(0).max(1);

/** Per-hospital departures from its country's population profile; absent fields take the country's value. */
export const cohortSchema = z
  .strictObject({
    ageMean: z.number().min(18).max(95).optional().describe('mean age in years'),
    ageSd: z.number().positive().max(40).optional().describe('standard deviation of age in years'),
    maleFraction: fraction.optional().describe('share of male patients'),
    bmiMean: z.number().min(15).max(45).optional().describe('mean body-mass index, kg/m²'),
    sbpMean: z.number().min(80).max(200).optional().describe('mean systolic blood pressure, mmHg'),
    glucoseMean: z.number().min(50).max(250).optional().describe('mean fasting glucose, mg/dL'),
    cholesterolMean: z.number().min(100).max(350).optional().describe('mean total cholesterol, mg/dL'),
    currentSmokerRate: fraction.optional().describe('share of current smokers'),
    formerSmokerRate: fraction.optional().describe('share of former smokers'),
    riskAlleleFrequency: fraction.optional().describe('frequency of the risk allele at the marker locus'),
    prevalence: z.number().gt(0).lt(1).optional().describe('share of patients with the disease'),
    labelNoise: z
      .number()
      .min(0)
      .max(0.5)
      .optional()
      .describe('probability that a recorded label is flipped'),
    measurement: z
      .partialRecord(
        z.enum(['bmi', 'sbp', 'glucose', 'cholesterol']),
        z.strictObject({
          offset: z.number().default(0).describe('calibration offset added to every reading, in CDM units'),
          sd: z.number().min(0).default(0).describe('standard deviation of extra device noise, in CDM units'),
        }),
      )
      .optional()
      .describe("this site's devices: calibration offset and extra noise per measured feature"),
  })
  .superRefine((c, ctx) => {
    if (c.currentSmokerRate !== undefined && c.formerSmokerRate !== undefined) {
      if (c.currentSmokerRate + c.formerSmokerRate > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['formerSmokerRate'],
          message:
            'currentSmokerRate + formerSmokerRate: expected at most 1 (they are shares of the same patients)',
        });
      }
    }
  })
  .describe("Departures of one hospital's patients from its country's population profile.");

/** One participating site. */
export const hospitalSchema = z.strictObject({
  id: hospitalId.describe('unique id, also the name of its random streams'),
  name: z.string().min(1).optional().describe('display name'),
  country: countryCode.describe('country whose law governs the site and its data'),
  patients: z.int().min(20).max(10_000_000).describe('number of patients in the partition'),
  cohort: cohortSchema.default({}),
  imaging: imagingSiteSchema.default({ scanner: { contrast: 1, noise: 0.1, blur: 0, shift: 0 } }),
  source: sourceSchema.default({ kind: 'generate' }),
  emr: emrSchema
    .optional()
    .describe("the site's own record format; absent: its records already follow the common data model"),
});

/** Fault behaviours that break the protocol in a fit reply, for the boundary to reject. */
export const PROTOCOL_FAULTS = [
  'nan-parameters',
  'infinite-parameters',
  'wrong-length',
  'extra-vector',
  'too-many-metrics',
  'rows-in-metrics',
  'fractional-count',
  'throw',
] as const;

/**
 * An injected hospital behaviour: in the rounds listed (all if absent), each named hospital (every one if
 * absent) misbehaves with probability `rate`, drawn from the seeded stream `seed/fault/behaviour/hospital/round`.
 */
export const faultSchema = z
  .strictObject({
    hospital: hospitalId.optional().describe('hospital that misbehaves (every hospital if absent)'),
    behaviour: z
      .enum([
        ...PROTOCOL_FAULTS,
        'hang',
        'crash',
        'drop',
        'corrupt',
        'slow',
        'sign-flip',
        'scale',
        'noise',
        'label-flip',
        'backdoor',
        'secagg-drop-after-advertising',
        'secagg-drop-after-sharing',
        'secagg-drop-after-masking',
        'secagg-bad-key',
        'secagg-bad-shares',
        'secagg-bad-masked',
      ])
      .describe(
        'how its fit misbehaves: a protocol break (nan-parameters … throw); hang: its worker thread never answers; ' +
          'crash: its worker thread exits; drop: it declines the round; corrupt: a seeded fraction of its ' +
          'parameters become random bit patterns; slow: its compute takes `factor` times longer on the virtual clock; ' +
          'Byzantine: sign-flip sends x − factor·(y − x) (factor 1 if absent), scale x + factor·(y − x), noise y plus ' +
          'Gaussian noise of standard deviation `sigma`, label-flip trains on reversed labels (K − 1 − y), backdoor trains with ' +
          '`trigger` planted in a `fraction` of its examples labelled `trigger.target`; under secure ' +
          'aggregation, the stage after which it drops out, or the message it sends malformed (a low-order mask ' +
          'key, share ciphertexts one byte short, a masked vector one word short)',
      ),
    rounds: z
      .array(z.int().min(1))
      .min(1)
      .optional()
      .describe('rounds in which it misbehaves (all if absent)'),
    rate: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe('probability that it misbehaves in each of those rounds (1 if absent)'),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional()
      .describe("seed of the draws (the scenario's seed if absent)"),
    factor: z
      .number()
      .gt(0)
      .max(1e6)
      .optional()
      .describe(
        'slow: how many times longer its local compute takes (> 1, required); scale (required) and sign-flip: λ',
      ),
    sigma: z.number().gt(0).max(1e6).optional().describe('noise: standard deviation added to each parameter'),
    count: z
      .int()
      .min(0)
      .optional()
      .describe(
        'without `hospital`: this many hospitals, drawn once for the run by the stream seed/fault-hospitals/<behaviour> ' +
          '(every hospital if absent; 0 for a clean run that still measures a backdoor trigger)',
      ),
    fraction: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        'corrupt: share of the parameters overwritten (default 0.01); backdoor: share of its training examples ' +
          'that carry the trigger (default 0.3)',
      ),
    trigger: z
      .strictObject({
        inputs: z
          .array(z.int().min(0))
          .min(1)
          .max(4096)
          .describe("indices into one example's model input (row-major: a pixel patch, or feature columns)"),
        value: z.number().min(-1e6).max(1e6).describe('value the trigger writes into those inputs'),
        target: z.int().min(0).describe('class the trigger is to produce (0 or 1 for a binary outcome)'),
      })
      .optional()
      .describe('backdoor: the trigger and its target class (required; only for backdoor)'),
  })
  .superRefine((f, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (f.behaviour === 'slow' && (f.factor === undefined || f.factor <= 1))
      issue('factor', 'expected a factor > 1 for behaviour "slow"');
    if (f.behaviour === 'scale' && f.factor === undefined)
      issue('factor', 'expected a factor for behaviour "scale"');
    if (!['slow', 'scale', 'sign-flip'].includes(f.behaviour) && f.factor !== undefined)
      issue('factor', 'expected no factor: it applies to "slow", "scale" and "sign-flip" only');
    if (f.behaviour === 'noise' && f.sigma === undefined)
      issue('sigma', 'expected a sigma for behaviour "noise"');
    if (f.behaviour !== 'noise' && f.sigma !== undefined)
      issue('sigma', 'expected no sigma: it applies to "noise" only');
    if (f.behaviour !== 'corrupt' && f.behaviour !== 'backdoor' && f.fraction !== undefined)
      issue('fraction', 'expected no fraction: it applies to "corrupt" and "backdoor" only');
    if (f.behaviour === 'backdoor' && f.trigger === undefined)
      issue('trigger', 'expected a trigger for behaviour "backdoor"');
    if (f.behaviour !== 'backdoor' && f.trigger !== undefined)
      issue('trigger', 'expected no trigger: it applies to "backdoor" only');
    if (f.hospital !== undefined && f.count !== undefined)
      issue('count', 'expected no count with a hospital: count draws hospitals when none is named');
  });

export const modelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('logistic') }).describe('logistic regression'),
  z
    .strictObject({
      kind: z.literal('mlp'),
      hidden: z
        .array(z.int().min(1).max(4096))
        .min(1)
        .max(8)
        .default([32, 16])
        .describe('hidden layer widths'),
      activation: z.enum(['relu', 'tanh']).default('relu'),
    })
    .describe('multi-layer perceptron'),
  z
    .strictObject({
      kind: z.literal('cnn'),
      filters: z
        .array(z.int().min(1).max(256))
        .min(1)
        .max(4)
        .default([8, 16])
        .describe('filters per conv block'),
      kernelSize: z.int().min(1).max(7).default(3),
      dense: z.int().min(1).max(1024).default(32).describe('width of the dense layer after the conv blocks'),
    })
    .describe('small convolutional network: conv-relu-maxpool blocks, a dense layer, one sigmoid output'),
]);

export const trainingSchema = z.strictObject({
  localEpochs: z.int().min(1).max(1000).default(1).describe('passes over the local training split per round'),
  batchSize: z.int().min(1).max(65536).default(32),
  learningRate: z.number().positive().max(10).default(0.05),
  optimizer: z
    .enum(['sgd', 'adam'])
    .default('sgd')
    .describe('local optimizer; its state starts afresh each round'),
});

export const backendSchema = z
  .enum(['auto', 'tensorflow', 'wasm', 'cpu', 'js', 'js-f32'])
  .describe(
    "training backend: tensorflow needs @tensorflow/tfjs-node; js is fedmed's own fused engine (WebAssembly " +
      'SIMD, every zoo model, no tfjs, float64 accumulation); js-f32 the same with float32 accumulation (faster, ' +
      'other last bits); auto takes the first that loads (tensorflow, js, wasm, cpu)',
  );

/** A complete experiment: who takes part, on what data, with which model, strategy and faults. */
export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'expected lower-case letters, digits and hyphens' }),
    description: z.string().optional(),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(1),
    rounds: z.int().min(1).max(100_000),
    minClients: z.int().min(1).default(1).describe('fewest valid fit replies a round needs to aggregate'),
    backend: backendSchema.default('auto'),
    coordinator: z
      .strictObject({
        site: z
          .union([countryCode, z.literal('neutral')])
          .describe('country hosting the coordinator, or neutral'),
        name: z.string().optional(),
      })
      .describe('where the coordinator runs: decides which crossings cross a border'),
    topology: z
      .enum(['flat', 'hierarchical'])
      .optional()
      .describe(
        'flat (absent): every hospital talks to the coordinator; hierarchical: each country has an aggregator, ' +
          "sited there, that sums its hospitals' updates, and only country aggregates reach the coordinator " +
          '(with privacy.secureAggregation, the hospitals of each country, at least 3, run it with their ' +
          'aggregator in the server role; privacy.differentialPrivacy is refused, privacy.dpSgd runs as in flat)',
      ),
    data: dataSchema,
    hospitals: z.array(hospitalSchema).min(1).max(100_000),
    hospitalData: hospitalDataSchema.optional(),
    model: modelSchema,
    training: trainingSchema.default({ localEpochs: 1, batchSize: 32, learningRate: 0.05, optimizer: 'sgd' }),
    strategy: strategySchema.default({ name: 'fedavg', fractionFit: 1, fractionEvaluate: 1 }),
    evaluation: evaluationSchema.default({
      threshold: 0.5,
      calibrationBins: 10,
      subgroups: true,
      minSubgroupSize: 10,
      histogramBins: 0,
    }),
    baselines: z
      .array(z.enum(['local-only', 'pooled', 'country-only']))
      .default([])
      .describe('comparisons run beside the federation; pooled breaks data sovereignty and is marked so'),
    faults: z.array(faultSchema).default([]),
    privacy: privacySchema.optional(),
    audit: auditSchema.optional(),
    jurisdiction: jurisdictionSchema.optional(),
    clock: clockSchema.optional(),
    diagnostics: z
      .strictObject({
        hospitalLogDir: z
          .string()
          .min(1)
          .max(255)
          .refine((p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'), {
            error: 'expected a folder inside the scenario file\'s folder (relative, without "..")',
          })
          .optional()
          .describe(
            "folder, relative to the scenario file, where each hospital's worker appends the full text of its " +
              'errors as <id>.log: hospital-side, never read by the coordinator, which gets only a category',
          ),
      })
      .default({})
      .describe('what hospitals keep for their own diagnosis'),
    sweep: z
      .strictObject({
        parameter: z
          .string()
          .regex(/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z0-9]+)*$/, {
            error: 'expected a dotted path such as "data.partition.alpha"',
          })
          .describe('dotted path of the scenario field to vary'),
        values: z
          .array(z.union([z.number(), z.string(), z.boolean()]))
          .min(1)
          .max(100),
      })
      .optional()
      .describe('run one variant per value of a field, each into its own folder, and tabulate them'),
  })
  .superRefine((s, ctx) => {
    checkDataAttacks(s, ctx);
    const seen = new Set<string>();
    s.hospitals.forEach((h, i) => {
      if (seen.has(h.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['hospitals', i, 'id'],
          message: `duplicate hospital id "${h.id}"`,
        });
      }
      seen.add(h.id);
    });
    if (s.minClients > s.hospitals.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['minClients'],
        message: `expected at most the number of hospitals (${s.hospitals.length})`,
      });
    }
    s.faults.forEach((f, i) => {
      if (f.count !== undefined && f.count > s.hospitals.length)
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'count'],
          message: `expected at most the number of hospitals (${s.hospitals.length})`,
        });
      if (f.hospital !== undefined && !seen.has(f.hospital)) {
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'hospital'],
          message: `no hospital has id "${f.hospital}"`,
        });
      }
    });
    if (s.clock !== undefined) checkClock(s.clock, seen, ctx);
    if (s.data.partition.kind !== 'natural') {
      if (s.hospitalData === 'release')
        ctx.addIssue({
          code: 'custom',
          path: ['hospitalData'],
          message:
            `expected "keep" with a ${s.data.partition.kind} partition: it draws each hospital's share from ` +
            "every hospital's records, so one hospital's data cannot be rebuilt alone",
        });
      s.hospitals.forEach((h, i) => {
        if (h.source.kind !== 'generate') {
          ctx.addIssue({
            code: 'custom',
            path: ['hospitals', i, 'source'],
            message: `a hospital's own files cannot be repartitioned; use partition "natural" with a ${h.source.kind} source`,
          });
        }
      });
    }
    s.hospitals.forEach((h, i) => {
      const holds = SOURCE_HOLDS[h.source.kind] ?? s.data.kind;
      if (holds !== s.data.kind) {
        ctx.addIssue({
          code: 'custom',
          path: ['hospitals', i, 'source', 'kind'],
          message: `a ${h.source.kind} source holds ${holds} data, not ${s.data.kind}`,
        });
      }
    });
    for (const issue of privacyIssues(s)) ctx.addIssue({ code: 'custom', ...issue });
    checkJurisdiction(s, ctx);
    if (s.model.kind === 'cnn' && (s.data.kind === 'synthetic-cohort' || s.data.kind === 'tabular')) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'kind'],
        message: 'a cnn needs image data; the data is tabular',
      });
    }
    if ((s.data.kind === 'tabular' || s.data.kind === 'image-folder') && s.evaluation.histogramBins > 0) {
      if (s.data.outcome.type === 'continuous') {
        ctx.addIssue({
          code: 'custom',
          path: ['evaluation', 'histogramBins'],
          message: 'score histograms need a binary or multi-class outcome; use 0 for a continuous one',
        });
      }
    }
    if (s.data.kind === 'tabular') checkTabular(s.data, s.hospitals, ctx);
  });

/** The data kind each kind of own-files source holds; generated sources hold the scenario's kind. */
const SOURCE_HOLDS: Partial<Record<string, string>> = {
  csv: 'synthetic-cohort',
  dicom: 'synthetic-imaging',
  table: 'tabular',
  'image-folder': 'image-folder',
};

type TabularInput = Extract<z.output<typeof dataSchema>, { kind: 'tabular' }>;
type HospitalOutput = z.output<typeof hospitalSchema>;

/** Declared fields distinct and well-formed; every hospital mapping names only declared fields and categories. */
function checkTabular(data: TabularInput, hospitals: readonly HospitalOutput[], ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const names = [
    ...data.features.map((f) => f.name),
    data.outcome.name,
    ...(data.id === undefined ? [] : [data.id]),
  ];
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) issue(['data'], `field "${n}" is declared twice`);
  });
  data.features.forEach((f, i) => {
    if (f.type === 'categorical' && f.categories === undefined)
      issue(['data', 'features', i, 'categories'], 'a categorical feature needs its categories');
    if (f.type === 'numeric' && f.categories !== undefined)
      issue(['data', 'features', i, 'categories'], 'a numeric feature has no categories');
    if (f.categories !== undefined && new Set(f.categories).size !== f.categories.length)
      issue(['data', 'features', i, 'categories'], 'expected distinct categories');
  });
  if (
    data.outcome.type !== 'continuous' &&
    new Set(data.outcome.classes).size !== data.outcome.classes.length
  )
    issue(['data', 'outcome', 'classes'], 'expected distinct classes');
  const categorical = new Map<string, readonly string[]>(
    data.features.filter((f) => f.categories !== undefined).map((f) => [f.name, f.categories!]),
  );
  if (data.outcome.type !== 'continuous') categorical.set(data.outcome.name, data.outcome.classes);
  const numeric = new Set(data.features.filter((f) => f.type === 'numeric').map((f) => f.name));
  if (data.outcome.type === 'continuous') numeric.add(data.outcome.name);
  hospitals.forEach((h, i) => {
    if (h.source.kind !== 'table') return;
    const at = (...rest: (string | number)[]) => ['hospitals', i, 'source', ...rest];
    for (const field of Object.keys(h.source.columns))
      if (!names.includes(field)) issue(at('columns', field), `no declared field is named "${field}"`);
    for (const field of Object.keys(h.source.units))
      if (!numeric.has(field)) issue(at('units', field), `expected a declared numeric field`);
    for (const [field, codes] of Object.entries(h.source.codes)) {
      const categories = categorical.get(field);
      if (categories === undefined) {
        issue(at('codes', field), 'expected a declared categorical field or class outcome');
        continue;
      }
      for (const c of Object.keys(codes))
        if (!categories.includes(c)) issue(at('codes', field, c), `"${c}" is not a declared category`);
    }
  });
}

/** The clock's references (hospitals, profiles) and windows, each problem at its JSON path. */
function checkClock(
  clock: z.output<typeof clockSchema>,
  hospitals: ReadonlySet<string>,
  ctx: z.RefinementCtx,
): void {
  const profiles = new Set([...Object.keys(BUILT_IN_PROFILES), ...Object.keys(clock.profiles)]);
  const known = `one of ${[...profiles].join(', ')}`;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path: ['clock', ...path], message });
  for (const [id, site] of Object.entries(clock.hospitals)) {
    if (!hospitals.has(id)) issue(['hospitals', id], `no hospital has id "${id}"`);
    if (site.profile !== undefined && !profiles.has(site.profile))
      issue(['hospitals', id, 'profile'], `expected ${known}`);
  }
  (clock.draw ?? []).forEach((p, i) => {
    if (!profiles.has(p)) issue(['draw', i], `expected ${known}`);
  });
  if (clock.draw === undefined) {
    for (const id of hospitals) {
      const site = clock.hospitals[id];
      const complete =
        site?.profile !== undefined ||
        (site?.samplesPerSecond !== undefined &&
          site.bandwidthMbps !== undefined &&
          site.latencyMs !== undefined);
      if (!complete)
        issue(
          ['hospitals', id],
          'expected a profile, or samplesPerSecond, bandwidthMbps and latencyMs (or clock.draw for every hospital without them)',
        );
    }
  }
  clock.availability.forEach((w, i) => {
    if (!hospitals.has(w.hospital))
      issue(['availability', i, 'hospital'], `no hospital has id "${w.hospital}"`);
    if (!(w.to > w.from)) issue(['availability', i, 'to'], 'expected an end after from');
    if (w.every !== undefined && !(w.to - w.from < w.every))
      issue(['availability', i, 'every'], 'expected a period longer than the window (to − from)');
  });
}

/** A scenario after validation, with every default filled in. */
export type Scenario = z.output<typeof scenarioSchema>;
/** A scenario as written in a file, before defaults. */
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type HospitalConfig = Scenario['hospitals'][number];
export type CohortConfig = HospitalConfig['cohort'];
export type ModelConfig = Scenario['model'];
export type TrainingConfig = Scenario['training'];
export type StrategyConfig = Scenario['strategy'];
export type FaultConfig = Scenario['faults'][number];
export type FaultBehaviour = FaultConfig['behaviour'];
export type BackendChoice = Scenario['backend'];
export type DataConfig = Scenario['data'];
export type PartitionConfig = DataConfig['partition'];
export type SourceConfig = HospitalConfig['source'];
export type EmrConfig = NonNullable<HospitalConfig['emr']>;
export type ScannerConfig = HospitalConfig['imaging']['scanner'];
export type EvaluationConfig = Scenario['evaluation'];
export type BaselineName = Scenario['baselines'][number];
