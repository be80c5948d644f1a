import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { confine } from '../../scenario/data-paths.ts';
import { stream } from '../../common/rng.ts';
import type { Examples } from '../../models/types.ts';
import type { DataConfig, HospitalConfig, SourceConfig } from '../../scenario/schema.ts';
import { generateCohort, type Cohort } from './cohort.ts';
import { readCsv, writeCsv } from './csv.ts';
import { DicomError, readDicomFolder, writeDicomFolder } from './dicom.ts';
import { EmrError, harmonise, ingestWithoutHarmonisation, toEmrTable, type EmrTable } from './emr.ts';
import { generateImages } from './imaging.ts';
import { PartitionError, partitionIndices } from './partition.ts';
import {
  concatRecords,
  examplesOf,
  labelsOf,
  selectRows,
  sizeOf,
  subgroupsOf,
  type Records,
} from './records.ts';
import { splitTrainTest } from './split.ts';

export { generateCohort, CohortError, DISEASE_MECHANISM, PLAUSIBLE_RANGES } from './cohort.ts';
export type { Cohort } from './cohort.ts';
export { profileFor, PopulationProfileError } from './populations.ts';
export type { ResolvedCohortProfile } from './populations.ts';
export { splitTrainTest, toExamples, SplitError } from './split.ts';

/** What a worker needs to build any hospital's data: the configuration, never records. */
export interface DataContext {
  readonly seed: number;
  readonly data: DataConfig;
  /** Every hospital of the scenario, in scenario order (partitioners divide a pool among all of them). */
  readonly hospitals: readonly HospitalConfig[];
  /** Folder that relative paths in hospital sources are resolved against (the scenario file's folder). */
  readonly baseDir: string;
}

/** A hospital's local data, ready for training and evaluation. */
export interface LocalData {
  readonly train: Examples;
  readonly test: Examples;
  /** Subgroup membership of the held-out examples (name → 0/1 mask). */
  readonly testGroups: Readonly<Record<string, Uint8Array>>;
}

/**
 * Builds a hospital's data inside its worker: its records (generated from `seed/data/<id>` or read from its
 * own files and mapped to the common data model), its share of a repartitioned pool when the scenario asks
 * for one, and the train/held-out split (seeded from `seed/split/<id>`, or the split recorded in its files).
 */
export function buildLocalData(hospitalId: string, ctx: DataContext): LocalData {
  const { records, split } = splitRecords(hospitalId, ctx);
  const ingested = ingest(hospitalId, records, ctx);
  return {
    train: examplesOf(ingested, split.train),
    test: examplesOf(ingested, split.test),
    testGroups: subgroupsOf(ingested, split.test),
  };
}

/**
 * Writes a hospital's records as the files that hospital would keep, in its own schema, with the split in a
 * `split` column; returns the source that reads them back (paths relative to `outDir`).
 */
export function exportLocalData(hospitalId: string, ctx: DataContext, outDir: string): SourceConfig {
  const h = hospital(hospitalId, ctx);
  const { records, split } = splitRecords(hospitalId, ctx);
  const splitColumn = Array.from({ length: sizeOf(records) }, () => 'train');
  for (const row of split.test) splitColumn[row] = 'test';
  const dir = join(outDir, hospitalId);
  mkdirSync(dir, { recursive: true });
  const splitRule = { kind: 'column', column: 'split', testValue: 'test' } as const;
  if (records.kind === 'cohort') {
    writeCsv(
      join(dir, 'records.csv'),
      toEmrTable(records.set, h.emr, [{ name: 'split', values: splitColumn }]),
    );
    return { kind: 'csv', path: `${hospitalId}/records.csv`, split: splitRule };
  }
  writeDicomFolder(join(dir, 'dicom'), records.set, {
    hospital: hospitalId,
    seed: ctx.seed,
    split: splitColumn,
  });
  return {
    kind: 'dicom',
    folder: `${hospitalId}/dicom`,
    labels: `${hospitalId}/dicom/labels.csv`,
    fileColumn: 'file',
    labelColumn: 'lesion',
    split: splitRule,
  };
}

function hospital(id: string, ctx: DataContext): HospitalConfig {
  const h = ctx.hospitals.find((x) => x.id === id);
  if (h === undefined) throw new Error(`hospital ${id} is not in the scenario`);
  return h;
}

/** The hospital's records in common-data-model terms, and its split. */
function splitRecords(
  id: string,
  ctx: DataContext,
): { records: Records; split: { train: Uint32Array; test: Uint32Array } } {
  const h = hospital(id, ctx);
  const { records, splitColumn } =
    ctx.data.partition.kind === 'natural'
      ? ownRecords(h, ctx)
      : { records: share(h, ctx), splitColumn: undefined };
  const split =
    splitColumn === undefined
      ? splitTrainTest(labelsOf(records), ctx.data.testFraction, stream(ctx.seed, 'split', id))
      : splitByColumn(splitColumn);
  const source = h.source;
  for (const [part, rows] of [
    ['training', split.train],
    ['held-out', split.test],
  ] as const) {
    if (rows.length > 0) continue;
    const marked = source.kind !== 'generate' && source.split.kind === 'column' ? source.split : undefined;
    throw new EmrError({
      hospital: id,
      ...(source.kind === 'csv'
        ? { file: resolve(ctx.baseDir, source.path) }
        : source.kind === 'dicom'
          ? { file: resolve(ctx.baseDir, source.labels) }
          : {}),
      ...(marked === undefined ? {} : { column: marked.column }),
      expected:
        `at least one ${part} record (every hospital trains and evaluates)` +
        (marked === undefined
          ? source.kind === 'generate'
            ? ': raise data.testFraction, the patients or data.partition.minPerHospital'
            : ''
          : part === 'training'
            ? `: a row whose ${marked.column} is not ${JSON.stringify(marked.testValue)}`
            : `: a row whose ${marked.column} is ${JSON.stringify(marked.testValue)}`),
    });
  }
  return { records, split };
}

/**
 * The path of a file a hospital's source names, resolved against the data root, once checked to stay inside
 * it; `fail` names the problem. The path is the one the scenario names (not its real path), as error reports
 * name it.
 */
function confined(root: string, written: string, fail: (expected: string) => never): string {
  const c = confine(root, written);
  return 'refused' in c ? fail(c.refused) : resolve(root, written);
}

/** Records a hospital generates or reads itself, and the split column of its files if they carry one. */
function ownRecords(
  h: HospitalConfig,
  ctx: DataContext,
): { records: Records; splitColumn?: readonly boolean[] } {
  const source = h.source;
  switch (source.kind) {
    case 'generate':
      return { records: generated(h, ctx) };
    case 'csv': {
      const file = confined(ctx.baseDir, source.path, (expected) => {
        throw new EmrError({ hospital: h.id, file: resolve(ctx.baseDir, source.path), expected });
      });
      const table = readCsv(file, { hospital: h.id, root: ctx.baseDir });
      const cohort = harmonise(table, h.emr, { hospital: h.id, file });
      return {
        records: { kind: 'cohort', set: cohort },
        ...(source.split.kind === 'column'
          ? { splitColumn: columnFlags(table, source.split.column, source.split.testValue, h.id, file) }
          : {}),
      };
    }
    case 'dicom': {
      const place = (written: string) =>
        confined(ctx.baseDir, written, (expected) => {
          throw new DicomError(h.id, resolve(ctx.baseDir, written), undefined, `expected ${expected}`);
        });
      const labels = place(source.labels);
      const set = readDicomFolder(place(source.folder), labels, {
        fileColumn: source.fileColumn,
        labelColumn: source.labelColumn,
        hospital: h.id,
        root: ctx.baseDir,
      });
      return {
        records: { kind: 'images', set },
        ...(source.split.kind === 'column'
          ? {
              splitColumn: columnFlags(
                readCsv(labels, { hospital: h.id, root: ctx.baseDir }),
                source.split.column,
                source.split.testValue,
                h.id,
                labels,
              ),
            }
          : {}),
      };
    }
    case 'table':
    case 'image-folder':
      throw new EmrError({
        hospital: h.id,
        expected: `a ${source.kind} source only with ${source.kind} data`,
      });
  }
}

function generated(h: HospitalConfig, ctx: DataContext): Records {
  const data = ctx.data;
  if (data.kind === 'synthetic-cohort') return { kind: 'cohort', set: generateCohort(h, ctx.seed) };
  if (data.kind === 'synthetic-imaging') return { kind: 'images', set: generateImages(h, data, ctx.seed) };
  throw new EmrError({ hospital: h.id, expected: `its own files for ${data.kind} data (a source to read)` });
}

/** This hospital's share of the pool of every hospital's generated records, divided by the partitioner. */
function share(h: HospitalConfig, ctx: DataContext): Records {
  const pool = concatRecords(ctx.hospitals.map((x) => generated(x, ctx)));
  let parts: Uint32Array[];
  try {
    parts = partitionIndices(
      labelsOf(pool),
      ctx.hospitals.map((x) => x.patients),
      ctx.data.partition,
      stream(ctx.seed, 'partition'),
    );
  } catch (e) {
    // A partition setting no draw can meet is the scenario's: named by its JSON path.
    if (e instanceof PartitionError && e.parameter in ctx.data.partition)
      throw new PartitionError(`$.data.partition.${e.parameter}`, e.expected);
    throw e;
  }
  return selectRows(pool, parts[ctx.hospitals.indexOf(h)]!);
}

/**
 * What the model sees: the records as they are, or — when the scenario skips harmonisation — the predictors
 * as a naive pipeline would read this hospital's own schema without mapping units and codes. The outcome
 * keeps its true value either way, so both runs are scored against the same truth.
 */
function ingest(id: string, records: Records, ctx: DataContext): Records {
  const h = hospital(id, ctx);
  if (
    records.kind !== 'cohort' ||
    ctx.data.kind !== 'synthetic-cohort' ||
    ctx.data.harmonise ||
    h.emr === undefined
  ) {
    return records;
  }
  const table = toEmrTable(records.set, h.emr);
  const naive: Cohort = ingestWithoutHarmonisation(table, { hospital: id });
  return { kind: 'cohort', set: { ...naive, labels: records.set.labels } };
}

function columnFlags(
  table: EmrTable,
  column: string,
  testValue: string,
  hospital: string,
  file: string,
): boolean[] {
  const index = table.header.indexOf(column);
  if (index < 0) throw new EmrError({ hospital, file, column, expected: 'a split column' });
  return table.rows.map((row) => row[index] === testValue);
}

function splitByColumn(isTest: readonly boolean[]): { train: Uint32Array; test: Uint32Array } {
  const train: number[] = [];
  const test: number[] = [];
  isTest.forEach((t, i) => (t ? test : train).push(i));
  return { train: Uint32Array.from(train), test: Uint32Array.from(test) };
}

/** Every record of a site's own files (or generated records) as held-out data, for scoring a finished model. */
export function buildScoringData(site: HospitalConfig, ctx: DataContext): Omit<LocalData, 'train'> {
  const { records } = ownRecords(site, { ...ctx, hospitals: [site] });
  const all = Uint32Array.from({ length: sizeOf(records) }, (_, i) => i);
  const ingested = ingest(site.id, records, { ...ctx, hospitals: [site] });
  return { test: examplesOf(ingested, all), testGroups: subgroupsOf(ingested, all) };
}

/** The examples at `rows` of `data`, in that order, as new arrays. */
export function examplesAt(data: Examples, rows: ArrayLike<number>): Examples {
  const width = data.x.length / data.n;
  const x = new Float32Array(rows.length * width);
  const y = new Float32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    x.set(data.x.subarray(r * width, (r + 1) * width), k * width);
    y[k] = data.y[r]!;
  }
  return { x, y, n: rows.length, inputShape: data.inputShape };
}

/** Examples laid end to end; every part must have the same input shape. */
export function concatExamples(parts: readonly Examples[]): Examples {
  const first = parts[0];
  if (first === undefined) throw new Error('concatExamples: nothing to concatenate');
  const width = first.x.length / Math.max(1, first.n);
  const n = parts.reduce((s, p) => s + p.n, 0);
  const x = new Float32Array(n * width);
  const y = new Float32Array(n);
  let at = 0;
  for (const p of parts) {
    x.set(p.x, at * width);
    y.set(p.y, at);
    at += p.n;
  }
  return { x, y, n, inputShape: first.inputShape };
}
