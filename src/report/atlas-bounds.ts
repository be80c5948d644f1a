import { geoBounds } from 'd3-geo';
import { feature } from 'topojson-client';
import type { GeometryCollection, Topology } from 'topojson-specification';
import type { CountryBounds } from './map.ts';

const computed = new WeakMap<Topology, CountryBounds>();

/**
 * The spherical bounds of every country of the atlas, in the order of its geometries, computed once per atlas in
 * this process (70–200 ms; not kept on disk, so no file can change a map): they let the map skip the countries it
 * would clip away.
 */
export function countryBounds(atlas: Topology): CountryBounds {
  const known = computed.get(atlas);
  if (known !== undefined) return known;
  const object = atlas.objects.countries as GeometryCollection;
  const bounds = object.geometries.map((g) => geoBounds(feature(atlas, g)));
  computed.set(atlas, bounds);
  return bounds;
}
