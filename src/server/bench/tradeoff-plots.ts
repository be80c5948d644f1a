import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { PALETTE } from '../../common/palette.ts';
import { finite, groupArms } from './arms.ts';
import { DPSGD_EPSILON_METRIC } from './audit-metrics.ts';
import { meanCi } from './stats.ts';
import type { BenchRun } from './types.ts';
import { FONT, writeSvgAndPng } from './plots.ts';

/** The privacy–utility plots: what each shows against DP-SGD's ε, and its file name. */
const TRADEOFFS = [
  {
    file: 'attack-vs-epsilon',
    title: 'Membership-inference attack success vs ε',
    metrics: {
      global_mia_lira_auc: 'LiRA attack AUC',
      global_mia_loss_auc: 'loss-threshold attack AUC',
      global_mia_lira_tpr_fpr1: 'LiRA TPR at FPR 1%',
    },
  },
  {
    file: 'auroc-vs-epsilon',
    title: 'Clinical AUROC vs ε',
    metrics: { auroc: 'AUROC (mean of hospitals)', global_auroc: 'global AUROC' },
  },
] as const;

interface Point {
  readonly series: string;
  readonly arm: string;
  readonly epsilon: number;
  readonly mean: number;
  readonly lower?: number;
  readonly upper?: number;
}

/**
 * A vega-lite spec of `metrics` against DP-SGD's ε (the largest any hospital spent): per arm with DP-SGD a point
 * at its mean ε and mean value over seeds, with the value's Student t 95% CI; arms without DP-SGD as dashed
 * rules at their mean value. Undefined when no run has DP-SGD.
 */
export function tradeoffSpec(
  runs: readonly BenchRun[],
  title: string,
  metrics: Readonly<Record<string, string>>,
): TopLevelSpec | undefined {
  const points: Point[] = [];
  const rules: { series: string; arm: string; mean: number }[] = [];
  for (const { arm, kind, runs: armRuns } of groupArms(runs)) {
    if (kind !== 'strategy') continue;
    const eps = armRuns.map((r) => finite(r.final.metrics, DPSGD_EPSILON_METRIC));
    for (const [metric, series] of Object.entries(metrics)) {
      const values = armRuns.map((r) => finite(r.final.metrics, metric)).filter((v) => v !== undefined);
      if (values.length === 0) continue;
      const ci = meanCi(values);
      const known = eps.filter((e) => e !== undefined);
      if (known.length === 0) {
        rules.push({ series, arm, mean: ci.mean });
        continue;
      }
      points.push({
        series,
        arm,
        epsilon: meanCi(known).mean,
        mean: ci.mean,
        ...(ci.lower === undefined ? {} : { lower: ci.lower, upper: ci.upper! }),
      });
    }
  }
  if (points.length === 0) return undefined;
  const domain = Object.values(metrics);
  const color = {
    field: 'series',
    type: 'nominal',
    title: 'measure (dashed: without DP-SGD)',
    scale: { domain, range: domain.map((_, i) => PALETTE[i % PALETTE.length] ?? 'black') },
    legend: { labelLimit: 0, titleLimit: 0 },
  } as const;
  const x = {
    field: 'epsilon',
    type: 'quantitative',
    title: 'ε (largest of the hospitals, at δ)',
    scale: { type: 'symlog' },
  } as const;
  const y = { type: 'quantitative', title: 'mean over seeds', scale: { zero: false } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: 'points: DP-SGD arms (bars: Student t 95% CI over seeds); dashed: the arm without DP-SGD',
    },
    width: 640,
    height: 360,
    background: 'white',
    config: { font: FONT, view: { stroke: null } },
    layer: [
      {
        data: { values: points.filter((p) => p.lower !== undefined) },
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: { x, y: { ...y, field: 'lower' }, y2: { field: 'upper' }, color },
      },
      {
        data: { values: points },
        mark: { type: 'line', point: { size: 60 }, strokeWidth: 2 },
        encoding: { x, y: { ...y, field: 'mean' }, color, order: { field: 'epsilon' } },
      },
      {
        data: { values: rules },
        mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 4] },
        encoding: { y: { ...y, field: 'mean' }, color },
      },
    ],
  };
}

/** Writes the privacy–utility plots (`attack-vs-epsilon`, `auroc-vs-epsilon`, SVG and PNG) when runs have DP-SGD. */
export async function writeTradeoffPlots(dir: string, runs: readonly BenchRun[]): Promise<string[]> {
  const written: string[] = [];
  for (const t of TRADEOFFS) {
    const spec = tradeoffSpec(runs, t.title, t.metrics);
    if (spec === undefined) continue;
    await writeSvgAndPng(spec, join(dir, t.file));
    written.push(join(dir, `${t.file}.png`));
  }
  return written;
}
