import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { HospitalConfig } from './schema.ts';
import { describeErrno, kindOf } from '../common/bounded-read.ts';

/** Largest CSV file (records or image labels) a hospital reads: 256 MiB, about three million patients. */
export const MAX_CSV_BYTES = 256 * 2 ** 20;
/** Largest DICOM file a hospital reads: 16 MiB, far above a 128 × 128 16-bit image. */
export const MAX_DICOM_BYTES = 16 * 2 ** 20;
/** Largest PNG, JPEG or DICOM file of an image folder a hospital reads: 64 MiB (a 4096 × 4096 RGBA PNG stored uncompressed). */
export const MAX_IMAGE_BYTES = 64 * 2 ** 20;

/** A path that a hospital may open, or why it may not. */
export type Confined = { readonly path: string } | { readonly refused: string };

/** Whether `path` is `root` itself or lies inside it (both absolute and normalised). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Where a path written in a scenario leads, confined to the data root: it must be relative, stay inside
 * `root` lexically (no `..` out of it) and, where it exists, in fact (no symbolic link leading out). Returns
 * the real path of an existing file or folder, the lexical one of a missing one, or what was expected.
 */
export function confine(root: string, written: string): Confined {
  if (isAbsolute(written)) {
    return { refused: 'a path relative to the data root (an absolute path is refused; see --data-root)' };
  }
  const lexical = resolve(root, written);
  if (!isInside(resolve(root), lexical)) {
    return { refused: 'a path inside the data root (this one leaves it through "..")' };
  }
  return confineResolved(root, lexical);
}

/** Like {@link confine}, for a path already resolved (a file a labels CSV lists inside a DICOM folder). */
export function confineResolved(root: string, path: string): Confined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return { refused: `a readable path (${describeErrno(code)})` };
    if (isDanglingLink(path)) return { refused: 'an existing file (this is a symbolic link to nothing)' };
    return { path };
  }
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    return { refused: `a data root that exists (${describeErrno((e as NodeJS.ErrnoException).code)})` };
  }
  if (!isInside(realRoot, real)) {
    return { refused: 'a path inside the data root (a symbolic link leads out of it)' };
  }
  return { path: real };
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export { describeErrno, kindOf };

/** One file or folder a hospital's source names, once validated. */
interface NamedPath {
  readonly hospital: string;
  readonly jsonPath: string;
  readonly real: string;
  readonly folder: boolean;
}

/**
 * Checks, before any worker starts, every file and folder the hospitals' sources name: each is relative to the
 * data root and stays inside it (also through symbolic links), exists, is a regular file (a folder for DICOM
 * images or an image folder) no larger than its cap, and belongs to one hospital only (no two hospitals name the same file, or a
 * file inside another's DICOM folder). Calls `fail` naming the JSON
 * path(s), hospital(s) and what was expected.
 */
export function checkDataPaths(
  hospitals: readonly HospitalConfig[],
  root: string,
  fail: (message: string) => never,
): void {
  const named: NamedPath[] = [];
  hospitals.forEach((h, i) => {
    const at = (field: string) => `$.hospitals[${i}].source.${field}`;
    const check = (field: string, written: string, folder: boolean, maxBytes: number) => {
      const c = confine(root, written);
      if ('refused' in c) fail(`${at(field)}: expected ${c.refused}`);
      const real = (c as { path: string }).path;
      let stat: Stats;
      try {
        stat = statSync(real);
      } catch (e) {
        return fail(
          `${at(field)}: expected an existing ${folder ? 'folder' : 'file'} (${describeErrno((e as NodeJS.ErrnoException).code)}: ${real})`,
        );
      }
      if (folder ? !stat.isDirectory() : !stat.isFile()) {
        fail(`${at(field)}: expected ${folder ? 'a folder' : 'a regular file'} (this is ${kindOf(stat)})`);
      }
      if (!folder && stat.size > maxBytes) {
        fail(`${at(field)}: expected a file of at most ${maxBytes / 2 ** 20} MiB`);
      }
      named.push({ hospital: h.id, jsonPath: at(field), real, folder });
    };
    const source = h.source;
    if (source.kind === 'csv') check('path', source.path, false, MAX_CSV_BYTES);
    if (source.kind === 'table') check('path', source.path, false, MAX_CSV_BYTES);
    if (source.kind === 'dicom' || source.kind === 'image-folder') {
      check('folder', source.folder, true, 0);
      check('labels', source.labels, false, MAX_CSV_BYTES);
    }
  });
  for (const [k, a] of named.entries()) {
    for (const b of named.slice(0, k)) {
      if (a.hospital === b.hospital) continue;
      const shared =
        a.real === b.real || (a.folder && isInside(a.real, b.real)) || (b.folder && isInside(b.real, a.real));
      if (shared) {
        fail(
          `${a.jsonPath} and ${b.jsonPath}: hospitals ${a.hospital} and ${b.hospital} name the same ` +
            `${a.real === b.real ? (a.folder ? 'folder' : 'file') : 'files'}; expected each hospital's own files`,
        );
      }
    }
  }
}
