import { realpathSync } from 'node:fs';
import { readBounded, type Fail } from '../../common/bounded-read.ts';
import { confineResolved, describeErrno } from '../../scenario/data-paths.ts';

export type { Fail } from '../../common/bounded-read.ts';

/**
 * Reads a hospital's own file whole. With `root`, its real path must lie inside the data root. It must be a
 * regular file of at most `maxBytes`: a FIFO or a device is refused before any blocking read (it is opened
 * non-blocking and checked through its descriptor), and a missing, unreadable or oversized file is named,
 * never read.
 */
export function readLocalFile(path: string, maxBytes: number, fail: Fail, root?: string): Buffer {
  if (root === undefined) return readBounded(path, maxBytes, fail);
  const c = confineResolved(root, path);
  if ('refused' in c) return fail(c.refused);
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    return fail(`a data root that exists (${describeErrno((e as NodeJS.ErrnoException).code)})`);
  }
  return readBounded(c.path, maxBytes, fail, realRoot);
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
