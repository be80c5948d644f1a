import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import subsetFont from 'subset-font';
import { describe, expect, it } from 'vitest';
import { cachedCut } from '../../src/report/font-cache.ts';

const font = readFileSync(
  createRequire(import.meta.url).resolve('@fontsource/noto-sans/files/noto-sans-latin-400-normal.woff2'),
);

describe('the report font cache', () => {
  it('gives the bytes subset-font cuts, and gives them again without cutting', async () => {
    const chars = 'fedmed font cache';
    const fresh = await subsetFont(font, chars, { targetFormat: 'woff2' });
    const first = await cachedCut(font, chars, () => subsetFont(font, chars, { targetFormat: 'woff2' }));
    expect(first).toEqual(fresh);
    const again = await cachedCut(font, chars, () => Promise.reject(new Error('cut twice')));
    expect(again).toEqual(fresh);
    const other = await cachedCut(font, `${chars}!`, () =>
      subsetFont(font, `${chars}!`, { targetFormat: 'woff2' }),
    );
    expect(other).not.toEqual(fresh);
  });
});
