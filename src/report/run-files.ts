import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { byText } from './format.ts';
import { readJson, readJsonLines } from './read-json.ts';

/*
 * The files of a run folder, as far as the report needs them. Every object is loose: fields added by later
 * work (a crossing's data class, a round's privacy budget) pass through untouched and unknown ones are shown
 * generically, so new outputs appear in the report without breaking it.
 */

const metrics = z.record(z.string(), z.number());
const bytesTotals = z.looseObject({
  toHospitals: z.number(),
  toCoordinator: z.number(),
  crossBorder: z.number(),
  messages: z.number().optional(),
  rejected: z.number().optional(),
});
const evaluation = z.looseObject({
  metrics,
  numExamples: z.number().optional(),
  hospitals: z.record(z.string(), z.looseObject({ numExamples: z.number().optional(), metrics })).default({}),
  countries: z.record(z.string(), z.looseObject({ numExamples: z.number().optional(), metrics })).default({}),
});
const failure = z.looseObject({ hospital: z.string().optional(), reason: z.string().optional() });

export const manifestSchema = z.looseObject({
  fedmed: z.string(),
  node: z.string().optional(),
  platform: z.string().optional(),
  backend: z.string(),
  tfjs: z.string().optional(),
  seed: z.number(),
  scenarioSha256: z.string(),
  finalModelSha256: z.string(),
  status: z.string(),
  stopReason: z.string().optional(),
  roundsCompleted: z.number(),
  strategy: z.record(z.string(), z.unknown()).default({}),
  bytes: bytesTotals,
  baselineBytes: z.record(z.string(), bytesTotals).default({}),
  workers: z.looseObject({ requested: z.number(), started: z.number() }).optional(),
  startedAt: z.string().optional(),
  wallSeconds: z.number().optional(),
});
/** manifest.json. */
export type ManifestFile = z.infer<typeof manifestSchema>;

export const hospitalSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  country: z.string(),
  patients: z.number(),
  cohort: z.record(z.string(), z.unknown()).default({}),
  location: z.looseObject({ lat: z.number(), lon: z.number() }).optional(),
});
/** One hospital of scenario.json. */
export type HospitalFile = z.infer<typeof hospitalSchema>;

export const scenarioFileSchema = z.looseObject({
  name: z.string(),
  description: z.string().optional(),
  seed: z.number(),
  rounds: z.number(),
  minClients: z.number().optional(),
  backend: z.string().optional(),
  coordinator: z.looseObject({ site: z.string(), name: z.string().optional() }),
  data: z.record(z.string(), z.unknown()).default({}),
  hospitals: z.array(hospitalSchema).min(1),
  model: z.record(z.string(), z.unknown()).default({}),
  training: z.record(z.string(), z.unknown()).default({}),
  strategy: z.record(z.string(), z.unknown()).default({}),
  evaluation: z.record(z.string(), z.unknown()).default({}),
  baselines: z.array(z.string()).default([]),
  faults: z.array(z.record(z.string(), z.unknown())).default([]),
});
/** scenario.json: the resolved scenario. */
export type ScenarioFile = z.infer<typeof scenarioFileSchema>;

export const roundSchema = z.looseObject({
  round: z.number(),
  fit: z
    .looseObject({
      sampled: z.array(z.string()).default([]),
      admitted: z.array(z.string()).default([]),
      failures: z.array(failure).default([]),
      metrics: metrics.default({}),
      hospitals: z.record(z.string(), z.looseObject({ metrics: metrics.default({}) })).default({}),
    })
    .optional(),
  evaluate: evaluation.extend({ failures: z.array(failure).default([]) }),
  bytes: bytesTotals.optional(),
});
/** One line of metrics.jsonl. */
export type RoundFile = z.infer<typeof roundSchema>;

export const crossingSchema = z.looseObject({
  round: z.number(),
  hospital: z.string(),
  country: z.string(),
  direction: z.string(),
  kind: z.string(),
  purpose: z.string().default('federation'),
  bytes: z.number(),
  crossesBorder: z.boolean(),
  admitted: z.boolean().default(true),
  reason: z.string().optional(),
  sent: z.boolean().optional(),
  classes: z.array(z.string()).optional(),
  relied: z.array(z.looseObject({ basis: z.string() })).optional(),
  sovereigntyViolation: z.boolean().optional(),
});
/** One line of crossings.jsonl. */
export type CrossingFile = z.infer<typeof crossingSchema>;

const baseline = evaluation.extend({ sovereigntyViolation: z.boolean().optional() });
export const summarySchema = z.looseObject({
  status: z.string().optional(),
  federated: evaluation.nullable().optional(),
  localOnly: baseline.optional(),
  pooled: baseline.optional(),
});
/** summary.json. */
export type SummaryFile = z.infer<typeof summarySchema>;

export const modelSpecSchema = z.looseObject({
  length: z.number(),
  sha256: z.string().optional(),
  tensors: z.array(z.looseObject({ name: z.string(), shape: z.array(z.number()) })).default([]),
});

/** A file of the folder with its size and SHA-256, so a reader can check the report against the files. */
export interface FileDigest {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Everything the report reads from one run folder. */
export interface RunFiles {
  readonly dir: string;
  readonly manifest: ManifestFile;
  readonly scenario: ScenarioFile;
  readonly rounds: readonly RoundFile[];
  readonly crossings: readonly CrossingFile[];
  readonly summary?: SummaryFile;
  readonly modelSpec?: z.infer<typeof modelSpecSchema>;
  /** compliance.json, when the run has one; shown as it is. */
  readonly compliance?: unknown;
  readonly files: readonly FileDigest[];
}

/** Files whose digests the report lists: everything in the folder but reports. */
function digests(dir: string): FileDigest[] {
  const out: FileDigest[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort(byText)) {
      const path = join(d, name);
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && !name.endsWith('.html')) {
        const data = readFileSync(path);
        out.push({
          path: relative(dir, path).split(sep).join('/'),
          bytes: data.length,
          sha256: createHash('sha256').update(data).digest('hex'),
        });
      }
    }
  };
  walk(dir);
  return out;
}

/** Reads a run folder; every problem is an InputError naming the file and the field. */
export function readRunFiles(dir: string): RunFiles {
  const optional = <T>(name: string, read: (file: string) => T): T | undefined =>
    existsSync(join(dir, name)) ? read(join(dir, name)) : undefined;
  const summary = optional('summary.json', (f) => readJson(f, summarySchema));
  const modelSpec = optional('model/spec.json', (f) => readJson(f, modelSpecSchema));
  const compliance = optional('compliance.json', (f) => readJson(f, z.unknown()));
  return {
    dir,
    manifest: readJson(join(dir, 'manifest.json'), manifestSchema),
    scenario: readJson(join(dir, 'scenario.json'), scenarioFileSchema),
    rounds: readJsonLines(join(dir, 'metrics.jsonl'), roundSchema),
    crossings: readJsonLines(join(dir, 'crossings.jsonl'), crossingSchema),
    ...(summary && { summary }),
    ...(modelSpec && { modelSpec }),
    ...(compliance !== undefined && { compliance }),
    files: digests(dir),
  };
}
