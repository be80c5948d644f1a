import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import subsetFont from 'subset-font';
import { cachedCut } from './font-cache.ts';

/*
 * The report's fonts, embedded: Noto Sans for Latin, Greek and Cyrillic, Noto Sans KR for Hangul and Noto Sans
 * SC for Chinese characters (from the @fontsource packages), each cut down to the characters the page uses. A
 * full CJK font is about 16 MB; the cut is a few kB per name.
 */

/** The font family the page and its charts name first. */
export const FONT_FAMILY = 'fedmed-sans';

const require = createRequire(import.meta.url);

interface Source {
  readonly pkg: string;
  readonly weights: readonly number[];
  /** Code points this source serves before the later ones are asked. */
  readonly accepts: (cp: number) => boolean;
}

const HANGUL: readonly (readonly [number, number])[] = [
  [0x1100, 0x11ff],
  [0x3130, 0x318f],
  [0xa960, 0xa97f],
  [0xac00, 0xd7af],
  [0xd7b0, 0xd7ff],
];
const isHangul = (cp: number) => HANGUL.some(([a, b]) => cp >= a && cp <= b);

/** In order of preference: Hangul goes to the Korean font, other CJK characters to the Chinese one. */
const SOURCES: readonly Source[] = [
  { pkg: 'noto-sans', weights: [400, 700], accepts: () => true },
  { pkg: 'noto-sans-kr', weights: [400], accepts: isHangul },
  { pkg: 'noto-sans-sc', weights: [400], accepts: () => true },
  { pkg: 'noto-sans-kr', weights: [400], accepts: () => true },
];

type Ranges = readonly (readonly [number, number])[];

function parseRanges(text: string): Ranges {
  return text.split(',').map((part) => {
    const [a, b] = part.trim().replace(/^U\+/i, '').split('-');
    return [parseInt(a!, 16), parseInt(b ?? a!, 16)] as const;
  });
}

const subsetsOf = (pkg: string): readonly { key: string; ranges: Ranges }[] =>
  Object.entries(
    JSON.parse(readFileSync(require.resolve(`@fontsource/${pkg}/unicode.json`), 'utf8')) as Record<
      string,
      string
    >,
  ).map(([key, ranges]) => ({ key: key.replace(/^\[(\d+)\]$/, '$1'), ranges: parseRanges(ranges) }));

/** "U+20-7E,U+AC00": consecutive code points joined into ranges. */
function unicodeRange(cps: readonly number[]): string {
  const parts: string[] = [];
  let start = cps[0]!;
  let prev = start;
  const flush = () =>
    parts.push(
      start === prev
        ? `U+${start.toString(16).toUpperCase()}`
        : `U+${start.toString(16).toUpperCase()}-${prev.toString(16).toUpperCase()}`,
    );
  for (const cp of cps.slice(1)) {
    if (cp === prev + 1) {
      prev = cp;
      continue;
    }
    flush();
    start = prev = cp;
  }
  flush();
  return parts.join(',');
}

/**
 * CSS @font-face rules embedding, as base64 WOFF2, exactly the glyphs that `text` and printable ASCII need,
 * under one family ({@link FONT_FAMILY}) split by unicode-range. Characters no source covers are left to the
 * reader's fonts. The same text gives the same bytes.
 */
export async function embeddedFontCss(text: string): Promise<string> {
  const cps = new Set<number>();
  for (let cp = 0x20; cp <= 0x7e; cp++) cps.add(cp);
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x20 && !(cp >= 0xd800 && cp <= 0xdfff)) cps.add(cp);
  }
  const groups = new Map<string, { source: Source; key: string; cps: number[] }>();
  const catalogue = new Map<string, readonly { key: string; ranges: Ranges }[]>();
  for (const cp of [...cps].sort((a, b) => a - b)) {
    for (const source of SOURCES) {
      if (!source.accepts(cp)) continue;
      if (!catalogue.has(source.pkg)) catalogue.set(source.pkg, subsetsOf(source.pkg));
      const subset = catalogue.get(source.pkg)!.find((s) => s.ranges.some(([a, b]) => cp >= a && cp <= b));
      if (subset === undefined) continue;
      const id = `${source.pkg}/${subset.key}`;
      const group = groups.get(id) ?? { source, key: subset.key, cps: [] };
      group.cps.push(cp);
      groups.set(id, group);
      break;
    }
  }
  const rules: string[] = [];
  for (const [, g] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const weight of g.source.weights) {
      const file = require.resolve(
        `@fontsource/${g.source.pkg}/files/${g.source.pkg}-${g.key}-${weight}-normal.woff2`,
      );
      const chars = String.fromCodePoint(...g.cps);
      const font = readFileSync(file);
      const woff2 = await cachedCut(font, chars, () => subsetFont(font, chars, { targetFormat: 'woff2' }));
      rules.push(
        `@font-face{font-family:${FONT_FAMILY};font-style:normal;font-weight:${weight};font-display:block;` +
          `src:url(data:font/woff2;base64,${woff2.toString('base64')}) format("woff2");unicode-range:${unicodeRange(g.cps)}}`,
      );
    }
  }
  return rules.join('\n');
}
