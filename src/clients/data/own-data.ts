import { resolve } from 'node:path';
import { confine } from '../../scenario/data-paths.ts';
import { permutation, stream } from '../../common/rng.ts';
import {
  applyTransform,
  columnStats,
  combineStats,
  transformFrom,
  type ColumnStats,
  type ColumnTransform,
} from '../../common/column-stats.ts';
import { inputShapeOf } from '../../protocol/cdm.ts';
import {
  scaledColumns,
  scalingOf,
  usesFederatedStatistics,
  type OwnDataConfig,
} from '../../protocol/own-data-layout.ts';
import type { HospitalConfig } from '../../scenario/schema.ts';
import { readCsv } from './csv.ts';
import { EmrError, type EmrTable } from './emr.ts';
import { readImageFolder } from './image-folder.ts';
import { encodeTable, type EncodedTable } from './table.ts';

/** Rows of one split before scaling: inputs in float64 (NaN: to impute) and targets. */
export interface RawSplit {
  readonly n: number;
  readonly x: Float64Array;
  readonly y: Float32Array;
}

/** A hospital's own records, split, before scaling; what was missing or dropped. Never leaves the worker. */
export interface OwnData {
  readonly width: number;
  readonly inputShape: readonly number[];
  readonly train: RawSplit;
  readonly test: RawSplit;
  /** Missing cells per declared feature (tables; empty for images). */
  readonly missing: Uint32Array;
  /** Rows dropped by a drop policy. */
  readonly dropped: number;
}

/**
 * The path of a file a hospital's source names, resolved against the data root once it is checked to stay
 * inside it (relative, no `..` out, no symbolic link out); else an {@link EmrError} naming hospital and file.
 */
function confined(hospital: string, root: string, written: string): string {
  const c = confine(root, written);
  if ('refused' in c) throw new EmrError({ hospital, file: resolve(root, written), expected: c.refused });
  return resolve(root, written);
}

/**
 * Reads a hospital's own table or image folder (confined to the data root `baseDir`, under the same limits as
 * every hospital file) as the scenario declares it and splits it: by the split column
 * of its files, or a seeded split (`seed/split/<id>`) that holds out `testFraction` of each class (of all rows
 * for a continuous outcome), at least one and at most all but one of a class with two or more rows.
 */
export function readOwnData(
  h: HospitalConfig,
  data: OwnDataConfig,
  seed: number,
  baseDir: string,
  /** Scoring a finished model: every row is held out (and is the split local scaling is computed from). */
  everyRow = false,
): OwnData {
  const source = h.source;
  let encoded: EncodedTable;
  let splitTable: { table: EmrTable; file: string } | undefined;
  let split: { column: string; testValue: string } | undefined;
  if (data.kind === 'tabular') {
    if (source.kind !== 'table')
      throw new EmrError({ hospital: h.id, expected: 'a table source for tabular data' });
    const file = confined(h.id, baseDir, source.path);
    const table = readCsv(file, { hospital: h.id, root: baseDir });
    encoded = encodeTable(table, data, source, { hospital: h.id, file });
    splitTable = { table, file };
    if (source.split.kind === 'column') split = source.split;
  } else {
    if (source.kind !== 'image-folder')
      throw new EmrError({ hospital: h.id, expected: 'an image-folder source for image-folder data' });
    const labels = confined(h.id, baseDir, source.labels);
    encoded = readImageFolder(data, source, {
      hospital: h.id,
      folder: confined(h.id, baseDir, source.folder),
      labels,
      root: baseDir,
    });
    if (source.split.kind === 'column') {
      split = source.split;
      splitTable = { table: readCsv(labels, { hospital: h.id, root: baseDir }), file: labels };
    }
  }
  const isTest = everyRow
    ? undefined
    : split === undefined
      ? seededSplit(encoded, data, stream(seed, 'split', h.id))
      : columnSplit(encoded, splitTable!, split, h.id);
  const pick = (test: boolean): RawSplit => {
    const rows: number[] = [];
    for (let i = 0; i < encoded.n; i++) if (isTest === undefined || isTest[i] === test) rows.push(i);
    const x = new Float64Array(rows.length * encoded.width);
    const y = new Float32Array(rows.length);
    rows.forEach((r, k) => {
      x.set(encoded.x.subarray(r * encoded.width, (r + 1) * encoded.width), k * encoded.width);
      y[k] = encoded.y[r]!;
    });
    return { n: rows.length, x, y };
  };
  const train = pick(false);
  if (train.n === 0) throw new EmrError({ hospital: h.id, expected: 'at least one training record' });
  return {
    width: encoded.width,
    inputShape: inputShapeOf(data),
    train,
    test: pick(true),
    missing: encoded.missing,
    dropped: encoded.dropped,
  };
}

/** Summaries of the training split's columns, which a federated transform combines. */
export function ownStatistics(d: OwnData): ColumnStats {
  return columnStats(d.train.x, d.train.n, d.width);
}

/** The transform of local or no scaling, from this hospital's own training split (missing values: its own means). */
export function localTransform(d: OwnData, data: OwnDataConfig): ColumnTransform {
  return transformFrom(ownStatistics(d), scalingOf(data), scaledColumns(data));
}

/**
 * Every hospital's own data for the pooled oracle, which holds them all: scaled by the transform of the pooled
 * training rows (what federated preprocessing reproduces without pooling), or each by its own for local or no
 * scaling.
 */
export function pooledOwnData(
  hospitals: readonly HospitalConfig[],
  data: OwnDataConfig,
  seed: number,
  baseDir: string,
): Map<string, ReturnType<typeof transformed>> {
  const own = hospitals.map((h) => [h.id, readOwnData(h, data, seed, baseDir)] as const);
  const pooled = usesFederatedStatistics(data)
    ? transformFrom(combineStats(own.map(([, d]) => ownStatistics(d))), scalingOf(data), scaledColumns(data))
    : undefined;
  return new Map(own.map(([id, d]) => [id, transformed(d, pooled ?? localTransform(d, data))]));
}

/** Both splits as model inputs under `t`. */
export function transformed(d: OwnData, t: ColumnTransform) {
  const examples = (s: RawSplit) => ({
    x: applyTransform(s.x, d.width, t),
    y: s.y,
    n: s.n,
    inputShape: d.inputShape,
  });
  return { train: examples(d.train), test: examples(d.test), testGroups: {} as Record<string, Uint8Array> };
}

function seededSplit(e: EncodedTable, data: OwnDataConfig, rng: ReturnType<typeof stream>): boolean[] {
  const classes = data.outcome.type === 'continuous' ? 1 : data.outcome.classes.length;
  const strata: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < e.n; i++) strata[classes === 1 ? 0 : e.y[i]!]!.push(i);
  const isTest = new Array<boolean>(e.n).fill(false);
  for (const rows of strata) {
    const size = rows.length;
    const nTest = size >= 2 ? Math.min(size - 1, Math.max(1, Math.round(size * data.testFraction))) : 0;
    const order = permutation(size, rng);
    for (let k = 0; k < nTest; k++) isTest[rows[order[k]!]!] = true;
  }
  return isTest;
}

function columnSplit(
  e: EncodedTable,
  source: { table: EmrTable; file: string },
  split: { column: string; testValue: string },
  hospital: string,
): boolean[] {
  const at = source.table.header.indexOf(split.column);
  if (at < 0)
    throw new EmrError({
      hospital,
      file: source.file,
      row: 0,
      column: split.column,
      expected: 'a split column',
    });
  return Array.from(e.rows, (r) => source.table.rows[r]![at] === split.testValue);
}
