import type { TopLevelSpec } from 'vega-lite';
import { exact, metric as formatMetric } from './format.ts';
import type { Cell, Table } from './html.ts';
import { PALETTE } from '../common/palette.ts';

/*
 * Chart builders: plain data in, a vega-lite spec and the table of the same numbers out. Nothing here touches
 * Node, so a page in a browser can build the same charts (and render them with vega's View.toSVG).
 */

/** A chart with the numbers it draws. */
export interface Chart {
  /** Stable name, unique in a report: the prefix of the SVG's ids and the figure's `data-chart`. */
  readonly key: string;
  readonly title: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
  readonly table: Table;
}

/** The font stack of every chart: the report's embedded fonts first. */
export const CHART_FONT = 'fedmed-sans, sans-serif';

const config = {
  font: CHART_FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 0, titleLimit: 0 },
  title: { fontSize: 14, subtitleFontSize: 11, anchor: 'start' },
} as const;

const valueCell = (v: number | undefined, lower?: number, upper?: number): Cell =>
  v === undefined
    ? ''
    : {
        text:
          lower !== undefined && upper !== undefined
            ? `${formatMetric(v)} [${formatMetric(lower)}, ${formatMetric(upper)}]`
            : formatMetric(v),
        numeric: true,
        attrs: {
          'data-value': exact(v),
          ...(lower === undefined ? {} : { 'data-lower': exact(lower) }),
          ...(upper === undefined ? {} : { 'data-upper': exact(upper) }),
        },
      };

function unitDomain(values: readonly number[]): [number, number] {
  const step = 0.05;
  const lo = Math.max(0, Math.floor(Math.min(...values) / step) * step);
  const hi = Math.min(1, Math.ceil(Math.max(...values) / step) * step);
  const r = (v: number) => Math.round(v * 100) / 100;
  return lo === hi ? [Math.max(0, r(lo - step)), Math.min(1, r(hi + step))] : [r(lo), r(hi)];
}

/** One point of a curve. */
export interface CurvePoint {
  readonly series: string;
  readonly round: number;
  readonly value: number;
  /** A confidence band around the value, when there is one. */
  readonly lower?: number;
  readonly upper?: number;
}

/** A horizontal reference line: a baseline's final value. */
export interface ReferenceLine {
  readonly series: string;
  readonly value: number;
}

/** What a value-against-round chart shows. */
export interface CurveChartInput {
  readonly key: string;
  readonly title: string;
  readonly caption: string;
  /** Label of the y axis. */
  readonly y: string;
  /** Values live in [0, 1]: the axis stops at the bounds. */
  readonly unitInterval: boolean;
  readonly points: readonly CurvePoint[];
  readonly references?: readonly ReferenceLine[];
  /** Label of the x axis (default "round"). */
  readonly x?: string;
}

/**
 * A value against the round, one line per series (with its band where points carry one) and each reference
 * line dashed; its table has a row per round and a column per series, the references in a last row.
 */
export function curveChart(input: CurveChartInput): Chart {
  const references = input.references ?? [];
  const series = [...new Set([...input.points.map((p) => p.series), ...references.map((r) => r.series)])];
  const colours = series.map((_, i) => PALETTE[i % PALETTE.length]!);
  const colourOf = (s: string) => colours[series.indexOf(s)]!;
  const values = [
    ...input.points.flatMap((p) => [p.value, p.lower ?? p.value, p.upper ?? p.value]),
    ...references.map((r) => r.value),
  ];
  const scale = input.unitInterval
    ? { domain: unitDomain(values), nice: false, clamp: true }
    : { zero: false };
  const color = {
    field: 'series',
    type: 'nominal',
    title: references.length > 0 ? 'series (dashed: baseline)' : 'series',
    scale: { domain: series, range: colours },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3 },
  } as const;
  const x = {
    field: 'round',
    type: 'quantitative',
    title: input.x ?? 'round',
    axis: { format: 'd', tickMinStep: 1 },
  } as const;
  const y = { type: 'quantitative', title: input.y, scale } as const;
  const bands = input.points
    .filter((p) => p.lower !== undefined && p.upper !== undefined)
    .map((p) => ({
      series: p.series,
      round: p.round,
      lower: p.lower,
      upper: p.upper,
      colour: colourOf(p.series),
    }));
  const layers: object[] = [];
  if (bands.length > 0)
    layers.push({
      data: { values: bands },
      mark: { type: 'area', opacity: 0.18 },
      encoding: {
        x,
        y: { ...y, field: 'lower' },
        y2: { field: 'upper' },
        fill: { field: 'colour', type: 'nominal', scale: null },
      },
    });
  layers.push({
    data: { values: input.points.map((p) => ({ series: p.series, round: p.round, value: p.value })) },
    mark: { type: 'line', point: true, strokeWidth: 2 },
    encoding: { x, y: { ...y, field: 'value' }, color },
  });
  if (references.length > 0)
    layers.push({
      data: { values: references.map((r) => ({ series: r.series, value: r.value })) },
      mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 4] },
      encoding: { y: { ...y, field: 'value' }, color },
    });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: input.title },
    width: 380,
    height: 220,
    background: 'white',
    config,
    layer: layers,
  } as TopLevelSpec;

  const lineSeries = series.filter((s) => input.points.some((p) => p.series === s));
  const rounds = [...new Set(input.points.map((p) => p.round))].sort((a, b) => a - b);
  const at = new Map(input.points.map((p) => [`${p.series}\u0000${p.round}`, p]));
  const rows: Cell[][] = rounds.map((r) => [
    String(r),
    ...lineSeries.map((s) => {
      const p = at.get(`${s}\u0000${r}`);
      return valueCell(p?.value, p?.lower, p?.upper);
    }),
  ]);
  for (const ref of references)
    rows.push([`${ref.series} (baseline, final)`, ...lineSeries.map(() => ''), valueCell(ref.value)]);
  const columns = [input.x ?? 'round', ...lineSeries, ...(references.length > 0 ? ['baseline'] : [])];
  if (references.length > 0) for (const row of rows.slice(0, rounds.length)) row.push('');
  return { key: input.key, title: input.title, caption: input.caption, spec, table: { columns, rows } };
}

/** One estimate with its interval, in a category and a group. */
export interface IntervalRow {
  readonly category: string;
  readonly group: string;
  readonly mean: number;
  readonly lower?: number;
  readonly upper?: number;
}

/** What an estimates-with-intervals chart shows. */
export interface IntervalChartInput {
  readonly key: string;
  readonly title: string;
  readonly caption: string;
  /** Label of the value axis. */
  readonly x: string;
  readonly category: string;
  readonly group: string;
  readonly rows: readonly IntervalRow[];
  /** Draw a rule at zero (for differences). */
  readonly zero?: boolean;
  readonly unitInterval?: boolean;
}

/** Point estimates with their 95% intervals: categories down, groups by colour; the table lists each. */
export function intervalChart(input: IntervalChartInput): Chart {
  const groups = [...new Set(input.rows.map((r) => r.group))];
  const categories = [...new Set(input.rows.map((r) => r.category))];
  const colours = groups.map((_, i) => PALETTE[i % PALETTE.length]!);
  const values = input.rows.flatMap((r) => [r.mean, r.lower ?? r.mean, r.upper ?? r.mean]);
  const scale =
    input.unitInterval === true
      ? { domain: unitDomain(values), nice: false, clamp: true }
      : { zero: input.zero === true };
  const color = {
    field: 'group',
    type: 'nominal',
    title: input.group,
    scale: { domain: groups, range: colours },
  } as const;
  const y = { field: 'category', type: 'nominal', title: input.category, sort: categories } as const;
  const yOffset = { field: 'group', type: 'nominal', sort: groups } as const;
  const data = input.rows.map((r) => ({
    category: r.category,
    group: r.group,
    mean: r.mean,
    lower: r.lower ?? r.mean,
    upper: r.upper ?? r.mean,
  }));
  const layers: object[] = [
    {
      mark: { type: 'rule', strokeWidth: 2 },
      encoding: {
        y,
        yOffset,
        x: { field: 'lower', type: 'quantitative', title: input.x, scale },
        x2: { field: 'upper' },
        color,
      },
    },
    {
      mark: { type: 'point', filled: true, size: 50 },
      encoding: { y, yOffset, x: { field: 'mean', type: 'quantitative', title: input.x, scale }, color },
    },
  ];
  if (input.zero === true)
    layers.push({
      data: { values: [{ zero: 0 }] },
      mark: { type: 'rule', strokeDash: [4, 4], color: '#666' },
      encoding: { x: { field: 'zero', type: 'quantitative' } },
    });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: input.title },
    width: 380,
    height: { step: 9 },
    background: 'white',
    config,
    data: { values: data },
    layer: layers,
  } as TopLevelSpec;
  const rows = input.rows.map((r) => [r.category, r.group, valueCell(r.mean, r.lower, r.upper)]);
  return {
    key: input.key,
    title: input.title,
    caption: input.caption,
    spec,
    table: { columns: [input.category, input.group, `${input.x} [95% CI]`], rows },
  };
}

/** Something that happened to a hospital in a round. */
export interface TimelineEvent {
  readonly round: number;
  readonly lane: string;
  readonly kind: string;
  readonly count: number;
  readonly detail: string;
}

/** Events on a timeline: rounds across, hospitals down, one mark per hospital, round and kind. */
export function timelineChart(
  key: string,
  title: string,
  caption: string,
  events: readonly TimelineEvent[],
): Chart {
  const lanes = [...new Set(events.map((e) => e.lane))].sort();
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title },
    width: 380,
    height: { step: 22 },
    background: 'white',
    config,
    data: { values: events.map((e) => ({ round: e.round, lane: e.lane, kind: e.kind, count: e.count })) },
    mark: { type: 'point', filled: true, opacity: 0.85 },
    encoding: {
      x: {
        field: 'round',
        type: 'quantitative',
        title: 'round',
        axis: { format: 'd', tickMinStep: 1 },
        scale: { zero: false },
      },
      y: { field: 'lane', type: 'nominal', title: 'hospital', sort: lanes },
      color: { field: 'kind', type: 'nominal', title: 'what happened' },
      shape: { field: 'kind', type: 'nominal' },
      size: { field: 'count', type: 'quantitative', title: 'count', scale: { range: [60, 240] } },
    },
  } as TopLevelSpec;
  return {
    key,
    title,
    caption,
    spec,
    table: {
      columns: ['round', 'hospital', 'what happened', 'count', 'detail'],
      rows: events.map((e) => [
        String(e.round),
        e.lane,
        e.kind,
        { text: String(e.count), numeric: true, attrs: { 'data-value': String(e.count) } },
        e.detail,
      ]),
    },
  };
}
