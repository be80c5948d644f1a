import type { Topology } from 'topojson-specification';
import { count, noBytes } from '../server/byte-totals.ts';
import { countryName, numericCode } from './atlas.ts';
import { atlasBounds } from './atlas-bounds.ts';
import { curveChart, type Chart } from './charts.ts';
import { byText, bytes as formatBytes, exact, integer } from './format.ts';
import { html, raw, table, type Cell, type Html } from './html.ts';
import { renderMap, type MapFlow, type MapInput } from './map.ts';
import type { CrossingFile, ManifestFile, RoundFile, ScenarioFile } from './run-files.ts';
import { hospitalLabel } from './scenario-section.ts';

/** Crossing fields the flows table groups by when a run records them (added by later versions). */
const GROUPED_EXTRAS = ['dataClass', 'legalBasis'] as const;
type Extra = (typeof GROUPED_EXTRAS)[number];

/** A crossing's data classes or the legal bases it relied on, as one text (from the chained record's lists). */
function extraOf(c: CrossingFile, f: Extra): string | undefined {
  if (c[f] !== undefined) return String(c[f]);
  if (f === 'dataClass') return c.classes?.join(', ');
  return c.relied === undefined
    ? undefined
    : [...new Set(c.relied.map((r) => r.basis))].sort(byText).join(', ');
}
const KNOWN = new Set([
  'round',
  'hospital',
  'country',
  'direction',
  'kind',
  'purpose',
  'bytes',
  'sha256',
  'crossesBorder',
  'admitted',
  'reason',
  'sovereigntyViolation',
  'sent',
  'classes',
  'relied',
  ...GROUPED_EXTRAS,
]);
const TOTALS = [
  ['toHospitals', 'bytes to hospitals'],
  ['toCoordinator', 'bytes to the coordinator'],
  ['crossBorder', 'bytes across a national border'],
  ['messages', 'messages'],
  ['rejected', 'replies rejected at the boundary'],
  ['blocked', 'requests a jurisdiction policy kept from being sent'],
] as const;

const isRecords = (c: CrossingFile): boolean => c.sovereigntyViolation === true || /records$/.test(c.kind);

function sums(crossings: readonly CrossingFile[]): Record<(typeof TOTALS)[number][0], number> {
  const t = noBytes();
  for (const c of crossings) count(t, c);
  return t;
}

/** Totals from the manifest beside the sums of crossings.jsonl, per purpose (federation and each baseline). */
/** Labels of the manifest's totals; a total a later version adds is shown under its own name. */
const TOTAL_LABELS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(TOTALS),
  errors: 'error reports (requests a hospital could not serve)',
};

/**
 * Totals from the manifest beside the sums of crossings.jsonl, per purpose (federation and each baseline); a
 * total this report cannot recompute from the crossings is shown from the manifest alone.
 */
function totalsTable(manifest: ManifestFile, crossings: readonly CrossingFile[]): Html {
  const purposes: [string, string, Record<string, unknown> | undefined][] = [
    ['federation', 'federation', manifest.bytes],
    ['local-only', 'local-only baseline', manifest.baselineBytes.localOnly],
    ['pooled', 'pooled baseline †', manifest.baselineBytes.pooled],
  ];
  const shown = purposes.filter(([p, , m]) => m !== undefined || crossings.some((c) => c.purpose === p));
  const recomputed = new Set<string>(TOTALS.map(([k]) => k));
  const keys = [
    ...TOTALS.map(([k]) => k as string),
    ...[...new Set(shown.flatMap(([, , m]) => Object.keys(m ?? {})))]
      .filter((k) => !recomputed.has(k) && shown.some(([, , m]) => typeof m?.[k] === 'number'))
      .sort(byText),
  ];
  const ledgers = new Map(shown.map(([p]) => [p, sums(crossings.filter((c) => c.purpose === p))]));
  const rows: Cell[][] = keys.map((key) => [
    TOTAL_LABELS[key] ?? key,
    ...shown.flatMap(([purpose, , m]): Cell[] => {
      const recorded = m?.[key];
      const ledger = recomputed.has(key)
        ? ledgers.get(purpose)![key as (typeof TOTALS)[number][0]]
        : undefined;
      return [
        typeof recorded !== 'number'
          ? '—'
          : {
              text: integer(recorded),
              numeric: true,
              attrs: { 'data-purpose': purpose, 'data-total': key, 'data-value': exact(recorded) },
            },
        ledger === undefined
          ? '—'
          : { text: integer(ledger), numeric: true, attrs: { 'data-value': String(ledger) } },
      ];
    }),
  ]);
  const agree = shown.every(([purpose, , m]) =>
    TOTALS.every(([k]) => typeof m?.[k] !== 'number' || m[k] === ledgers.get(purpose)![k]),
  );
  return html`${table({
      columns: [
        '',
        ...shown.flatMap(([, label]) => [`${label}: manifest.json`, `${label}: sum of crossings.jsonl`]),
      ],
      rows,
    })}
    <p class="check ${agree ? 'ok' : 'bad'}">
      ${agree ? 'The manifest’s totals equal the sums of the crossings recorded one by one.' : 'The manifest’s totals differ from the sums of crossings.jsonl: the files do not belong together or one was changed.'}
    </p>`;
}

function flowsTable(scenario: ScenarioFile, crossings: readonly CrossingFile[]): Html {
  const extras = GROUPED_EXTRAS.filter((f) => crossings.some((c) => extraOf(c, f) !== undefined));
  const groups = new Map<string, { c: CrossingFile; messages: number; bytes: number; rejected: number }>();
  for (const c of crossings) {
    const key = [c.hospital, c.direction, c.kind, ...extras.map((f) => extraOf(c, f) ?? '')].join('\u0000');
    const g = groups.get(key) ?? { c, messages: 0, bytes: 0, rejected: 0 };
    if (c.sent !== false) {
      g.messages++;
      g.bytes += c.bytes;
    }
    if (!c.admitted) g.rejected++;
    groups.set(key, g);
  }
  const order = new Map(scenario.hospitals.map((h, i) => [h.id, i]));
  const label = new Map(scenario.hospitals.map((h) => [h.id, hospitalLabel(h)]));
  const rows = [...groups.values()]
    .sort(
      (a, b) =>
        (order.get(a.c.hospital) ?? 1e9) - (order.get(b.c.hospital) ?? 1e9) ||
        byText(a.c.direction, b.c.direction) ||
        byText(a.c.kind, b.c.kind),
    )
    .map((g): Cell[] => [
      { text: label.get(g.c.hospital) ?? g.c.hospital, attrs: { 'data-hospital': g.c.hospital } },
      g.c.country,
      g.c.direction,
      g.c.kind,
      ...extras.map((f) => extraOf(g.c, f) ?? ''),
      { text: integer(g.messages), numeric: true, attrs: { 'data-value': String(g.messages) } },
      { text: integer(g.bytes), numeric: true, attrs: { 'data-value': String(g.bytes) } },
      g.c.crossesBorder ? 'yes' : 'no',
      g.rejected === 0 ? '' : integer(g.rejected),
    ]);
  return table({
    columns: [
      'hospital',
      'country',
      'direction',
      'kind',
      ...extras.map((f) => (f === 'dataClass' ? 'data class' : 'legal basis')),
      'messages',
      'bytes',
      'across a border',
      'rejected or not sent',
    ],
    rows,
  });
}

function mapFlows(crossings: readonly CrossingFile[]): MapFlow[] {
  const flows = new Map<string, MapFlow>();
  for (const c of crossings) {
    if (c.sent === false) continue;
    if (c.direction !== 'to-hospital' && c.direction !== 'to-coordinator') continue;
    const key = `${c.hospital}\u0000${c.direction}`;
    const f = flows.get(key);
    flows.set(key, {
      hospital: c.hospital,
      direction: c.direction,
      messages: (f?.messages ?? 0) + 1,
      bytes: (f?.bytes ?? 0) + c.bytes,
      crossesBorder: (f?.crossesBorder ?? false) || c.crossesBorder,
    });
  }
  return [...flows.values()];
}

/** Bytes per round in each direction and across borders, from each round's own totals. */
export function bytesChart(key: string, rounds: readonly RoundFile[]): Chart | undefined {
  const points = rounds.flatMap((r) =>
    r.bytes === undefined
      ? []
      : [
          { series: 'to hospitals', round: r.round, value: r.bytes.toHospitals },
          { series: 'to the coordinator', round: r.round, value: r.bytes.toCoordinator },
          { series: 'across borders', round: r.round, value: r.bytes.crossBorder },
        ],
  );
  if (points.length === 0) return undefined;
  return curveChart({
    key,
    title: 'Bytes per round',
    caption:
      'Bytes that crossed a hospital’s boundary in each round (setup, before round 1, is in the totals only).',
    y: 'bytes',
    unitInterval: false,
    points,
  });
}

/** What the map of a run shows: its hospitals, its coordinator and the federation's flows. */
export function runMapInput(
  scenario: ScenarioFile,
  federation: readonly CrossingFile[],
  idPrefix: string,
): MapInput {
  return {
    hospitals: scenario.hospitals.map((h) => ({
      id: h.id,
      label: hospitalLabel(h),
      country: h.country,
      patients: h.patients,
      ...(h.location && { location: { lat: h.location.lat, lon: h.location.lon } }),
    })),
    coordinatorSite: scenario.coordinator.site,
    coordinatorLabel:
      scenario.coordinator.name ??
      (scenario.coordinator.site === 'neutral'
        ? 'neutral coordinator'
        : `coordinator (${countryName(scenario.coordinator.site)})`),
    flows: mapFlows(federation),
    recordsExported: federation.filter(isRecords).length,
    idPrefix: `${idPrefix}-map`,
  };
}

/** The map, the totals and the flows of a run: what crossed which border, and that no record did. */
export function trafficSection(
  scenario: ScenarioFile,
  manifest: ManifestFile,
  crossings: readonly CrossingFile[],
  atlas: Topology,
  idPrefix: string,
): Html {
  const federation = crossings.filter((c) => c.purpose === 'federation');
  const exported = federation.filter(isRecords);
  const pooled = crossings.filter((c) => c.purpose !== 'federation' && isRecords(c));
  const svg = renderMap(runMapInput(scenario, federation, idPrefix), atlas, numericCode, atlasBounds(atlas));
  const unknown = [...new Set(crossings.flatMap((c) => Object.keys(c)))]
    .filter((k) => !KNOWN.has(k))
    .sort(byText);
  const pooledHospitals = new Set(pooled.map((c) => c.hospital));
  return html`<figure class="map-figure">
      ${raw(svg)}
      <figcaption>
        Hospitals are placed at the city their id or name mentions, else at their country’s centre; the
        coordinator at its country’s capital, or apart when neutral. Curves sum the federation’s messages per
        hospital and direction; hover for counts.
      </figcaption>
    </figure>
    <p
      class="records ${exported.length === 0 ? 'ok' : 'bad'}"
      data-records-exported="${String(exported.length)}"
    >
      <strong>Raw records exported by the federation: ${integer(exported.length)}.</strong>
      ${exported.length === 0 ? 'Only model parameters, example counts and named metrics crossed a hospital’s boundary.' : 'Some crossings of the federation carried patient records.'}
    </p>
    ${pooled.length === 0 ? '' : html`<p class="violation">† The pooled baseline moved the records of ${integer(pooledHospitals.size)} hospitals (${formatBytes(pooled.reduce((s, c) => s + c.bytes, 0))}, ${integer(pooled.filter((c) => c.crossesBorder).length)} of ${integer(pooled.length)} transfers across a border) to one place: what real data law forbids. It runs only to show the ceiling, and is not part of the federation.</p>`}
    <h3>Totals</h3>
    ${totalsTable(manifest, crossings)}
    <h3>Every flow of the federation</h3>
    ${flowsTable(scenario, federation)}
    ${unknown.length === 0 ? '' : html`<p class="muted">crossings.jsonl also records ${unknown.join(', ')}${unknown.includes('prev') ? ' (prev links each crossing to the one before it, a hash chain)' : ''}.</p>`}`;
}
