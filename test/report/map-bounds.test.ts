import { describe, expect, it } from 'vitest';
import { loadAtlas, numericCode } from '../../src/report/atlas.ts';
import { atlasBounds } from '../../src/report/atlas-bounds.ts';
import { renderMap, type MapInput } from '../../src/report/map.ts';

const atlas = loadAtlas();

/** A map of hospitals in these countries (at their centres, or at `location`), the coordinator in the first. */
function input(sites: readonly (string | [string, number, number])[], coordinator?: string): MapInput {
  const hospitals = sites.map((s, i) => {
    const [country, lat, lon] = typeof s === 'string' ? [s] : s;
    return {
      id: `h-${i}`,
      label: `hospital ${i}`,
      country,
      patients: 100 * (i + 1),
      ...(lat === undefined ? {} : { location: { lat, lon: lon! } }),
    };
  });
  return {
    hospitals,
    coordinatorSite: coordinator ?? hospitals[0]!.country,
    coordinatorLabel: 'coordinator',
    flows: hospitals.map((h, i) => ({
      hospital: h.id,
      direction: 'to-coordinator' as const,
      messages: 3,
      bytes: 1000 * (i + 1),
      crossesBorder: h.country !== (coordinator ?? hospitals[0]!.country),
    })),
    recordsExported: 0,
    idPrefix: 'm',
  };
}

describe('the map skips countries off it', () => {
  it('draws the same SVG with the atlas bounds as without, wherever the map is', () => {
    const bounds = atlasBounds(atlas);
    const maps: MapInput[] = [
      input(['KR', 'CN']),
      input(['FR', 'DE', 'IT'], 'neutral'),
      input(['RU', 'FJ', 'NZ']),
      input(['NO', ['GL', 72, -40], 'IS']),
      input(['AU', 'NZ']),
      input([['AR', -54.8, -68.3], 'CL']),
    ];
    // The first map fills in every country's bounds; the others skip countries by them.
    for (const m of maps)
      expect(renderMap(m, atlas, numericCode, bounds)).toBe(renderMap(m, atlas, numericCode));
    expect(bounds).toHaveLength((atlas.objects.countries as { geometries: unknown[] }).geometries.length);
    expect(bounds.every((b) => b !== undefined)).toBe(true);
    expect(atlasBounds(atlas)).toBe(bounds);
  });
});
