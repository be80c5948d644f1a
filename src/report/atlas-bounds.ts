import type { Topology } from 'topojson-specification';
import type { KnownBounds } from './map.ts';

const known = new WeakMap<Topology, KnownBounds>();

/**
 * The spherical bounds of the atlas's countries known in this process, in the order of its geometries: the
 * first map drawn from the atlas fills in every country as it converts it (not kept on disk, so no file can
 * change a map), and later maps skip the countries they would clip away without converting them.
 */
export function atlasBounds(atlas: Topology): KnownBounds {
  let bounds = known.get(atlas);
  if (bounds === undefined) known.set(atlas, (bounds = []));
  return bounds;
}
