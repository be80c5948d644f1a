import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import countries from 'i18n-iso-countries';
import type { Topology } from 'topojson-specification';
import type { NumericCodes } from './map.ts';

const require = createRequire(import.meta.url);

/** Natural Earth's countries at 1:50m, as TopoJSON from the world-atlas package. */
export function loadAtlas(): Topology {
  return JSON.parse(readFileSync(require.resolve('world-atlas/countries-50m.json'), 'utf8')) as Topology;
}

/** ISO 3166-1 alpha-2 → numeric, the ids of world-atlas's countries. */
export const numericCode: NumericCodes = (alpha2) => countries.alpha2ToNumeric(alpha2);

/** A short English name of a country (alpha-2): "China", "South Korea"; the code itself when it is not one. */
export function countryName(alpha2: string): string {
  const names = countries.getName(alpha2, 'en', { select: 'all' }) ?? [];
  const short = names
    .filter((n) => n.length > 3 && !/[.,]/.test(n))
    .sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  return short[0] ?? names[0] ?? alpha2;
}
