import { mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeErrno } from '../../scenario/data-paths.ts';
import { InputError } from '../../scenario/load.ts';
import { acquireLock, releaseLock } from './output-lock.ts';

/** What a container folder holds: a sweep's runs and tables, a bench's, or a hospital's generated files. */
export type ContainerKind = 'sweep' | 'bench' | 'generate';

/** The marker fedmed writes first into a container folder. */
export const containerMarker = (kind: ContainerKind): string => `.fedmed-${kind}`;

/**
 * Opens `dir` as a container of `kind` for this process: it must be absent, empty, marked as such a container
 * by fedmed, or (`earlier`) recognised as one an earlier fedmed version wrote; anything else is an
 * {@link InputError} (exit 2) before any work. Creates it, writes the marker, and takes the folder's lock
 * (a second fedmed into the same folder exits 2 naming the holder). Returns the function that releases it.
 */
export function openContainer(
  dir: string,
  kind: ContainerKind,
  flag: string,
  earlier: (entries: readonly string[]) => boolean,
): () => void {
  const d = resolve(dir);
  let entries: string[] | undefined;
  try {
    entries = readdirSync(d);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new InputError(`${flag} ${d}: expected a folder (${describeErrno(code)})`);
  }
  if (
    entries !== undefined &&
    entries.length > 0 &&
    !entries.includes(containerMarker(kind)) &&
    !earlier(entries)
  ) {
    const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
    throw new InputError(
      `${flag} ${d}: holds files fedmed did not write (${shown}); expected an empty folder or an earlier ` +
        `fedmed ${kind} folder, so nothing was written. Choose another ${flag}`,
    );
  }
  try {
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, containerMarker(kind)), `written by fedmed ${kind}\n`);
  } catch (e) {
    throw new InputError(
      `${flag} ${d}: cannot create it (${describeErrno((e as NodeJS.ErrnoException).code)})`,
    );
  }
  const lock = join(d, '.fedmed.lock');
  acquireLock(lock, `${flag} ${d}`);
  return () => releaseLock(lock);
}

/** Writes a file whole or not at all: into a sibling first, then renamed over the file. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const draft = `${path}.${process.pid}.draft`;
  writeFileSync(draft, data);
  renameSync(draft, path);
}
