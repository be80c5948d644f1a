import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESERVED_METRIC_PREFIX } from '../../protocol/messages.ts';
import { GLOBAL_METRICS } from '../global-roc.ts';
import { DP_EPSILON_METRIC } from './read-run.ts';
import { BINARY_HEAD, headlineMetrics, type OutputHead } from '../../protocol/outcome.ts';
import { compareIds } from '../sampling.ts';
import { BenchInputError, finite, groupArms, type Arm } from './arms.ts';
import { lowerIsBetter, meanCi, pairedDifference, roundsToTarget, type MeanCi } from './stats.ts';
import type { Selection } from './selection.ts';
import type { BenchKind, BenchRun } from './types.ts';

import { AUDIT_BENCH_METRICS } from './audit-metrics.ts';

export { BenchInputError } from './arms.ts';

/** The metrics a bench table shows unless told otherwise. */
export const DEFAULT_BENCH_METRICS: readonly string[] = [
  'accuracy',
  'auroc',
  'auprc',
  ...GLOBAL_METRICS,
  DP_EPSILON_METRIC,
  ...AUDIT_BENCH_METRICS,
];

/** A backdoor's success on the global model (see the faults), shown when some run reports it. */
const ATTACK_SUCCESS = 'attack_success__triggered';

/** The metrics a bench table shows unless told otherwise, for the outcome the scenario declares. */
export function benchMetricsFor(head: OutputHead): readonly string[] {
  if (head.kind === 'multiclass')
    return [
      ...headlineMetrics(head),
      'global_accuracy',
      'global_auroc_macro',
      DP_EPSILON_METRIC,
      ATTACK_SUCCESS,
    ];
  if (head.kind === 'continuous') return [...headlineMetrics(head), 'global_r2', DP_EPSILON_METRIC];
  return [...DEFAULT_BENCH_METRICS, ATTACK_SUCCESS];
}

/** Whether hospitals report the metric themselves; `global_…` metrics exist only for the whole federation. */
export const reportedByHospitals = (metric: string): boolean => !metric.startsWith(RESERVED_METRIC_PREFIX);

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
  /** Simulated seconds to the target, when the scenario has a virtual clock and some seed reached it. */
  readonly simulatedSeconds?: MeanCi;
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
   * Per seed the worst hospital's final metric (the lowest; the highest where lower is better: losses, brier, ece, mse, mae, attack success) among the
   * hospitals that report it, then mean ± 95% CI over seeds.
   */
  readonly worstHospital: Readonly<Record<string, MeanCi>>;
  /** Hospital id → metric → mean ± 95% CI over seeds. */
  readonly hospitals: Readonly<Record<string, Readonly<Record<string, MeanCi>>>>;
  /** Only for strategies, when a target was given. */
  readonly target?: TargetSummary;
  /** Mean bytes per run, and mean messages across borders when the runs record them. */
  readonly bytes: {
    readonly total: number;
    readonly crossBorder: number;
    readonly crossBorderMessages?: number;
  };
  /** Mean wall-clock seconds per run. */
  readonly seconds: number;
}

/** How an arm compares with the reference on a metric, by the paired interval. */
export type Direction = 'better' | 'worse' | 'unclear';

/** One strategy arm against the reference on one final overall metric. */
export interface MetricComparison {
  /** Arm − reference: mean ± 95% CI over the seeds for which both arms report the metric. */
  readonly difference: MeanCi;
  /** Both arms' 95% CIs of the metric exist and do not overlap (unpaired, so stricter than the paired test). */
  readonly separated: boolean;
  /** Better or worse when the paired CI excludes 0 (lower is better for losses, brier, ece, mse, mae and attack success), else unclear. */
  readonly direction: Direction;
}

/** One strategy arm against the reference. */
export interface ArmComparison {
  readonly arm: string;
  /** Metric → comparison; a metric that no seed reports for both arms is absent. */
  readonly metrics: Readonly<Record<string, MetricComparison>>;
}

/** Every other strategy arm against the reference arm, paired by seed. */
export interface BenchComparison {
  readonly reference: string;
  /** In the order of the table's rows. */
  readonly arms: readonly ArmComparison[];
}

/** What `summarize` makes of a bench: one row per arm, strategies first, then baselines. */
export interface BenchTable {
  readonly metrics: readonly string[];
  /** Every hospital seen in any run, in ascending id order. */
  readonly hospitals: readonly string[];
  readonly target?: BenchTarget;
  readonly rows: readonly BenchRow[];
  /** The other strategies against the reference; absent with fewer than two strategy arms. */
  readonly comparison?: BenchComparison;
  /** How each grid arm's candidate was chosen on tuning seeds, when the bench had grids. */
  readonly selections?: readonly Selection[];
}

/** Options of `summarize`. */
export interface SummarizeOptions {
  /** Metrics to report; default {@link benchMetricsFor} the outcome, less the `global_…` ones no run reports. */
  readonly metrics?: readonly string[];
  /** The outcome the runs predict (default binary). */
  readonly head?: OutputHead;
  /** Counts the rounds each strategy's seeds needed to reach it. */
  readonly target?: BenchTarget;
  /** Strategy arm the others are compared with, paired by seed; default the first strategy arm. */
  readonly reference?: string;
}

const LEVEL = 0.95;

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

function finalBySeed(arm: Arm, metric: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const r of arm.runs) {
    const v = finite(r.final.metrics, metric);
    if (v !== undefined) out.set(r.seed, v);
  }
  return out;
}

function separated(a: MeanCi | undefined, b: MeanCi | undefined): boolean {
  if (a?.lower === undefined || a.upper === undefined || b?.lower === undefined || b.upper === undefined) {
    return false;
  }
  return a.lower > b.upper || a.upper < b.lower;
}

function direction(metric: string, difference: MeanCi): Direction {
  const { lower, upper } = difference;
  if (lower === undefined || upper === undefined || (lower <= 0 && upper >= 0)) return 'unclear';
  const higher = lower > 0;
  return higher !== lowerIsBetter(metric) ? 'better' : 'worse';
}

function compare(
  arms: readonly { readonly arm: Arm; readonly row: BenchRow }[],
  metrics: readonly string[],
  reference: string | undefined,
): BenchComparison | undefined {
  const strategies = arms.filter((a) => a.arm.kind === 'strategy');
  if (reference !== undefined && !strategies.some((a) => a.arm.arm === reference)) {
    const known = strategies.map((a) => `'${a.arm.arm}'`).join(', ') || 'none';
    throw new BenchInputError(
      `reference '${reference}' is not a strategy arm of this bench; strategy arms: ${known}`,
      reference,
    );
  }
  const ref = reference === undefined ? strategies[0] : strategies.find((a) => a.arm.arm === reference);
  if (ref === undefined || strategies.length < 2) return undefined;
  return {
    reference: ref.arm.arm,
    arms: strategies
      .filter((a) => a !== ref)
      .map(({ arm, row }): ArmComparison => {
        const out: Record<string, MetricComparison> = {};
        for (const m of metrics) {
          const values = finalBySeed(arm, m);
          const against = finalBySeed(ref.arm, m);
          if (![...values.keys()].some((seed) => against.has(seed))) continue;
          const difference = pairedDifference(values, against, LEVEL);
          out[m] = {
            difference,
            separated: separated(row.overall[m], ref.row.overall[m]),
            direction: direction(m, difference),
          };
        }
        return { arm: arm.arm, metrics: out };
      }),
  };
}

/**
 * Summarizes a bench's runs: per arm, mean ± 95% Student t CI over seeds of every reported quantity, and the
 * other strategies' paired differences from the reference; throws `BenchInputError` on an unknown reference.
 */
export function summarize(runs: readonly BenchRun[], options: SummarizeOptions = {}): BenchTable {
  const metrics =
    options.metrics !== undefined
      ? [...options.metrics]
      : benchMetricsFor(options.head ?? BINARY_HEAD).filter(
          (m) =>
            (reportedByHospitals(m) && m !== ATTACK_SUCCESS) ||
            runs.some((r) => finite(r.final.metrics, m) !== undefined),
        );
  const { target } = options;
  const hospitals = [...new Set(runs.flatMap((r) => Object.keys(r.final.hospitals)))].sort(compareIds);
  const arms = groupArms(runs);
  const rows = arms.map(({ arm, kind, runs: armRuns }): BenchRow => {
    const perHospital: Record<string, Record<string, MeanCi>> = {};
    for (const h of hospitals) {
      const e = estimates(metrics, (m) => estimate(armRuns.map((r) => finite(r.final.hospitals[h], m))));
      if (Object.keys(e).length > 0) perHospital[h] = e;
    }
    let targetSummary: TargetSummary | undefined;
    if (target !== undefined && kind === 'strategy') {
      const reached = armRuns
        .map((r) => ({ run: r, round: roundsToTarget(r.curve, target.metric, target.value) }))
        .filter((v): v is { run: BenchRun; round: number } => v.round !== undefined);
      const rounds = estimate(reached.map((v) => v.round));
      const times = reached
        .map((v) => v.run.curve.find((p) => p.round === v.round)?.simulatedSeconds)
        .filter((t): t is number => t !== undefined);
      const simulatedSeconds = times.length === reached.length ? estimate(times) : undefined;
      targetSummary = {
        reached: reached.length,
        of: armRuns.length,
        ...(rounds && { rounds }),
        ...(simulatedSeconds && { simulatedSeconds }),
      };
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
        ...(armRuns.every((r) => r.bytes.crossBorderMessages !== undefined)
          ? { crossBorderMessages: mean(armRuns.map((r) => r.bytes.crossBorderMessages!)) }
          : {}),
      },
      seconds: mean(armRuns.map((r) => r.seconds)),
    };
  });
  const comparison = compare(
    arms.map((arm, i) => ({ arm, row: rows[i]! })),
    metrics,
    options.reference,
  );
  return { metrics, hospitals, ...(target && { target }), rows, ...(comparison && { comparison }) };
}

const DASH = '—';

/** "+0.012": the sign always shown, and never "-0.000". */
function signed(v: number, digits: number): string {
  const magnitude = Math.abs(v).toFixed(digits);
  return `${v < 0 && Number(magnitude) !== 0 ? '-' : '+'}${magnitude}`;
}

/** "0.812 ± 0.014"; "(n=k)" added when k is 1 or fewer than the arm's seeds; "—" when missing. */
function formatCi(ci: MeanCi | undefined, seeds: number, digits: number, sign = false): string {
  if (ci === undefined) return DASH;
  const m = sign ? signed(ci.mean, digits) : ci.mean.toFixed(digits);
  const text = ci.halfWidth === undefined ? m : `${m} ± ${ci.halfWidth.toFixed(digits)}`;
  return ci.n === 1 || ci.n !== seeds ? `${text} (n=${ci.n})` : text;
}

const ARROW: Readonly<Record<Direction, string>> = { better: ' ▲', worse: ' ▼', unclear: '' };

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
  const t = row.target.simulatedSeconds;
  const time =
    t === undefined
      ? ''
      : `, ${t.halfWidth === undefined ? t.mean.toFixed(1) : `${t.mean.toFixed(1)} ± ${t.halfWidth.toFixed(1)}`} simulated s`;
  return `${text}${time} (${reached})`;
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|');
const mdTable = (header: readonly string[], body: readonly (readonly string[])[]): string[] => [
  `| ${header.map(mdCell).join(' | ')} |`,
  `|${header.map(() => '---').join('|')}|`,
  ...body.map((r) => `| ${r.map(mdCell).join(' | ')} |`),
];

function comparisonSection(table: BenchTable): string[] {
  const { comparison, metrics, rows } = table;
  if (comparison === undefined) return [];
  const body = comparison.arms.map((a) => {
    const seeds = rows.find((r) => r.arm === a.arm)?.seeds ?? 0;
    const apart = metrics.filter((m) => a.metrics[m]?.separated === true);
    return [
      a.arm,
      ...metrics.map((m) => {
        const c = a.metrics[m];
        return c === undefined ? DASH : formatCi(c.difference, seeds, 3, true) + ARROW[c.direction];
      }),
      apart.length === 0 ? DASH : apart.join(', '),
    ];
  });
  return [
    `## Against ${comparison.reference}`,
    '',
    ...mdTable(['arm', ...metrics.map((m) => `Δ ${m} (paired)`), 'CIs separate'], body),
    '',
  ];
}

function overviewLines(table: BenchTable): string[] {
  const { metrics, rows, target } = table;
  const local = metrics.filter(reportedByHospitals);
  const messages = rows.some((r) => r.bytes.crossBorderMessages !== undefined);
  const overall = mdTable(
    [
      'arm',
      'seeds',
      ...metrics,
      ...local.map((m) => `worst hospital ${m}`),
      ...(target ? [targetLabel(target)] : []),
      'bytes across borders',
      ...(messages ? ['messages across borders'] : []),
      'seconds',
    ],
    rows.map((r) => [
      armLabel(r),
      String(r.seeds),
      ...metrics.map((m) => formatCi(r.overall[m], r.seeds, 3)),
      ...local.map((m) => formatCi(r.worstHospital[m], r.seeds, 3)),
      ...(target ? [formatTarget(r)] : []),
      formatBytes(r.bytes.crossBorder),
      ...(messages ? [r.bytes.crossBorderMessages?.toFixed(0) ?? DASH] : []),
      r.seconds.toFixed(1),
    ]),
  );
  return ['# Bench', '', ...overall, '', ...comparisonSection(table), ...selectionSection(table)];
}

function selectionSection(table: BenchTable): string[] {
  const selections = table.selections ?? [];
  if (selections.length === 0) return [];
  const seeds = selections[0]!.seeds;
  return [
    `## Grids settled on tuning seeds ${seeds.join(', ')}`,
    '',
    ...mdTable(
      ['grid', 'candidate', 'by', 'mean ± 95% CI on the tuning seeds', 'chosen'],
      selections.flatMap((s) =>
        s.candidates.map((c) => [
          s.arm,
          c.label,
          s.metric,
          formatCi(c.score, s.seeds.length, 3),
          c.label === s.chosen ? '✓' : '',
        ]),
      ),
    ),
    '',
  ];
}

/** The top of `bench.md`: the main table and, when there is one, the comparison with the reference. */
export function benchOverview(table: BenchTable): string {
  return overviewLines(table).join('\n');
}

function markdown(table: BenchTable): string {
  const { metrics, rows, target, comparison } = table;
  const local = metrics.filter(reportedByHospitals);
  const perHospital = mdTable(
    ['hospital', 'arm', ...local],
    table.hospitals.flatMap((h) =>
      rows.map((r) => [h, armLabel(r), ...local.map((m) => formatCi(r.hospitals[h]?.[m], r.seeds, 3))]),
    ),
  );
  const seedCounts = [...new Set(rows.map((r) => r.seeds))].sort((a, b) => a - b).join(', ');
  const legend = [
    `CI: each cell is the mean over the N seeds of its arm (N is the seeds column: ${seedCounts || 0}) ± the ` +
      `half-width of a two-sided Student t 95% confidence interval (N − 1 degrees of freedom, sample standard ` +
      `deviation). "(n=k)" marks a value over k seeds only: fewer seeds reported it, or k = 1 and there is no ` +
      `interval. "${DASH}" means no seed reported the value.`,
    ...(comparison
      ? [
          `Against ${comparison.reference}: each Δ cell is the mean over the seeds both arms ran (paired: a seed ` +
            `fixes the partition, the initial model and the sampling) of the arm's final metric minus ` +
            `${comparison.reference}'s, ± the half-width of a two-sided Student t 95% interval of those ` +
            `differences (n − 1 degrees of freedom, n the shared seeds). ▲ / ▼: the interval excludes 0 and the ` +
            `arm is better / worse than ${comparison.reference} (lower is better for losses, brier, ece, mse, mae and attack success). "CIs separate" ` +
            `lists the metrics whose unpaired 95% intervals in the table above do not overlap: a stricter test, ` +
            `which can miss differences that the pairing reveals.`,
        ]
      : []),
    `Metrics are the final model's example-weighted means of per-hospital metrics on each hospital's held-out ` +
      `patients: predictions never leave a hospital` +
      (local.length < metrics.length
        ? `; global_auroc and global_auprc rank all those patients together from per-hospital counts of their ` +
          `scores per bin and class. `
        : `, so no metric is computed over all patients at once. `) +
      `"Worst hospital" takes, in each seed, the lowest value over the hospitals that report the metric ` +
      `(the highest for losses, brier and ece), then averages over seeds.`,
    ...(target
      ? [
          `"${targetLabel(target)}": the first round whose aggregated ${target.metric} reaches ${target.value}, ` +
            `mean ± CI over the seeds that reached it; "k/n reached" counts them.`,
        ]
      : []),
    `Bytes across borders and seconds are means per run. Seconds are real time: for a strategy its setup and ` +
      `rounds, for a baseline its own training and evaluation (the first arm's runs also ran the baselines).`,
    ...((table.selections ?? []).length > 0
      ? [
          `Grids: every candidate of a grid ran on the tuning seeds only; the one with the best mean final ` +
            `value of the metric named in "by" (the lowest for losses, brier and ece; the first on ties) was kept and ran on ` +
            `the seeds above under its own label, so no reported seed took part in choosing it.`,
        ]
      : []),
    `Rows marked "(baseline)" are not federated strategies: local-only trains each hospital alone. ` +
      `† pooled trains one model on every hospital's records together: a sovereignty violation, kept for comparison only.`,
  ];
  return [
    ...overviewLines(table),
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
  const local = table.metrics.filter(reportedByHospitals);
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
    for (const m of local) line('worst-hospital', '', m, r.worstHospital[m]);
    for (const h of table.hospitals) for (const m of local) line('hospital', h, m, r.hospitals[h]?.[m]);
    if (table.target && r.target) {
      line(
        'run',
        '',
        `rounds-to-${table.target.metric}>=${table.target.value}`,
        r.target.rounds,
        r.target.reached,
      );
      if (r.target.simulatedSeconds !== undefined)
        line(
          'run',
          '',
          `simulated-seconds-to-${table.target.metric}>=${table.target.value}`,
          r.target.simulatedSeconds,
          r.target.reached,
        );
    }
    line('run', '', 'bytes-cross-border', { mean: r.bytes.crossBorder, n: r.seeds });
    line('run', '', 'bytes-total', { mean: r.bytes.total, n: r.seeds });
    line('run', '', 'seconds', { mean: r.seconds, n: r.seeds });
    // Paired differences from the reference (named in bench.md): new rows rather than new columns, so the
    // header and the other rows stay as they were. Scope `vs-reference`, metric `delta-<metric>`: arm −
    // reference over the n seeds both report it. The reference is the strategy arm without such rows.
    const versus = table.comparison?.arms.find((a) => a.arm === r.arm);
    if (versus)
      for (const m of table.metrics) line('vs-reference', '', `delta-${m}`, versus.metrics[m]?.difference);
  }
  // Grid candidates on the tuning seeds: scope `tuning` (`tuning-chosen` for the one kept), the grid as
  // written in the hospital column, the selection metric's final value.
  for (const s of table.selections ?? []) {
    for (const c of s.candidates) {
      lines.push([
        c.label,
        'strategy',
        c.label === s.chosen ? 'tuning-chosen' : 'tuning',
        s.arm,
        s.metric,
        num(c.score?.mean),
        num(c.score?.lower),
        num(c.score?.upper),
        String(c.score?.n ?? 0),
        String(s.seeds.length),
      ]);
    }
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
