import type * as Topojson from 'topojson-client';
import { describe, expect, it, vi } from 'vitest';
import { loadAtlas, numericCode } from '../../src/report/atlas.ts';
import { atlasBounds } from '../../src/report/atlas-bounds.ts';
import { renderMap, type MapInput } from '../../src/report/map.ts';

/** How many times each TopoJSON geometry was converted to GeoJSON. */
const conversions = vi.hoisted(() => new Map<unknown, number>());

vi.mock('topojson-client', async (importOriginal) => {
  const real = await importOriginal<typeof Topojson>();
  const feature = (...args: Parameters<typeof real.feature>) => {
    conversions.set(args[1], (conversions.get(args[1]) ?? 0) + 1);
    return real.feature(...args);
  };
  return { ...real, feature };
});

const input: MapInput = {
  hospitals: [
    { id: 'kr-seoul-1', label: 'Seoul', country: 'KR', patients: 1200 },
    { id: 'cn-urumqi-1', label: 'Urumqi', country: 'CN', patients: 600 },
  ],
  coordinatorSite: 'KR',
  coordinatorLabel: 'coordinator',
  flows: [],
  recordsExported: 0,
  idPrefix: 'm',
};

describe('the map converts countries from TopoJSON', () => {
  it('once each for its bounds and drawing together, then only the countries it shows', () => {
    const atlas = loadAtlas();
    const countries = (atlas.objects.countries as { geometries: unknown[] }).geometries.length;
    const bounds = atlasBounds(atlas);
    const first = renderMap(input, atlas, numericCode, bounds);
    expect(conversions.size).toBe(countries);
    expect(Math.max(...conversions.values())).toBe(1);
    conversions.clear();
    expect(renderMap(input, atlas, numericCode, bounds)).toBe(first);
    const shown = first.match(/<path class="country/g)!.length;
    expect(shown).toBeLessThan(countries / 4);
    expect(conversions.size).toBe(shown);
    expect(Math.max(...conversions.values())).toBe(1);
  });
});
