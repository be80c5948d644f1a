import {
  geoBounds,
  geoCentroid,
  geoMercator,
  geoPath,
  type GeoPermissibleObjects,
  type GeoProjection,
} from 'd3-geo';
import { feature } from 'topojson-client';
import type { Topology, GeometryCollection } from 'topojson-specification';
import type { Feature, Geometry } from 'geojson';
import { bytes as formatBytes, fixed, integer } from './format.ts';
import { escapeText } from './html.ts';
import { CAPITALS, CITIES, cityOf, type LatLon, type Placement } from './places.ts';

/** A hospital on the map. */
export interface MapHospital {
  readonly id: string;
  /** Display name (any script); the id when the scenario gives none. */
  readonly label: string;
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  readonly patients: number;
  readonly location?: LatLon;
}

/** Messages between one hospital and the coordinator in one direction. */
export interface MapFlow {
  readonly hospital: string;
  readonly direction: 'to-hospital' | 'to-coordinator';
  readonly messages: number;
  readonly bytes: number;
  readonly crossesBorder: boolean;
}

/** What the map shows: plain data, so a page in a browser can draw the same map. */
export interface MapInput {
  readonly hospitals: readonly MapHospital[];
  /** The coordinator's country (alpha-2), or `neutral`. */
  readonly coordinatorSite: string;
  readonly coordinatorLabel: string;
  readonly flows: readonly MapFlow[];
  /** Raw patient records that left their hospital in the federation (always 0 in fedmed). */
  readonly recordsExported: number;
  /** Prefix of every id in the SVG, unique per map in a page. */
  readonly idPrefix: string;
}

/** ISO 3166-1 alpha-2 → numeric code, the ids of world-atlas's countries. */
export type NumericCodes = (alpha2: string) => string | undefined;

const WIDTH = 960;
const HEIGHT = 560;
const PAD = 48;
const BORDER = '#d6404a';
const DOMESTIC = '#3a8a3f';
const COUNTRY_COLOURS = ['#4c78a8', '#f58518', '#72b7b2', '#b279a2', '#9d755d', '#eeca3b'];

const num = (v: number): string => fixed(v, 1);

type CountryFeature = Feature<Geometry, { name: string }>;

/** Each country's spherical bounds (d3's geoBounds, [[west, south], [east, north]]), in the atlas's order. */
export type CountryBounds = readonly (readonly [readonly [number, number], readonly [number, number]])[];

/** The bounds of the atlas's countries known so far, in its order: a map fills in each one it converts. */
export type KnownBounds = (CountryBounds[number] | undefined)[];

/**
 * The atlas's countries: `at` converts one from TopoJSON when first asked for and keeps it for this map, `once`
 * converts it (or gives the kept one) without keeping it.
 */
function countryFeatures(atlas: Topology): {
  count: number;
  id: (i: number) => unknown;
  at: (i: number) => CountryFeature;
  once: (i: number) => CountryFeature;
} {
  const geometries = (atlas.objects.countries as GeometryCollection<{ name: string }>).geometries;
  const made: CountryFeature[] = [];
  const convert = (i: number) => feature(atlas, geometries[i]!) as CountryFeature;
  return {
    count: geometries.length,
    id: (i) => geometries[i]!.id,
    at: (i) => (made[i] ??= convert(i)),
    once: (i) => made[i] ?? convert(i),
  };
}

/** Latitudes are taken at most this far from the equator: Mercator's poles are infinitely far. */
const POLAR = 89.999;

/**
 * False only for a country whose drawing would be empty: its spherical bounds (great-circle edges included),
 * under an unrotated Mercator, where x follows longitude and y latitude alone, miss the map by more than a
 * pixel (a country across the antimeridian is two boxes, one each side). Projecting those only to clip them
 * away was most of the map's time.
 */
function mayShow(bounds: CountryBounds[number] | undefined, projection: GeoProjection): boolean {
  if (bounds === undefined) return true;
  const [[west, s], [east, n]] = bounds;
  const south = Math.max(-POLAR, s);
  const north = Math.min(POLAR, n);
  const box = (lon0: number, lon1: number): boolean => {
    const [x0, y1] = projection([lon0, south]) ?? [NaN, NaN];
    const [x1, y0] = projection([lon1, north]) ?? [NaN, NaN];
    if (![x0, y0, x1, y1].every(Number.isFinite)) return true;
    return x1 >= -1 && x0 <= WIDTH + 1 && y1 >= -1 && y0 <= HEIGHT + 1;
  };
  return west <= east ? box(west, east) : box(west, 180) || box(-180, east);
}

/**
 * Renders the map as an SVG string: the participating countries, each hospital a disc whose area is
 * proportional to its patients, and per hospital two curves to the coordinator (out: global model and
 * instructions; back: updates and metrics), their width by bytes, red where they crossed a border.
 */
export function renderMap(
  input: MapInput,
  atlas: Topology,
  numeric: NumericCodes,
  /**
   * The atlas's {@link KnownBounds}, to skip countries off the map without projecting them; those not known
   * yet are computed from the conversion that draws them, and filled in.
   */
  bounds?: KnownBounds,
): string {
  const countries = countryFeatures(atlas);
  const byAlpha = new Map<string, CountryFeature>();
  const participants = [...new Set(input.hospitals.map((h) => h.country))];
  if (input.coordinatorSite !== 'neutral' && !participants.includes(input.coordinatorSite))
    participants.push(input.coordinatorSite);
  for (const a of participants) {
    const code = numeric(a);
    for (let i = 0; i < countries.count; i++)
      if (countries.id(i) === code) {
        byAlpha.set(a, countries.at(i));
        break;
      }
  }
  const geo = (h: MapHospital): { at: LatLon; placement: Placement } => {
    if (h.location) return { at: h.location, placement: 'location' };
    const city = cityOf(h.id, h.label);
    if (city) return { at: CITIES[city]!, placement: 'city' };
    const f = byAlpha.get(h.country);
    const [lon, lat] = f ? geoCentroid(f) : [0, 0];
    return { at: { lat, lon }, placement: 'country' };
  };
  const placed = input.hospitals.map((h) => ({ h, ...geo(h) }));
  const coordinatorCity = CAPITALS[input.coordinatorSite];
  const coordinatorFeature = byAlpha.get(input.coordinatorSite);
  const coordinatorAt: LatLon | undefined = coordinatorCity
    ? CITIES[coordinatorCity]
    : coordinatorFeature
      ? (([lon, lat]) => ({ lat, lon }))(geoCentroid(coordinatorFeature))
      : undefined;
  const points: GeoPermissibleObjects = {
    type: 'FeatureCollection',
    features: [
      ...[...byAlpha.values()],
      ...placed.map((p): Feature => ({
        type: 'Feature',
        properties: {},
        geometry: { type: 'Point', coordinates: [p.at.lon, p.at.lat] },
      })),
    ],
  };
  const projection = geoMercator()
    .fitExtent(
      [
        [PAD, PAD],
        [WIDTH - PAD - 180, HEIGHT - PAD],
      ],
      points,
    )
    .clipExtent([
      [0, 0],
      [WIDTH, HEIGHT],
    ]);
  const path = geoPath(projection).digits(1);
  const project = (at: LatLon): [number, number] => projection([at.lon, at.lat]) ?? [0, 0];

  const maxPatients = Math.max(...input.hospitals.map((h) => h.patients), 1);
  const seen = new Map<string, number>();
  const sites = placed.map((p) => {
    const [x0, y0] = project(p.at);
    const key = `${Math.round(x0)},${Math.round(y0)}`;
    const k = seen.get(key) ?? 0;
    seen.set(key, k + 1);
    // Hospitals at one spot sit on a small spiral around it, in scenario order.
    const angle = k * 2.399963;
    const dist = k === 0 ? 0 : 10 + 6 * Math.sqrt(k);
    return {
      h: p.h,
      placement: p.placement,
      x: x0 + dist * Math.cos(angle),
      y: y0 + dist * Math.sin(angle),
      r: 4 + 14 * Math.sqrt(p.h.patients / maxPatients),
    };
  });
  const [cx, cy] = coordinatorPosition(
    coordinatorAt ? project(coordinatorAt) : [WIDTH - 110, HEIGHT - 110],
    sites,
  );
  const labels = placeLabels(sites, [cx, cy], input.coordinatorLabel);
  const maxBytes = Math.max(...input.flows.map((f) => f.bytes), 1);
  const id = (s: string): string => `${input.idPrefix}-${s}`;
  const colourOf = new Map(participants.map((c, i) => [c, COUNTRY_COLOURS[i % COUNTRY_COLOURS.length]!]));

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="map" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${id('title')}">`,
    `<title id="${id('title')}">Map of the participating countries, hospitals and the messages that crossed</title>`,
    `<defs>`,
    ...[
      ['border', BORDER],
      ['domestic', DOMESTIC],
    ].map(
      ([name, colour]) =>
        `<marker id="${id(`arrow-${name}`)}" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${colour}"/></marker>`,
    ),
    `</defs>`,
    `<rect class="sea" width="${WIDTH}" height="${HEIGHT}" fill="#eef3f8"/>`,
    `<g class="countries">`,
  );
  for (let i = 0; i < countries.count; i++) {
    let c: CountryFeature | undefined;
    if (bounds !== undefined) bounds[i] ??= geoBounds((c = countries.once(i)));
    if (!mayShow(bounds?.[i], projection)) continue;
    c ??= countries.once(i);
    const d = path(c);
    if (d === null || d === '') continue;
    const alpha = [...byAlpha].find(([, f]) => f === c)?.[0];
    out.push(
      `<path class="country${alpha ? ' participant' : ''}" d="${d}" fill="${alpha ? '#fdfbf4' : '#dde3e8'}" stroke="${alpha ? '#6b6b6b' : '#b8c0c8'}" stroke-width="${alpha ? 1.2 : 0.6}"><title>${escapeText(c.properties.name)}</title></path>`,
    );
  }
  out.push(`</g>`, `<g class="flows">`);
  for (const s of sites) {
    for (const f of input.flows.filter((fl) => fl.hospital === s.h.id)) {
      const out1 = f.direction === 'to-coordinator';
      const [ax, ay, bx, by] = out1 ? [s.x, s.y, cx, cy] : [cx, cy, s.x, s.y];
      const dx = bx - ax;
      const dy = by - ay;
      const len = Math.hypot(dx, dy) || 1;
      // The curve leaves the edge of one marker and its arrow stops at the edge of the other.
      const [startGap, endGap] = out1 ? [s.r, 14] : [12, s.r + 4];
      const [x1, y1] = [ax + (dx / len) * startGap, ay + (dy / len) * startGap];
      const [x2, y2] = [bx - (dx / len) * endGap, by - (dy / len) * endGap];
      // Each direction bends to its own side, so the two curves of a hospital stay apart.
      const bend = Math.min(40, 0.18 * len);
      const qx = (x1 + x2) / 2 - (dy / len) * bend;
      const qy = (y1 + y2) / 2 + (dx / len) * bend;
      const colour = f.crossesBorder ? BORDER : DOMESTIC;
      const width = 1 + 5 * Math.sqrt(f.bytes / maxBytes);
      const what = out1 ? `${s.h.label} → coordinator` : `coordinator → ${s.h.label}`;
      out.push(
        `<path class="flow ${f.crossesBorder ? 'border' : 'domestic'}" data-hospital="${escapeText(s.h.id)}" data-direction="${f.direction}" data-bytes="${f.bytes}" d="M${num(x1)},${num(y1)}Q${num(qx)},${num(qy)} ${num(x2)},${num(y2)}" fill="none" stroke="${colour}" stroke-opacity="0.75" stroke-width="${num(width)}" marker-end="url(#${id(f.crossesBorder ? 'arrow-border' : 'arrow-domestic')})"><title>${escapeText(`${what}: ${integer(f.messages)} messages, ${formatBytes(f.bytes)}${f.crossesBorder ? ', across a border' : ', within the country'}`)}</title></path>`,
      );
    }
  }
  out.push(`</g>`, `<g class="sites">`);
  out.push(
    `<g class="coordinator"><rect x="${num(cx - 9)}" y="${num(cy - 9)}" width="18" height="18" rx="3" fill="#333" stroke="white" stroke-width="2"/><text x="${num(labels.coordinator.x)}" y="${num(labels.coordinator.y)}" class="label" text-anchor="${labels.coordinator.anchor}">${escapeText(input.coordinatorLabel)}</text></g>`,
  );
  for (const [i, s] of sites.entries()) {
    const colour = colourOf.get(s.h.country) ?? '#888';
    const label = labels.sites[i]!;
    out.push(
      `<g class="hospital" data-hospital="${escapeText(s.h.id)}" data-placement="${s.placement}"><circle cx="${num(s.x)}" cy="${num(s.y)}" r="${num(s.r)}" fill="${colour}" fill-opacity="0.85" stroke="white" stroke-width="1.5"><title>${escapeText(`${s.h.label} (${s.h.id}, ${s.h.country}): ${integer(s.h.patients)} patients`)}</title></circle>` +
        `<text x="${num(label.x)}" y="${num(label.y)}" class="label" text-anchor="${label.anchor}">${escapeText(s.h.label)}</text></g>`,
    );
  }
  out.push(`</g>`);
  const legendX = WIDTH - 200;
  out.push(
    `<g class="legend" transform="translate(${legendX},16)">`,
    `<rect width="188" height="${112 + participants.length * 18}" rx="6" fill="white" fill-opacity="0.92" stroke="#ccc"/>`,
    `<line x1="12" y1="22" x2="40" y2="22" stroke="${BORDER}" stroke-width="4"/><text x="48" y="26">crossed a border</text>`,
    `<line x1="12" y1="44" x2="40" y2="44" stroke="${DOMESTIC}" stroke-width="4"/><text x="48" y="48">stayed in its country</text>`,
    `<rect x="17" y="58" width="14" height="14" rx="2" fill="#333"/><text x="48" y="70">coordinator</text>`,
    ...participants.map(
      (c, i) =>
        `<circle cx="24" cy="${88 + i * 18}" r="6" fill="${colourOf.get(c)}"/><text x="48" y="${92 + i * 18}">hospital in ${escapeText(c)}</text>`,
    ),
    `<text x="12" y="${100 + participants.length * 18}" class="records">raw records exported: ${integer(input.recordsExported)}</text>`,
    `</g>`,
    `<text x="12" y="${HEIGHT - 12}" class="note">Disc area ∝ patients; line width ∝ bytes; arrows point the way messages went.</text>`,
    `</svg>`,
  );
  return out.join('');
}

interface Site {
  readonly x: number;
  readonly y: number;
  readonly r: number;
  readonly h: MapHospital;
}

/** The coordinator's spot, moved off a hospital's marker that would hide it (away from the hospitals' middle). */
function coordinatorPosition([x, y]: [number, number], sites: readonly Site[]): [number, number] {
  if (!sites.some((s) => Math.hypot(s.x - x, s.y - y) < s.r + 16)) return [x, y];
  const mx = sites.reduce((a, s) => a + s.x, 0) / sites.length;
  const my = sites.reduce((a, s) => a + s.y, 0) / sites.length;
  const len = Math.hypot(x - mx, y - my) || 1;
  return [x + ((x - mx) / len) * 48, y + ((y - my) / len) * 48];
}

interface LabelSpot {
  readonly x: number;
  readonly y: number;
  readonly anchor: 'start' | 'end' | 'middle';
}

type Box = readonly [number, number, number, number];

/** Rough width of a label at 13 px: CJK and Hangul characters are a full em, others about 0.6 em. */
const textWidth = (text: string): number =>
  [...text].reduce((w, ch) => w + (ch.codePointAt(0)! >= 0x1100 ? 13 : 7.4), 0);

function boxOf(spot: LabelSpot, width: number): Box {
  const x0 = spot.anchor === 'start' ? spot.x : spot.anchor === 'end' ? spot.x - width : spot.x - width / 2;
  return [x0, spot.y - 11, x0 + width, spot.y + 4];
}

const overlaps = (a: Box, b: Box): boolean => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];

/**
 * Label positions, largest hospital first: right, left, above or below its marker, whichever first clears
 * the markers and the labels placed so far (the least crowded one when none does).
 */
function placeLabels(sites: readonly Site[], [cx, cy]: [number, number], coordinatorLabel: string) {
  const taken: Box[] = [
    ...sites.map((s): Box => [s.x - s.r, s.y - s.r, s.x + s.r, s.y + s.r]),
    [cx - 10, cy - 10, cx + 10, cy + 10],
  ];
  const choose = (candidates: LabelSpot[], width: number): LabelSpot => {
    let best = candidates[0]!;
    let fewest = Infinity;
    for (const c of candidates) {
      const box = boxOf(c, width);
      const outside = box[0] < 2 || box[2] > WIDTH - 2 || box[1] < 2 || box[3] > HEIGHT - 2;
      const hits = taken.filter((t) => overlaps(t, box)).length + (outside ? 100 : 0);
      if (hits < fewest) {
        fewest = hits;
        best = c;
      }
      if (hits === 0) break;
    }
    taken.push(boxOf(best, width));
    return best;
  };
  const order = sites.map((s, i) => i).sort((a, b) => sites[b]!.r - sites[a]!.r || a - b);
  const spots: LabelSpot[] = new Array<LabelSpot>(sites.length);
  for (const i of order) {
    const s = sites[i]!;
    spots[i] = choose(
      [
        { x: s.x + s.r + 4, y: s.y + 4, anchor: 'start' },
        { x: s.x - s.r - 4, y: s.y + 4, anchor: 'end' },
        { x: s.x, y: s.y - s.r - 5, anchor: 'middle' },
        { x: s.x, y: s.y + s.r + 14, anchor: 'middle' },
        { x: s.x + s.r + 2, y: s.y - s.r - 2, anchor: 'start' },
        { x: s.x + s.r + 2, y: s.y + s.r + 12, anchor: 'start' },
        { x: s.x - s.r - 2, y: s.y - s.r - 2, anchor: 'end' },
        { x: s.x - s.r - 2, y: s.y + s.r + 12, anchor: 'end' },
      ],
      textWidth(s.h.label),
    );
  }
  const coordinator = choose(
    [
      { x: cx, y: cy + 26, anchor: 'middle' },
      { x: cx, y: cy - 16, anchor: 'middle' },
      { x: cx + 14, y: cy + 4, anchor: 'start' },
      { x: cx - 14, y: cy + 4, anchor: 'end' },
    ],
    textWidth(coordinatorLabel),
  );
  return { sites: spots, coordinator };
}
