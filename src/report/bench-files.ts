import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { InputError } from '../scenario/load.ts';
import { readBenchRuns } from '../server/bench/read-run.ts';
import type { BenchRun } from '../server/bench/types.ts';
import { byText } from './format.ts';
import { readRunFiles, type FileDigest, type RunFiles } from './run-files.ts';
import { createHash } from 'node:crypto';

/** One row of bench.csv: an arm's estimate of one metric in one scope. */
export interface BenchCsvRow {
  /** Data row number in the file (the header is row 1). */
  readonly line: number;
  readonly arm: string;
  readonly kind: string;
  readonly scope: string;
  readonly hospital: string;
  readonly metric: string;
  readonly mean?: number;
  readonly lower?: number;
  readonly upper?: number;
  readonly n: number;
  readonly seeds: number;
}

/** Everything the report reads from a bench folder. */
export interface BenchFiles {
  readonly dir: string;
  readonly rows: readonly BenchCsvRow[];
  /** The runs behind the table, read from their folders (strategies and the baselines beside them). */
  readonly runs: readonly BenchRun[];
  /** The reference arm's first seed, whose scenario and traffic the report shows. */
  readonly example?: { readonly arm: string; readonly seed: number; readonly files: RunFiles };
  readonly files: readonly FileDigest[];
}

const COLUMNS = [
  'arm',
  'kind',
  'scope',
  'hospital',
  'metric',
  'mean',
  'lower',
  'upper',
  'n',
  'seeds',
] as const;

/** The folder name `fedmed bench` gives an arm's runs. */
export const armFolder = (label: string): string => label.replace(/[^A-Za-z0-9.=-]/g, '_');

function parseCsv(file: string): BenchCsvRow[] {
  const records = parse(readFileSync(file, 'utf8'), { relax_column_count: true }) as string[][];
  const header = records[0] ?? [];
  const at = Object.fromEntries(COLUMNS.map((c) => [c, header.indexOf(c)]));
  const missing = COLUMNS.filter((c) => at[c]! < 0);
  if (missing.length > 0)
    throw new InputError(
      `${file}: row 1: expected the columns ${COLUMNS.join(', ')}; missing ${missing.join(', ')}`,
    );
  return records.slice(1).map((r, i) => {
    const line = i + 2;
    const text = (c: (typeof COLUMNS)[number]) => r[at[c]!] ?? '';
    const number = (c: (typeof COLUMNS)[number], optional: boolean): number | undefined => {
      const t = text(c);
      if (t === '' && optional) return undefined;
      const v = Number(t);
      if (t === '' || !Number.isFinite(v))
        throw new InputError(`${file}: row ${line}, column ${c}: expected a number`);
      return v;
    };
    const mean = number('mean', true);
    const lower = number('lower', true);
    const upper = number('upper', true);
    return {
      line,
      arm: text('arm'),
      kind: text('kind'),
      scope: text('scope'),
      hospital: text('hospital'),
      metric: text('metric'),
      ...(mean === undefined ? {} : { mean }),
      ...(lower === undefined ? {} : { lower }),
      ...(upper === undefined ? {} : { upper }),
      n: number('n', false)!,
      seeds: number('seeds', false)!,
    };
  });
}

function seedFolders(dir: string): { seed: number; dir: string }[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return [];
  return readdirSync(dir)
    .map((name) => ({ name, m: /^seed-(\d+)$/.exec(name) }))
    .filter((x) => x.m !== null && existsSync(join(dir, x.name, 'manifest.json')))
    .map((x) => ({ seed: Number(x.m![1]), dir: join(dir, x.name) }))
    .sort((a, b) => a.seed - b.seed);
}

/**
 * Reads a bench folder: bench.csv, and each strategy arm's run folders (`<arm>/seed-<n>`) for the learning
 * curves; `check` vets each run folder (its fedmed version) before it is read.
 */
export function readBenchFiles(dir: string, check: (runDir: string) => void): BenchFiles {
  const rows = parseCsv(join(dir, 'bench.csv'));
  const arms = [
    ...new Set(rows.filter((r) => r.kind === 'strategy' && !r.scope.startsWith('tuning')).map((r) => r.arm)),
  ];
  const runs: BenchRun[] = [];
  let example: BenchFiles['example'];
  for (const arm of arms) {
    for (const s of seedFolders(join(dir, armFolder(arm)))) {
      check(s.dir);
      try {
        runs.push(...readBenchRuns(s.dir, arm, s.seed));
      } catch (e) {
        throw new InputError(`${s.dir}: cannot read the run (${(e as Error).message})`);
      }
      example ??= { arm, seed: s.seed, files: readRunFiles(s.dir) };
    }
  }
  const files = readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isFile() && !name.endsWith('.html'))
    .sort(byText)
    .map((name) => {
      const data = readFileSync(join(dir, name));
      return { path: name, bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    });
  return { dir, rows, runs, ...(example && { example }), files };
}
