import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, basename } from 'node:path';
import { InputError } from '../scenario/load.ts';
import { FEDMED_VERSION } from '../server/outputs/version.ts';
import { loadAtlas } from './atlas.ts';
import { benchReportBody } from './bench-report.ts';
import { ChartRenderer } from './chart-renderer.ts';
import { readBenchFiles } from './bench-files.ts';
import { page } from './page.ts';
import { readRunFiles } from './run-files.ts';
import { runReportBody } from './run-report.ts';
import { checkVersion } from './version.ts';

/** What a folder holds: one run (manifest.json) or a bench (bench.csv). */
export type FolderKind = 'run' | 'bench';

/** Whether `dir` is a run folder or a bench folder; an InputError for anything else. */
export function folderKind(dir: string): FolderKind {
  if (!existsSync(dir)) throw new InputError(`${dir}: no such folder`);
  if (!statSync(dir).isDirectory())
    throw new InputError(`${dir}: not a folder; expected a run or bench folder`);
  if (existsSync(join(dir, 'manifest.json'))) return 'run';
  if (existsSync(join(dir, 'bench.csv'))) return 'bench';
  throw new InputError(
    `${dir}: neither a run folder (no manifest.json) nor a bench folder (no bench.csv)` +
      (existsSync(join(dir, 'sweep.csv')) ? '; for a sweep, report each of its run folders' : ''),
  );
}

/** Refuses a run folder written by a fedmed whose outputs this one cannot read, before reading anything else. */
export function checkRunVersion(dir: string): void {
  const file = join(dir, 'manifest.json');
  let written: unknown;
  try {
    written = (JSON.parse(readFileSync(file, 'utf8')) as { fedmed?: unknown }).fedmed;
  } catch {
    throw new InputError(`${file}: not valid JSON`);
  }
  checkVersion(file, typeof written === 'string' ? written : '', FEDMED_VERSION);
}

/** The report of a run or bench folder as one HTML document. */
export async function renderReport(dir: string): Promise<{ kind: FolderKind; html: string }> {
  const kind = folderKind(dir);
  const renderer = new ChartRenderer();
  try {
    const atlas = loadAtlas();
    const generator = `fedmed ${FEDMED_VERSION}`;
    if (kind === 'run') {
      checkRunVersion(dir);
      const { title, body } = await runReportBody(readRunFiles(dir), atlas, renderer);
      return { kind, html: await page(`fedmed report: ${title}`, body, generator) };
    }
    const bench = readBenchFiles(dir, checkRunVersion);
    const { title, body } = await benchReportBody(bench, atlas, renderer);
    return { kind, html: await page(`fedmed report: ${title}`, body, generator) };
  } finally {
    await renderer.close();
  }
}

/** Writes `report.html` into the folder (or to `out`), replacing an earlier one only once the new one is whole. */
export async function writeReport(folder: string, out?: string): Promise<{ kind: FolderKind; file: string }> {
  const dir = resolve(folder);
  const { kind, html } = await renderReport(dir);
  const file = resolve(out ?? join(dir, 'report.html'));
  if (!existsSync(dirname(file))) throw new InputError(`--out: ${dirname(file)}: no such folder`);
  const partial = join(dirname(file), `.${basename(file)}.partial-${process.pid}`);
  writeFileSync(partial, html);
  renameSync(partial, file);
  return { kind, file };
}
