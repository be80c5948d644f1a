import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { confineResolved, describeErrno, kindOf } from '../../scenario/data-paths.ts';

/** Throws the caller's error (naming hospital, file, row or column) with what was expected. */
export type Fail = (expected: string) => never;

/**
 * Reads a hospital's own file whole. With `root`, its real path must lie inside the data root. It must be a
 * regular file of at most `maxBytes`: a FIFO or a device is refused before any blocking read (it is opened
 * non-blocking and checked through its descriptor), and a missing, unreadable or oversized file is named,
 * never read.
 */
export function readLocalFile(path: string, maxBytes: number, fail: Fail, root?: string): Buffer {
  let target = path;
  if (root !== undefined) {
    const c = confineResolved(root, path);
    if ('refused' in c) fail(c.refused);
    else target = c.path;
  }
  const follow = root === undefined ? 0 : constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = openSync(target, constants.O_RDONLY | constants.O_NONBLOCK | follow);
  } catch (e) {
    return fail(`a readable file (${describeErrno((e as NodeJS.ErrnoException).code)})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) fail(`a regular file (this is ${kindOf(stat)})`);
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

/**
 * A file's bytes as UTF-8 text without its byte-order mark. UTF-16 (which spreadsheet programs write as
 * "Unicode text"), bytes that are not UTF-8 and NUL characters are refused, so they are named as such rather
 * than misread as cells.
 */
export function utf8Text(bytes: Uint8Array, fail: Fail): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    fail('UTF-8 text (this file is UTF-16; save it as UTF-8)');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return fail('UTF-8 text (some bytes are not UTF-8)');
  }
  if (text.includes('\0')) fail('text without NUL characters (is the file UTF-16 or binary?)');
  return text;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 0)} MiB`;
}
