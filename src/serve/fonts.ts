import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FONT_FAMILY } from '../report/fonts.ts';

/*
 * The dashboard's fonts, served by fedmed itself from the @fontsource packages: Noto Sans, then Noto Sans KR for
 * Hangul and Noto Sans SC for Chinese characters, under the family the report's charts name. The browser
 * fetches only the unicode-range pieces a page uses, from this server.
 */

const require = createRequire(import.meta.url);

/** The packages served, in the order a character looks for its glyph. */
const PACKAGES = ['noto-sans', 'noto-sans-kr', 'noto-sans-sc'] as const;
type FontPackage = (typeof PACKAGES)[number];

const HANGUL: readonly (readonly [number, number])[] = [
  [0x1100, 0x11ff],
  [0x3130, 0x318f],
  [0xa960, 0xa97f],
  [0xac00, 0xd7af],
  [0xd7b0, 0xd7ff],
];

type Range = readonly [number, number];

const parseRanges = (text: string): Range[] =>
  text.split(',').map((part) => {
    const [a, b] = part.trim().replace(/^U\+/i, '').split('-');
    return [parseInt(a!, 16), parseInt(b ?? a!, 16)] as const;
  });

/** `ranges` less every Hangul block. */
function withoutHangul(ranges: readonly Range[]): Range[] {
  let out: Range[] = [...ranges];
  for (const [c, d] of HANGUL)
    out = out.flatMap(([a, b]): Range[] =>
      b < c || a > d
        ? [[a, b]]
        : [...(a < c ? [[a, c - 1] as const] : []), ...(b > d ? [[d + 1, b] as const] : [])],
    );
  return out;
}

const hex = (n: number) => n.toString(16).toUpperCase();
const rangeText = (ranges: readonly Range[]) =>
  ranges.map(([a, b]) => (a === b ? `U+${hex(a)}` : `U+${hex(a)}-${hex(b)}`)).join(',');

const folderOf = (pkg: FontPackage): string => dirname(require.resolve(`@fontsource/${pkg}/unicode.json`));

/**
 * @font-face rules for the served fonts. CSS tries the faces of one family in reverse order of declaration:
 * Noto Sans first, then the Chinese font (its Hangul left out), then the Korean one, as the report does.
 */
export function fontCss(): string {
  const rules: string[] = [];
  const add = (pkg: FontPackage, weights: readonly number[], trim: (r: Range[]) => Range[]) => {
    const subsets = JSON.parse(readFileSync(join(folderOf(pkg), 'unicode.json'), 'utf8')) as Record<
      string,
      string
    >;
    for (const [key, ranges] of Object.entries(subsets)) {
      const subset = key.replace(/^\[(\d+)\]$/, '$1');
      const kept = trim(parseRanges(ranges));
      if (kept.length === 0) continue;
      for (const weight of weights)
        rules.push(
          `@font-face{font-family:${FONT_FAMILY};font-style:normal;font-weight:${weight};font-display:swap;` +
            `src:url(/fonts/${pkg}/${pkg}-${subset}-${weight}-normal.woff2) format("woff2");unicode-range:${rangeText(kept)}}`,
        );
    }
  };
  add('noto-sans-kr', [400], (r) => r);
  add('noto-sans-sc', [400], withoutHangul);
  add('noto-sans', [400, 700], (r) => r);
  return rules.join('\n') + '\n';
}

/** The bytes of a served font file, or undefined for any name that is not one of them. */
export function fontFile(pkg: string, file: string): Buffer | undefined {
  if (!(PACKAGES as readonly string[]).includes(pkg)) return undefined;
  if (!new RegExp(`^${pkg}-[a-z0-9-]+-(400|700)-normal\\.woff2$`).test(file)) return undefined;
  const path = join(folderOf(pkg as FontPackage), 'files', file);
  return existsSync(path) ? readFileSync(path) : undefined;
}
