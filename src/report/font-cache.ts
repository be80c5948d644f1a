import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../common/hash.ts';

/** Where cut fonts are kept between reports (a cache: deleting it costs only time). */
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/fedmed/fonts/', import.meta.url));
const SUBSETTER = (
  JSON.parse(readFileSync(createRequire(import.meta.url).resolve('subset-font/package.json'), 'utf8')) as {
    version: string;
  }
).version;

/**
 * `cut()`'s WOFF2 of `font` reduced to `chars`, reused from an earlier report when one cut the same font file
 * to the same characters with the same subset-font version (cutting and compressing is most of a report's time).
 * The same input gives the same bytes either way.
 */
export async function cachedCut(font: Buffer, chars: string, cut: () => Promise<Buffer>): Promise<Buffer> {
  const path = join(CACHE, `${sha256(`${SUBSETTER}\0${sha256(font)}\0${chars}`)}.woff2`);
  try {
    const kept = readFileSync(path);
    if (kept.subarray(0, 4).toString('latin1') === 'wOF2') return kept;
  } catch {
    // not cut before
  }
  const woff2 = await cut();
  try {
    mkdirSync(CACHE, { recursive: true });
    const draft = `${path}.${process.pid}`;
    writeFileSync(draft, woff2);
    renameSync(draft, path);
  } catch {
    // a read-only install: the report is the same, only slower next time
  }
  return woff2;
}
