import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { relative, isAbsolute, sep } from 'node:path';

/** Throws the caller's error (naming the file, and a hospital, row or column where there is one) with what was expected. */
export type Fail = (expected: string) => never;

/**
 * Reads a file whole, as a hostile folder may offer it: a FIFO or a device is refused before any blocking
 * read (it is opened non-blocking and checked through its descriptor), a file over `maxBytes` is named, never
 * read. With `realRoot`, the file actually opened must lie inside that real folder, checked through the open
 * descriptor, so a folder swapped for a symbolic link after an earlier check cannot lead out of it.
 */
export function readBounded(path: string, maxBytes: number, fail: Fail, realRoot?: string): Buffer {
  const follow = realRoot === undefined ? 0 : constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | follow);
  } catch (e) {
    return fail(`a readable file (${describeErrno((e as NodeJS.ErrnoException).code)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) fail(`a regular file (this is ${kindOf(stat)})`);
    if (realRoot !== undefined && !openedInside(fd, path, stat, realRoot)) {
      fail('a path inside the data root (a folder on the way was changed to lead out of it)');
    }
    if (stat.size > maxBytes) {
      fail(`a file of at most ${mebibytes(maxBytes)} (this one has ${mebibytes(stat.size)})`);
    }
    const bytes = Buffer.allocUnsafe(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } catch (e) {
    if (!(e instanceof Error) || !('code' in e)) throw e;
    return fail(`a readable file (${describeErrno((e as NodeJS.ErrnoException).code)})`);
  } finally {
    closeSync(fd);
  }
}

/** Whether the file open as `fd` lies inside `realRoot`: by the kernel's name for it where /proc has one. */
function openedInside(
  fd: number,
  path: string,
  stat: { dev: number; ino: number },
  realRoot: string,
): boolean {
  let real: string;
  try {
    real = realpathSync(`/proc/self/fd/${fd}`);
  } catch {
    try {
      real = realpathSync(path);
      const now = statSync(real);
      if (now.dev !== stat.dev || now.ino !== stat.ino) return false;
    } catch {
      return false;
    }
  }
  const rel = relative(realRoot, real);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The largest file of a run folder fedmed reads: about the longest string Node can hold. */
export const MAX_RUN_FILE_BYTES = 512 * 2 ** 20;

/** Bytes in MiB, for messages. */
export function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;
}

/** An error code in words, for messages that name a file and never its contents. */
export function describeErrno(code: string | undefined): string {
  switch (code) {
    case 'ENOENT':
      return 'not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'a folder';
    case 'ENOTDIR':
      return 'a part of the path is not a folder';
    case 'ELOOP':
      return 'a loop of symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return code ?? 'read error';
  }
}

/** What kind of file system object a stat describes, in words ("a FIFO", "a character device", …). */
export function kindOf(s: {
  isFile(): boolean;
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
  isSymbolicLink(): boolean;
}): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}
