import { byText } from './format.ts';
import {
  curveChart,
  intervalChart,
  timelineChart,
  type Chart,
  type CurvePoint,
  type ReferenceLine,
  type TimelineEvent,
} from './charts.ts';
import { countryName } from './atlas.ts';
import { hospitalEvents, numericLeaves, scalarText } from './generic.ts';
import { isSubgroup, metricLabel, PRIMARY_METRICS, unitMetric } from './metric-names.ts';
import type { CrossingFile, RoundFile, ScenarioFile, SummaryFile } from './run-files.ts';
import { hospitalLabel } from './scenario-section.ts';

/** Round fields this module reads itself; any other field of a round gets its own section. */
export const KNOWN_ROUND_FIELDS = new Set(['round', 'fit', 'evaluate', 'bytes']);

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The aggregated metrics the rounds report (no subgroups): the primary ones first, then the rest by name. */
export function reportedMetrics(rounds: readonly RoundFile[]): { primary: string[]; more: string[] } {
  const names = new Set(rounds.flatMap((r) => Object.keys(r.evaluate.metrics)).filter((m) => !isSubgroup(m)));
  const primary = PRIMARY_METRICS.filter((m) => names.has(m));
  const more = [...names].filter((m) => !(PRIMARY_METRICS as readonly string[]).includes(m)).sort(byText);
  return { primary, more };
}

function baselineLines(
  summary: SummaryFile | undefined,
  m: string,
  scope: (b: NonNullable<SummaryFile['pooled']>) => Record<string, number> | undefined,
): ReferenceLine[] {
  const out: ReferenceLine[] = [];
  for (const [name, b] of [
    ['local-only', summary?.localOnly],
    ['pooled †', summary?.pooled],
  ] as const) {
    const v = b === undefined ? undefined : scope(b)?.[m];
    if (finite(v)) out.push({ series: name, value: v });
  }
  return out;
}

/** A metric against the round for the federation and each country, the baselines' final values dashed. */
export function federationCurve(
  prefix: string,
  m: string,
  rounds: readonly RoundFile[],
  summary: SummaryFile | undefined,
): Chart {
  const countries = [...new Set(rounds.flatMap((r) => Object.keys(r.evaluate.countries)))].sort(byText);
  const points: CurvePoint[] = [];
  for (const r of rounds) {
    const v = r.evaluate.metrics[m];
    if (finite(v)) points.push({ series: 'federation', round: r.round, value: v });
  }
  for (const c of countries)
    for (const r of rounds) {
      const v = r.evaluate.countries[c]?.metrics[m];
      if (finite(v)) points.push({ series: countryName(c), round: r.round, value: v });
    }
  return curveChart({
    key: `${prefix}-metric-${m}`,
    title: `${metricLabel(m)} by round`,
    caption: `${metricLabel(m)} of the global model after each round on the hospitals’ own held-out patients: the federation and each country (example-weighted means of the hospitals’ values), with the baselines’ final values as dashed lines.`,
    y: metricLabel(m),
    unitInterval: unitMetric(m),
    points,
    references: baselineLines(summary, m, (b) => b.metrics),
  });
}

/** A metric against the round, one line per hospital. */
export function hospitalCurve(
  prefix: string,
  m: string,
  rounds: readonly RoundFile[],
  scenario: ScenarioFile,
): Chart | undefined {
  const points: CurvePoint[] = [];
  for (const h of scenario.hospitals)
    for (const r of rounds) {
      const v = r.evaluate.hospitals[h.id]?.metrics[m];
      if (finite(v)) points.push({ series: hospitalLabel(h), round: r.round, value: v });
    }
  if (points.length === 0) return undefined;
  return curveChart({
    key: `${prefix}-hospitals-${m}`,
    title: `${metricLabel(m)} by round, per hospital`,
    caption: `${metricLabel(m)} of the global model on each hospital’s own held-out patients.`,
    y: metricLabel(m),
    unitInterval: unitMetric(m),
    points,
  });
}

/** The hospitals' mean training loss (and any other training metric) against the round. */
export function trainingCurve(prefix: string, rounds: readonly RoundFile[]): Chart | undefined {
  const names = [...new Set(rounds.flatMap((r) => Object.keys(r.fit?.metrics ?? {})))].sort(byText);
  const points: CurvePoint[] = [];
  for (const n of names.filter((x) => x.endsWith('loss')))
    for (const r of rounds) {
      const v = r.fit?.metrics[n];
      if (finite(v)) points.push({ series: metricLabel(n), round: r.round, value: v });
    }
  if (points.length === 0) return undefined;
  return curveChart({
    key: `${prefix}-training`,
    title: 'Training loss by round',
    caption: 'Example-weighted mean over the hospitals that trained of their last local epoch’s loss.',
    y: 'loss',
    unitInterval: false,
    points,
  });
}

/** Final values per hospital: the federation's global model beside each baseline. */
export function finalByHospital(
  prefix: string,
  m: string,
  scenario: ScenarioFile,
  summary: SummaryFile | undefined,
  last: RoundFile | undefined,
): Chart | undefined {
  const rows = [];
  for (const h of scenario.hospitals) {
    for (const [group, values] of [
      ['federation', summary?.federated?.hospitals[h.id]?.metrics ?? last?.evaluate.hospitals[h.id]?.metrics],
      ['local-only', summary?.localOnly?.hospitals[h.id]?.metrics],
      ['pooled †', summary?.pooled?.hospitals[h.id]?.metrics],
    ] as const) {
      const v = values?.[m];
      if (finite(v)) rows.push({ category: hospitalLabel(h), group, mean: v });
    }
  }
  if (rows.length === 0) return undefined;
  return intervalChart({
    key: `${prefix}-final-${m}`,
    title: `Final ${metricLabel(m)} per hospital`,
    caption: `${metricLabel(m)} on each hospital’s held-out patients: the federation’s global model, the hospital’s own model (local-only) and the pooled oracle (†, a sovereignty violation).`,
    x: metricLabel(m),
    category: 'hospital',
    group: 'model',
    rows,
    unitInterval: unitMetric(m),
  });
}

/** Rejected replies, failures and recorded faults as events by round and hospital. */
export function eventsChart(
  prefix: string,
  rounds: readonly RoundFile[],
  crossings: readonly CrossingFile[],
  scenario: ScenarioFile,
): Chart | undefined {
  const label = new Map(scenario.hospitals.map((h) => [h.id, hospitalLabel(h)]));
  const events = new Map<string, TimelineEvent>();
  const add = (round: number, hospital: string, kind: string, detail: string) => {
    const key = [round, hospital, kind, detail].join('\u0000');
    const e = events.get(key);
    events.set(key, {
      round,
      lane: label.get(hospital) ?? hospital,
      kind,
      count: (e?.count ?? 0) + 1,
      detail,
    });
  };
  // A reply the boundary rejected is also the round's failure for that hospital: one mark, not two.
  const rejected = new Set<string>();
  for (const c of crossings) {
    if (c.admitted) continue;
    add(c.round, c.hospital, `${c.sent === false ? 'not sent' : 'rejected'} ${c.kind}`, c.reason ?? '');
    rejected.add(`${c.round}\u0000${c.hospital}\u0000${c.kind.split('-')[0]}`);
  }
  for (const r of rounds) {
    const failed = (
      stage: string,
      what: string,
      failures: readonly { hospital?: string; reason?: string }[],
    ) => {
      for (const f of failures)
        if (!rejected.has(`${r.round}\u0000${f.hospital ?? '?'}\u0000${stage}`))
          add(r.round, f.hospital ?? '?', what, f.reason ?? '');
    };
    failed('fit', 'fit failed', r.fit?.failures ?? []);
    failed('evaluate', 'evaluation failed', r.evaluate.failures);
    for (const [k, v] of Object.entries(r).sort(([a], [b]) => byText(a, b))) {
      if (KNOWN_ROUND_FIELDS.has(k)) continue;
      for (const e of hospitalEvents(v)) {
        const what = e.kind ?? e.type ?? e.behaviour ?? k;
        const detail = Object.keys(e)
          .filter((x) => x !== 'hospital' && typeof e[x] !== 'object')
          .sort(byText)
          .map((x) => `${x} ${scalarText(e[x])}`)
          .join(', ');
        add(r.round, String(e.hospital), `${k}: ${scalarText(what)}`, detail);
      }
    }
  }
  if (events.size === 0) return undefined;
  const list = [...events.values()].sort(
    (a, b) => a.round - b.round || byText(a.lane, b.lane) || byText(a.kind, b.kind),
  );
  return timelineChart(
    `${prefix}-events`,
    'Rejected replies, failures and faults',
    'Each mark is something that happened to a hospital in a round: a reply the boundary rejected (with its reason, which names fields, never values), a failure, or a fault the run recorded.',
    list,
  );
}

/** Titles of round fields later versions add; any other field goes under its own name. */
const EXTRA_TITLES: Readonly<Record<string, string>> = {
  privacy: 'Privacy budget over rounds',
  clock: 'Simulated time',
  attack: 'Attack metrics',
  attacks: 'Attack metrics',
  faults: 'Faults',
  failures: 'Failures',
};

/** Of a field's numbers, the ones its chart shows when any is present: of `privacy`, the ε spent so far. */
const EXTRA_FOCUS: Readonly<Record<string, { keep: (path: string) => boolean; caption: string }>> = {
  privacy: {
    keep: (path) => path.endsWith('.epsilon'),
    caption:
      'The ε spent after each round (differential privacy, from the RDP accountant), as recorded under “privacy” in metrics.jsonl; the round’s other privacy numbers are in that file.',
  },
};

/** Per extra round field (privacy, clock, attack metrics, …), a chart of its numbers against the round. */
export function extraRoundCharts(
  prefix: string,
  rounds: readonly RoundFile[],
): { field: string; title: string; chart: Chart }[] {
  const fields = [...new Set(rounds.flatMap((r) => Object.keys(r)))]
    .filter((k) => !KNOWN_ROUND_FIELDS.has(k))
    .sort(byText);
  const out: { field: string; title: string; chart: Chart }[] = [];
  for (const field of fields) {
    let points: CurvePoint[] = [];
    for (const r of rounds) {
      const leaves = numericLeaves((r as Record<string, unknown>)[field], field);
      for (const [path, v] of leaves) points.push({ series: path, round: r.round, value: v });
    }
    const focus = EXTRA_FOCUS[field];
    const focused = focus !== undefined && points.some((p) => focus.keep(p.series));
    if (focused) points = points.filter((p) => focus.keep(p.series));
    const series = new Set(points.map((p) => p.series));
    if (points.length === 0 || series.size > 12) continue;
    const title = EXTRA_TITLES[field] ?? field;
    out.push({
      field,
      title,
      chart: curveChart({
        key: `${prefix}-extra-${field.replace(/[^A-Za-z0-9_-]/g, '_')}`,
        title,
        caption: focused
          ? focus.caption
          : `The numbers each round recorded under “${field}” in metrics.jsonl, by their path.`,
        y: field,
        unitInterval: false,
        points,
      }),
    });
  }
  return out;
}
