import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CHECKPOINT_FILE } from './file.ts';

/**
 * The newest run folder in a store that can be resumed: not shown by a link (`shown`), with a checkpoint and
 * no manifest (a run that wrote its manifest ended). Undefined when there is none.
 */
export function resumableRun(store: string, shown: readonly (string | undefined)[]): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(store);
  } catch {
    return undefined;
  }
  const runs = entries
    .filter((e) => e.startsWith('run-'))
    .map((e) => join(store, e))
    .filter(
      (r) => !shown.includes(r) && isFile(join(r, CHECKPOINT_FILE)) && !isFile(join(r, 'manifest.json')),
    )
    .sort();
  return runs[runs.length - 1];
}

/** Every file under `folder`, relative to it (the files a resumed run goes on from). */
export function runFiles(folder: string, under = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(folder, under), { withFileTypes: true })) {
    const rel = under === '' ? e.name : `${under}/${e.name}`;
    if (e.isDirectory()) out.push(...runFiles(folder, rel));
    else if (e.isFile() && !e.name.startsWith('.')) out.push(rel);
  }
  return out;
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
