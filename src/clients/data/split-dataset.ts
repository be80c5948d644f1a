import { copyFileSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { stream } from '../../common/rng.ts';
import type { PartitionConfig } from '../../scenario/schema.ts';
import { readCsv, writeCsv } from './csv.ts';
import { EmrError, type EmrTable } from './emr.ts';
import { imageSize } from './image-folder.ts';
import { partitionIndices } from './partition.ts';

/** What `fedmed split` asks of its worker: one pooled dataset, divided among `hospitals` by `partition`. */
export interface SplitRequest {
  /** A CSV file, or a folder of images with a labels CSV. */
  readonly dataset: string;
  /** The labels CSV of an image folder (default `<folder>/labels.csv`). */
  readonly labels?: string;
  /** The outcome's column (default: a table's last column; `label` for images). */
  readonly labelColumn?: string;
  /** The image file column of the labels CSV. */
  readonly fileColumn: string;
  readonly hospitals: number;
  readonly partition: PartitionConfig;
  readonly seed: number;
  readonly outDir: string;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_CATEGORIES = 256;

/**
 * Divides one pooled dataset into per-hospital files (`hospital-<k>/data.csv`, or `hospital-<k>/` with its
 * images and `labels.csv`) by a seeded partition (`seed/split`) over its classes, and writes a scenario that
 * reads them (`scenario.json`): the table's other columns as features (numeric when every recorded cell is a
 * number, else categorical with the values found; a feature with empty cells is imputed), the label column as
 * a multi-class outcome over the sorted distinct labels. Returns the rows of each hospital.
 */
export function splitDataset(r: SplitRequest): Record<string, number> {
  const hospital = 'dataset';
  const folder = isFolder(r.dataset, hospital);
  const labelsFile = folder ? (r.labels ?? join(r.dataset, 'labels.csv')) : r.dataset;
  const table = readCsv(labelsFile, { hospital });
  const labelColumn = r.labelColumn ?? (folder ? 'label' : table.header[table.header.length - 1]!);
  const at = table.header.indexOf(labelColumn);
  if (at < 0)
    throw new EmrError({
      hospital,
      file: labelsFile,
      row: 0,
      column: labelColumn,
      expected: 'the label column',
    });
  const classes = sortedDistinct(table.rows.map((row) => row[at]!));
  if (classes.length < 2 || classes.length > MAX_CATEGORIES)
    throw new EmrError({
      hospital,
      file: labelsFile,
      column: labelColumn,
      expected: `from 2 to ${MAX_CATEGORIES} distinct labels`,
    });
  const index = new Map(classes.map((c, i) => [c, i]));
  const labels = Uint8Array.from(table.rows, (row) => index.get(row[at]!)!);
  const sizes = Array.from(
    { length: r.hospitals },
    (_, h) => Math.floor(labels.length / r.hospitals) + (h < labels.length % r.hospitals ? 1 : 0),
  );
  const parts = partitionIndices(labels, sizes, r.partition, stream(r.seed, 'split'), classes.length);
  const ids = parts.map((_, h) => `hospital-${h + 1}`);
  mkdirSync(r.outDir, { recursive: true });
  const outcome = { name: 'outcome', type: 'multiclass', classes };
  const hospitals = ids.map((id) => ({ id, country: 'ZZ', patients: 20 }));
  let data: object;
  let sources: object[];
  if (!folder) {
    const declared = features(table, at);
    const columns = Object.fromEntries([
      ...declared.filter((f) => f.name !== f.column).map((f) => [f.name, f.column]),
      ['outcome', labelColumn],
    ]);
    data = {
      kind: 'tabular',
      features: declared.map(({ column: _, ...f }) => f),
      outcome,
      preprocessing: { scaling: 'federated-standardise' },
    };
    sources = parts.map((rows, h) => {
      mkdirSync(join(r.outDir, ids[h]!), { recursive: true });
      writeCsv(join(r.outDir, ids[h]!, 'data.csv'), {
        header: table.header,
        rows: Array.from(rows, (i) => table.rows[i]!),
      });
      return { kind: 'table', path: `${ids[h]}/data.csv`, columns };
    });
  } else {
    const fileAt = table.header.indexOf(r.fileColumn);
    if (fileAt < 0)
      throw new EmrError({
        hospital,
        file: labelsFile,
        row: 0,
        column: r.fileColumn,
        expected: 'the image file column',
      });
    const first = resolve(dirname(labelsFile), table.rows[0]![fileAt]!);
    const size = imageSize(first, hospital);
    data = {
      kind: 'image-folder',
      height: size.height,
      width: size.width,
      channels: 1,
      outcome,
      preprocessing: { scaling: 'none' },
    };
    sources = parts.map((rows, h) => {
      const dir = join(r.outDir, ids[h]!);
      mkdirSync(dir, { recursive: true });
      const kept: string[][] = [];
      for (const i of rows) {
        const row = table.rows[i]!;
        const name = `${String(i).padStart(6, '0')}-${basename(row[fileAt]!)}`;
        copyFileSync(resolve(dirname(labelsFile), row[fileAt]!), join(dir, name));
        kept.push([name, row[at]!]);
      }
      writeCsv(join(dir, 'labels.csv'), { header: ['file', 'label'], rows: kept });
      return { kind: 'image-folder', folder: ids[h], labels: `${ids[h]}/labels.csv` };
    });
  }
  const scenario = {
    name: 'split',
    seed: r.seed,
    rounds: 10,
    minClients: r.hospitals,
    coordinator: { site: 'neutral' },
    data,
    hospitals: hospitals.map((h, k) => ({ ...h, source: sources[k] })),
    model: { kind: 'logistic' },
  };
  writeFileSync(join(r.outDir, 'scenario.json'), JSON.stringify(scenario, null, 2) + '\n');
  return Object.fromEntries(parts.map((p, h) => [ids[h]!, p.length]));
}

function isFolder(path: string, hospital: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    throw new EmrError({ hospital, file: path, expected: 'an existing CSV file or image folder' });
  }
}

/** Distinct values, in numeric order when all are numbers, else in code-point order. */
function sortedDistinct(values: readonly string[]): string[] {
  const distinct = [...new Set(values)];
  return distinct.every((v) => NUMBER.test(v))
    ? distinct.sort((a, b) => Number(a) - Number(b))
    : distinct.sort();
}

/** Every column but the label's, as a declared feature (named in letters, digits and underscores) and its column. */
function features(
  table: EmrTable,
  labelAt: number,
): ({ name: string; column: string } & Record<string, unknown>)[] {
  return table.header.flatMap((name, j) => {
    if (j === labelAt) return [];
    const cells = table.rows.map((row) => row[j]!);
    const recorded = cells.filter((c) => c !== '');
    const missing = recorded.length < cells.length ? { missing: 'impute' } : {};
    const field = name
      .replace(/[^A-Za-z0-9_]/g, '_')
      .replace(/^([^A-Za-z])/, 'f$1')
      .slice(0, 63);
    if (recorded.every((c) => NUMBER.test(c)))
      return [{ name: field, column: name, type: 'numeric', ...missing }];
    const categories = sortedDistinct(recorded);
    if (categories.length > MAX_CATEGORIES)
      throw new EmrError({
        hospital: 'dataset',
        column: name,
        expected: `a number, or at most ${MAX_CATEGORIES} categories`,
      });
    return [{ name: field, column: name, type: 'categorical', categories, ...missing }];
  });
}
