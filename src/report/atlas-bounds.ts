import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { geoBounds } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import { sha256 } from '../common/hash.ts';
import type { CountryBounds } from './map.ts';

/** Where the atlas's country bounds are kept between reports (a cache: deleting it costs only time). */
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/fedmed/atlas/', import.meta.url));

/**
 * The spherical bounds of every country of the atlas, in the order of its geometries, computed once per atlas
 * (world-atlas and d3-geo versions, the atlas's shape) and kept: they let the map skip the countries it would clip away.
 */
export function countryBounds(atlas: Topology): CountryBounds {
  const object = atlas.objects.countries as GeometryCollection;
  let path: string | undefined;
  try {
    const version = (name: string) =>
      (
        JSON.parse(
          readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), 'utf8'),
        ) as { version: string }
      ).version;
    const shape = {
      d3: version('d3-geo'),
      atlas: version('world-atlas'),
      arcs: atlas.arcs.length,
      countries: object.geometries.length,
      transform: atlas.transform ?? null,
      bbox: atlas.bbox ?? null,
    };
    path = join(CACHE, `${sha256(JSON.stringify(shape))}.json`);
    const kept = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (Array.isArray(kept) && kept.length === object.geometries.length) return kept as CountryBounds;
  } catch {
    // not computed before
  }
  const bounds = object.geometries.map((g) => geoBounds(feature(atlas, g)));
  if (path !== undefined)
    try {
      mkdirSync(CACHE, { recursive: true });
      const draft = `${path}.${process.pid}`;
      writeFileSync(draft, JSON.stringify(bounds));
      renameSync(draft, path);
    } catch {
      // a read-only install: the map is the same, only slower next time
    }
  return bounds;
}
