/**
 * Where a hospital or a coordinator is drawn. Scenarios name countries, not coordinates, so a site is placed at
 * its own `location` when it has one, else at a city its id or name mentions (`kr-seoul-1`), else near its
 * country's centre; the map says which. Pure data, usable in a browser.
 */

/** Latitude and longitude in degrees. */
export interface LatLon {
  readonly lat: number;
  readonly lon: number;
}

/** Cities a hospital id or name may mention (lower-case, ASCII). */
export const CITIES: Readonly<Record<string, LatLon>> = {
  seoul: { lat: 37.57, lon: 126.98 },
  incheon: { lat: 37.46, lon: 126.71 },
  suwon: { lat: 37.26, lon: 127.03 },
  daejeon: { lat: 36.35, lon: 127.38 },
  daegu: { lat: 35.87, lon: 128.6 },
  gwangju: { lat: 35.16, lon: 126.85 },
  ulsan: { lat: 35.54, lon: 129.31 },
  busan: { lat: 35.18, lon: 129.08 },
  jeonju: { lat: 35.82, lon: 127.15 },
  gangneung: { lat: 37.75, lon: 128.88 },
  jeju: { lat: 33.5, lon: 126.53 },
  beijing: { lat: 39.9, lon: 116.41 },
  tianjin: { lat: 39.13, lon: 117.2 },
  shanghai: { lat: 31.23, lon: 121.47 },
  nanjing: { lat: 32.06, lon: 118.8 },
  hangzhou: { lat: 30.27, lon: 120.16 },
  guangzhou: { lat: 23.13, lon: 113.26 },
  shenzhen: { lat: 22.54, lon: 114.06 },
  hongkong: { lat: 22.32, lon: 114.17 },
  chengdu: { lat: 30.57, lon: 104.07 },
  chongqing: { lat: 29.56, lon: 106.55 },
  wuhan: { lat: 30.59, lon: 114.31 },
  xian: { lat: 34.34, lon: 108.94 },
  shenyang: { lat: 41.8, lon: 123.43 },
  harbin: { lat: 45.8, lon: 126.53 },
  changchun: { lat: 43.82, lon: 125.32 },
  kunming: { lat: 25.04, lon: 102.71 },
  lhasa: { lat: 29.65, lon: 91.17 },
  urumqi: { lat: 43.83, lon: 87.62 },
  lanzhou: { lat: 36.06, lon: 103.83 },
  qingdao: { lat: 36.07, lon: 120.38 },
  xiamen: { lat: 24.48, lon: 118.09 },
  tokyo: { lat: 35.68, lon: 139.69 },
  osaka: { lat: 34.69, lon: 135.5 },
  taipei: { lat: 25.03, lon: 121.57 },
  singapore: { lat: 1.35, lon: 103.82 },
  london: { lat: 51.51, lon: -0.13 },
  paris: { lat: 48.86, lon: 2.35 },
  berlin: { lat: 52.52, lon: 13.4 },
  boston: { lat: 42.36, lon: -71.06 },
  geneva: { lat: 46.2, lon: 6.14 },
};

/** Where a country's coordinator is drawn when the scenario places it in that country. */
export const CAPITALS: Readonly<Record<string, string>> = {
  KR: 'seoul',
  CN: 'beijing',
  JP: 'tokyo',
  TW: 'taipei',
  SG: 'singapore',
  GB: 'london',
  FR: 'paris',
  DE: 'berlin',
  CH: 'geneva',
};

/** How a site's position was found. */
export type Placement = 'location' | 'city' | 'country';

/** The city a hospital's id or name mentions, if any: the first word of either that names a known city. */
export function cityOf(id: string, name: string | undefined): string | undefined {
  const words = [...id.split('-'), ...(name ?? '').toLowerCase().split(/[^a-z]+/)];
  return words.find((w) => Object.hasOwn(CITIES, w));
}
