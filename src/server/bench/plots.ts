import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { PALETTE } from '../../common/palette.ts';
import { finite, groupArms } from './arms.ts';
import { meanCi } from './stats.ts';
import type { BenchRun } from './types.ts';
import { GLOBAL_METRICS } from '../global-roc.ts';

/** The font of every bench chart. */
export const FONT = 'DejaVu Sans';
const LABELS: Readonly<Record<string, string>> = {
  accuracy: 'Accuracy',
  auroc: 'AUROC',
  auprc: 'AUPRC',
  global_auroc: 'Global AUROC',
  global_auprc: 'Global AUPRC',
  loss: 'Loss',
};
/** Metrics that live in [0, 1]: their axis stops at the bounds and bands are clipped there. */
const UNIT_INTERVAL = new Set<string>([
  'accuracy',
  'auroc',
  'auprc',
  'balanced_accuracy',
  'auroc_macro',
  'global_accuracy',
  'global_auroc_macro',
  ...GLOBAL_METRICS,
]);
const STEP = 0.05;
const round2 = (v: number): number => Math.round(v * 100) / 100;

interface CurveRow {
  readonly arm: string;
  readonly round: number;
  readonly mean: number;
  readonly n: number;
}
interface BandRow {
  readonly arm: string;
  readonly round: number;
  readonly lower: number;
  readonly upper: number;
}
interface RuleRow {
  readonly arm: string;
  readonly mean: number;
  readonly n: number;
}

/**
 * The vega-lite spec of `metric` against round: per strategy the mean over seeds (line) and its Student t 95% CI
 * (band, where at least two seeds report the round), each baseline as a dashed rule at its mean final value.
 * Undefined when no run reports the metric.
 */
export function benchPlotSpec(runs: readonly BenchRun[], metric: string): TopLevelSpec | undefined {
  const arms = groupArms(runs);
  const curves: CurveRow[] = [];
  const bands: BandRow[] = [];
  const rules: RuleRow[] = [];
  for (const { arm, kind, runs: armRuns } of arms) {
    if (kind === 'baseline') {
      const finals = armRuns
        .map((r) => finite(r.final.metrics, metric))
        .filter((v): v is number => v !== undefined);
      if (finals.length > 0) rules.push({ arm, mean: meanCi(finals).mean, n: finals.length });
      continue;
    }
    const byRound = new Map<number, number[]>();
    for (const run of armRuns) {
      for (const point of run.curve) {
        const v = finite(point.metrics, metric);
        if (v !== undefined) byRound.set(point.round, [...(byRound.get(point.round) ?? []), v]);
      }
    }
    for (const [round, values] of [...byRound].sort(([a], [b]) => a - b)) {
      const ci = meanCi(values);
      curves.push({ arm, round, mean: ci.mean, n: ci.n });
      if (ci.lower !== undefined && ci.upper !== undefined)
        bands.push({ arm, round, lower: ci.lower, upper: ci.upper });
    }
  }
  if (curves.length === 0 && rules.length === 0) return undefined;

  const label = LABELS[metric] ?? metric;
  const domain = [...new Set([...curves.map((c) => c.arm), ...rules.map((r) => r.arm)])];
  const colours = domain.map((_, i) => PALETTE[i % PALETTE.length] ?? 'black');
  const color = {
    field: 'arm',
    type: 'nominal',
    title: 'arm (dashed: baseline)',
    scale: { domain, range: colours },
    legend: { symbolType: 'stroke', symbolStrokeWidth: 3, labelLimit: 0, titleLimit: 0 },
  } as const;
  const x = {
    field: 'round',
    type: 'quantitative',
    title: 'round',
    axis: { format: 'd', tickMinStep: 1 },
  } as const;
  const values = [
    ...curves.map((c) => c.mean),
    ...bands.flatMap((b) => [b.lower, b.upper]),
    ...rules.map((r) => r.mean),
  ];
  const scale = UNIT_INTERVAL.has(metric)
    ? {
        domain: [
          Math.max(0, round2(Math.floor(Math.min(...values) / STEP) * STEP)),
          Math.min(1, round2(Math.ceil(Math.max(...values) / STEP) * STEP)),
        ],
        nice: false,
        clamp: true,
      }
    : { zero: false };
  const y = { type: 'quantitative', title: `${label} (mean over seeds)`, scale } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `${label} vs round`,
      subtitle: 'line: mean over seeds; band: Student t 95% CI; dashed: baselines at their mean final value',
    },
    width: 640,
    height: 360,
    background: 'white',
    config: { font: FONT, view: { stroke: null } },
    layer: [
      {
        data: { values: bands.map((b) => ({ ...b, colour: colours[domain.indexOf(b.arm)] })) },
        mark: { type: 'area', opacity: 0.18 },
        encoding: {
          x,
          y: { ...y, field: 'lower' },
          y2: { field: 'upper' },
          fill: { field: 'colour', type: 'nominal', scale: null },
        },
      },
      {
        data: { values: curves },
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x, y: { ...y, field: 'mean' }, color },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 4] },
        encoding: { y: { ...y, field: 'mean' }, color },
      },
    ],
  };
}

/** Files written by `writeBenchPlots`. */
export interface BenchPlotFiles {
  readonly svg: string;
  readonly png: string;
}

/**
 * Renders `benchPlotSpec(runs, metric)` to `<metric>-vs-round.svg` and `.png` in `dir`, the same bytes for the
 * same input; resolves to undefined (writing nothing) when no run reports the metric.
 */
export async function writeBenchPlots(
  dir: string,
  runs: readonly BenchRun[],
  metric: string,
): Promise<BenchPlotFiles | undefined> {
  const spec = benchPlotSpec(runs, metric);
  if (spec === undefined) return undefined;
  const base = join(dir, `${metric.replace(/[^A-Za-z0-9._-]/g, '_')}-vs-round`);
  await writeSvgAndPng(spec, base);
  return { svg: `${base}.svg`, png: `${base}.png` };
}

/** Renders a Vega-Lite spec to `<base>.svg` and a 2× `<base>.png` (the same bytes for the same spec). */
export async function writeSvgAndPng(spec: TopLevelSpec, base: string): Promise<void> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: FONT },
  })
    .render()
    .asPng();
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, png);
}
