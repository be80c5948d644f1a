import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareIds } from '../sampling.ts';
import { finite, groupArms } from './arms.ts';
import { meanCi, roundsToTarget, type MeanCi } from './stats.ts';
import type { BenchKind, BenchRun } from './types.ts';

export { BenchInputError } from './arms.ts';

/** The metrics a bench table shows unless told otherwise. */
export const DEFAULT_BENCH_METRICS: readonly string[] = ['accuracy', 'auroc', 'auprc'];

/** A goal on the aggregated learning curve: `metric` ≥ `value`. */
export interface BenchTarget {
  readonly metric: string;
  readonly value: number;
}

/** How many seeds reached the target, and in how many rounds (over the seeds that did). */
export interface TargetSummary {
  readonly reached: number;
  readonly of: number;
  /** Absent when no seed reached the target. */
  readonly rounds?: MeanCi;
}

/** One arm of a bench over its seeds. A metric no seed reported is absent from each record. */
export interface BenchRow {
  readonly arm: string;
  readonly kind: BenchKind;
  /** Runs (seeds) of this arm; a metric's own `n` is smaller when some seeds lack it. */
  readonly seeds: number;
  /** Final aggregated metrics: mean ± 95% CI over seeds. */
  readonly overall: Readonly<Record<string, MeanCi>>;
  /**
   * Per seed the worst hospital's final metric (the lowest; the highest for metrics named `…loss`) among the
   * hospitals that report it, then mean ± 95% CI over seeds.
   */
  readonly worstHospital: Readonly<Record<string, MeanCi>>;
  /** Hospital id → metric → mean ± 95% CI over seeds. */
  readonly hospitals: Readonly<Record<string, Readonly<Record<string, MeanCi>>>>;
  /** Only for strategies, when a target was given. */
  readonly target?: TargetSummary;
  /** Mean bytes per run. */
  readonly bytes: { readonly total: number; readonly crossBorder: number };
  /** Mean wall-clock seconds per run. */
  readonly seconds: number;
}

/** What `summarize` makes of a bench: one row per arm, strategies first, then baselines. */
export interface BenchTable {
  readonly metrics: readonly string[];
  /** Every hospital seen in any run, in ascending id order. */
  readonly hospitals: readonly string[];
  readonly target?: BenchTarget;
  readonly rows: readonly BenchRow[];
}

/** Options of `summarize`. */
export interface SummarizeOptions {
  /** Metrics to report; default accuracy, auroc, auprc. */
  readonly metrics?: readonly string[];
  /** Counts the rounds each strategy's seeds needed to reach it. */
  readonly target?: BenchTarget;
}

const LEVEL = 0.95;

const lowerIsBetter = (metric: string): boolean => /loss$/i.test(metric);

function estimate(values: readonly (number | undefined)[]): MeanCi | undefined {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length === 0 ? undefined : meanCi(present, LEVEL);
}

function estimates(metrics: readonly string[], valueOf: (metric: string) => MeanCi | undefined) {
  const out: Record<string, MeanCi> = {};
  for (const m of metrics) {
    const e = valueOf(m);
    if (e !== undefined) out[m] = e;
  }
  return out;
}

function worstOf(run: BenchRun, metric: string): number | undefined {
  const values = Object.values(run.final.hospitals)
    .map((h) => finite(h, metric))
    .filter((v): v is number => v !== undefined);
  if (values.length === 0) return undefined;
  return lowerIsBetter(metric) ? Math.max(...values) : Math.min(...values);
}

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;

/** Summarizes a bench's runs: per arm, mean ± 95% Student t CI over seeds of every reported quantity. */
export function summarize(runs: readonly BenchRun[], options: SummarizeOptions = {}): BenchTable {
  const metrics = [...(options.metrics ?? DEFAULT_BENCH_METRICS)];
  const { target } = options;
  const hospitals = [...new Set(runs.flatMap((r) => Object.keys(r.final.hospitals)))].sort(compareIds);
  const rows = groupArms(runs).map(({ arm, kind, runs: armRuns }): BenchRow => {
    const perHospital: Record<string, Record<string, MeanCi>> = {};
    for (const h of hospitals) {
      const e = estimates(metrics, (m) => estimate(armRuns.map((r) => finite(r.final.hospitals[h], m))));
      if (Object.keys(e).length > 0) perHospital[h] = e;
    }
    let targetSummary: TargetSummary | undefined;
    if (target !== undefined && kind === 'strategy') {
      const reachedAt = armRuns
        .map((r) => roundsToTarget(r.curve, target.metric, target.value))
        .filter((v): v is number => v !== undefined);
      const rounds = estimate(reachedAt);
      targetSummary = { reached: reachedAt.length, of: armRuns.length, ...(rounds && { rounds }) };
    }
    return {
      arm,
      kind,
      seeds: armRuns.length,
      overall: estimates(metrics, (m) => estimate(armRuns.map((r) => finite(r.final.metrics, m)))),
      worstHospital: estimates(metrics, (m) => estimate(armRuns.map((r) => worstOf(r, m)))),
      hospitals: perHospital,
      ...(targetSummary && { target: targetSummary }),
      bytes: {
        total: mean(armRuns.map((r) => r.bytes.total)),
        crossBorder: mean(armRuns.map((r) => r.bytes.crossBorder)),
      },
      seconds: mean(armRuns.map((r) => r.seconds)),
    };
  });
  return { metrics, hospitals, ...(target && { target }), rows };
}

const DASH = '—';

/** "0.812 ± 0.014"; "(n=k)" added when k is 1 or fewer than the arm's seeds; "—" when missing. */
function formatCi(ci: MeanCi | undefined, seeds: number, digits: number): string {
  if (ci === undefined) return DASH;
  const text =
    ci.halfWidth === undefined
      ? ci.mean.toFixed(digits)
      : `${ci.mean.toFixed(digits)} ± ${ci.halfWidth.toFixed(digits)}`;
  return ci.n === 1 || ci.n !== seeds ? `${text} (n=${ci.n})` : text;
}

function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i]}`;
}

function armLabel(row: BenchRow): string {
  if (row.kind === 'strategy') return row.arm;
  return row.arm === 'pooled' ? `${row.arm} (baseline †)` : `${row.arm} (baseline)`;
}

function targetLabel(target: BenchTarget): string {
  return `rounds to ${target.metric} ≥ ${target.value}`;
}

function formatTarget(row: BenchRow): string {
  if (row.target === undefined) return DASH;
  const reached = `${row.target.reached}/${row.target.of} reached`;
  if (row.target.rounds === undefined) return `${DASH} (${reached})`;
  const r = row.target.rounds;
  const text =
    r.halfWidth === undefined ? r.mean.toFixed(1) : `${r.mean.toFixed(1)} ± ${r.halfWidth.toFixed(1)}`;
  return `${text} (${reached})`;
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|');
const mdTable = (header: readonly string[], body: readonly (readonly string[])[]): string[] => [
  `| ${header.map(mdCell).join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...body.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
];

function markdown(table: BenchTable): string {
  const { metrics, rows, target } = table;
  const overall = mdTable(
    [
      'arm',
      'seeds',
      ...metrics,
      ...metrics.map((m) => `worst hospital ${m}`),
      ...(target ? [targetLabel(target)] : []),
      'bytes across borders',
      'seconds',
    ],
    rows.map((r) => [
      armLabel(r),
      String(r.seeds),
      ...metrics.map((m) => formatCi(r.overall[m], r.seeds, 3)),
      ...metrics.map((m) => formatCi(r.worstHospital[m], r.seeds, 3)),
      ...(target ? [formatTarget(r)] : []),
      formatBytes(r.bytes.crossBorder),
      r.seconds.toFixed(1),
    ]),
  );
  const perHospital = mdTable(
    ['hospital', 'arm', ...metrics],
    table.hospitals.flatMap((h) =>
      rows.map((r) => [h, armLabel(r), ...metrics.map((m) => formatCi(r.hospitals[h]?.[m], r.seeds, 3))]),
    ),
  );
  const seedCounts = [...new Set(rows.map((r) => r.seeds))].sort((a, b) => a - b).join(', ');
  const legend = [
    `CI: each cell is the mean over the N seeds of its arm (N is the seeds column: ${seedCounts || 0}) ± the ` +
      `half-width of a two-sided Student t 95% confidence interval (N − 1 degrees of freedom, sample standard ` +
      `deviation). "(n=k)" marks a value over k seeds only: fewer seeds reported it, or k = 1 and there is no ` +
      `interval. "${DASH}" means no seed reported the value.`,
    `Metrics are the final model's example-weighted means of per-hospital metrics on each hospital's held-out ` +
      `patients: predictions never leave a hospital, so no metric is computed over all patients at once. ` +
      `"Worst hospital" takes, in each seed, the lowest value over the hospitals that report the metric ` +
      `(the highest for losses), then averages over seeds.`,
    ...(target
      ? [
          `"${targetLabel(target)}": the first round whose aggregated ${target.metric} reaches ${target.value}, ` +
            `mean ± CI over the seeds that reached it; "k/n reached" counts them.`,
        ]
      : []),
    `Bytes across borders and seconds are means per run.`,
    `Rows marked "(baseline)" are not federated strategies: local-only trains each hospital alone. ` +
      `† pooled trains one model on every hospital's records together: a sovereignty violation, kept for comparison only.`,
  ];
  return [
    '# Bench',
    '',
    ...overall,
    '',
    '## Per hospital',
    '',
    ...perHospital,
    '',
    ...legend.flatMap((p) => [p, '']),
  ].join('\n');
}

const csvCell = (s: string): string => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const num = (v: number | undefined): string => (v === undefined ? '' : String(v));

function csv(table: BenchTable): string {
  const header = ['arm', 'kind', 'scope', 'hospital', 'metric', 'mean', 'lower', 'upper', 'n', 'seeds'];
  const lines: string[][] = [];
  for (const r of table.rows) {
    const line = (scope: string, hospital: string, metric: string, ci: MeanCi | undefined, n = ci?.n ?? 0) =>
      lines.push([
        r.arm,
        r.kind,
        scope,
        hospital,
        metric,
        num(ci?.mean),
        num(ci?.lower),
        num(ci?.upper),
        String(n),
        String(r.seeds),
      ]);
    for (const m of table.metrics) line('overall', '', m, r.overall[m]);
    for (const m of table.metrics) line('worst-hospital', '', m, r.worstHospital[m]);
    for (const h of table.hospitals)
      for (const m of table.metrics) line('hospital', h, m, r.hospitals[h]?.[m]);
    if (table.target && r.target) {
      line(
        'run',
        '',
        `rounds-to-${table.target.metric}>=${table.target.value}`,
        r.target.rounds,
        r.target.reached,
      );
    }
    line('run', '', 'bytes-cross-border', { mean: r.bytes.crossBorder, n: r.seeds });
    line('run', '', 'bytes-total', { mean: r.bytes.total, n: r.seeds });
    line('run', '', 'seconds', { mean: r.seconds, n: r.seeds });
  }
  return [header, ...lines].map((l) => l.map(csvCell).join(',')).join('\n') + '\n';
}

/** Writes `bench.md` (readable tables and legend) and `bench.csv` (one row per arm × scope × metric) into `dir`. */
export function writeBenchTables(dir: string, table: BenchTable): { markdown: string; csv: string } {
  mkdirSync(dir, { recursive: true });
  const files = { markdown: join(dir, 'bench.md'), csv: join(dir, 'bench.csv') };
  writeFileSync(files.markdown, markdown(table));
  writeFileSync(files.csv, csv(table));
  return files;
}
