import type { Topology } from 'topojson-specification';
import { groupArms, finite } from '../server/bench/arms.ts';
import { meanCi } from '../server/bench/stats.ts';
import type { BenchCsvRow, BenchFiles } from './bench-files.ts';
import type { ChartRenderer } from './chart-renderer.ts';
import { curveChart, intervalChart, type Chart, type CurvePoint, type IntervalRow } from './charts.ts';
import { figure, figures, section } from './figure.ts';
import { exact, fixed, integer, signed } from './format.ts';
import { html, table, type Cell, type Html } from './html.ts';
import { isSubgroup, metricLabel, PRIMARY_METRICS, unitMetric } from './metric-names.ts';
import type { ReportBody } from './run-report.ts';
import { identityTable } from './run-report.ts';
import { scenarioSection } from './scenario-section.ts';
import { trafficSection } from './traffic-section.ts';

const KNOWN_SCOPES = new Set([
  'overall',
  'worst-hospital',
  'hospital',
  'run',
  'vs-reference',
  'tuning',
  'tuning-chosen',
]);

/** A bench.csv value as a cell: the estimate ± the half-width of its interval, the exact row in attributes. */
function csvCell(r: BenchCsvRow | undefined, digits = 3, sign = false): Cell {
  if (r === undefined || r.mean === undefined) return '—';
  const half = r.lower !== undefined && r.upper !== undefined ? (r.upper - r.lower) / 2 : undefined;
  const m = sign ? signed(r.mean, digits) : fixed(r.mean, digits);
  const text = `${half === undefined ? m : `${m} ± ${fixed(half, digits)}`}${r.n === 1 || r.n !== r.seeds ? ` (n=${r.n})` : ''}`;
  return {
    text,
    numeric: true,
    attrs: {
      'data-arm': r.arm,
      'data-scope': r.scope,
      'data-hospital': r.hospital,
      'data-metric': r.metric,
      'data-mean': exact(r.mean),
      ...(r.lower === undefined ? {} : { 'data-lower': exact(r.lower) }),
      ...(r.upper === undefined ? {} : { 'data-upper': exact(r.upper) }),
      'data-n': String(r.n),
    },
  };
}

function runCell(r: BenchCsvRow | undefined): Cell {
  if (r === undefined || r.mean === undefined) return '—';
  const text = r.metric.startsWith('bytes')
    ? integer(r.mean)
    : r.metric === 'seconds'
      ? fixed(r.mean, 1)
      : fixed(r.mean, 3);
  return { ...(csvCell(r) as Exclude<Cell, string>), text };
}

const armLabel = (arm: string, kind: string): string =>
  kind === 'baseline' ? (arm === 'pooled' ? 'pooled (baseline †)' : `${arm} (baseline)`) : arm;

function uniq<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Rows of one scope, looked up by arm, metric and hospital. */
function lookup(rows: readonly BenchCsvRow[], scope: string) {
  const map = new Map(
    rows.filter((r) => r.scope === scope).map((r) => [`${r.arm}\u0000${r.metric}\u0000${r.hospital}`, r]),
  );
  return (arm: string, metric: string, hospital = '') => map.get(`${arm}\u0000${metric}\u0000${hospital}`);
}

function armsTable(rows: readonly BenchCsvRow[], arms: readonly { arm: string; kind: string }[]): Html {
  const overall = lookup(rows, 'overall');
  const worst = lookup(rows, 'worst-hospital');
  const run = lookup(rows, 'run');
  const metrics = uniq(rows.filter((r) => r.scope === 'overall').map((r) => r.metric));
  const worstMetrics = uniq(rows.filter((r) => r.scope === 'worst-hospital').map((r) => r.metric));
  const runMetrics = uniq(rows.filter((r) => r.scope === 'run').map((r) => r.metric));
  return table({
    columns: ['arm', 'seeds', ...metrics, ...worstMetrics.map((m) => `worst hospital ${m}`), ...runMetrics],
    rows: arms.map(({ arm, kind }) => [
      armLabel(arm, kind),
      String(rows.find((r) => r.arm === arm)?.seeds ?? ''),
      ...metrics.map((m) => csvCell(overall(arm, m))),
      ...worstMetrics.map((m) => csvCell(worst(arm, m))),
      ...runMetrics.map((m) => runCell(run(arm, m))),
    ]),
    className: 'bench',
  });
}

function intervalRows(
  rows: readonly BenchCsvRow[],
  category: (r: BenchCsvRow) => string,
  group: (r: BenchCsvRow) => string,
): IntervalRow[] {
  return rows
    .filter((r) => r.mean !== undefined)
    .map((r) => ({
      category: category(r),
      group: group(r),
      mean: r.mean!,
      ...(r.lower === undefined ? {} : { lower: r.lower }),
      ...(r.upper === undefined ? {} : { upper: r.upper }),
    }));
}

function curveCharts(files: BenchFiles): Chart[] {
  const arms = groupArms(files.runs);
  const metrics = PRIMARY_METRICS.filter((m) =>
    files.runs.some((r) => r.curve.some((p) => finite(p.metrics, m) !== undefined)),
  );
  return metrics.map((m) => {
    const points: CurvePoint[] = [];
    const references = [];
    for (const a of arms) {
      if (a.kind === 'baseline') {
        const finals = a.runs
          .map((r) => finite(r.final.metrics, m))
          .filter((v): v is number => v !== undefined);
        if (finals.length > 0)
          references.push({ series: armLabel(a.arm, a.kind), value: meanCi(finals).mean });
        continue;
      }
      const byRound = new Map<number, number[]>();
      for (const run of a.runs)
        for (const p of run.curve) {
          const v = finite(p.metrics, m);
          if (v !== undefined) byRound.set(p.round, [...(byRound.get(p.round) ?? []), v]);
        }
      for (const [round, values] of [...byRound].sort(([x], [y]) => x - y)) {
        const ci = meanCi(values);
        points.push({
          series: a.arm,
          round,
          value: ci.mean,
          ...(ci.lower === undefined || ci.upper === undefined ? {} : { lower: ci.lower, upper: ci.upper }),
        });
      }
    }
    return curveChart({
      key: `bench-curve-${m}`,
      title: `${metricLabel(m)} by round`,
      caption: `Mean over seeds of each strategy’s ${metricLabel(m)} after each round, with its Student t 95% band; dashed: each baseline’s mean final value. From the run folders of the bench.`,
      y: `${metricLabel(m)} (mean over seeds)`,
      unitInterval: unitMetric(m),
      points,
      references,
    });
  });
}

/** The body of a bench's report: the tables of bench.csv as tables and charts, learning curves, and one federation in full. */
export async function benchReportBody(
  files: BenchFiles,
  atlas: Topology,
  renderer: ChartRenderer,
): Promise<ReportBody> {
  const { rows } = files;
  const arms = uniq(
    rows.filter((r) => !r.scope.startsWith('tuning')).map((r) => `${r.arm}\u0000${r.kind}`),
  ).map((k) => {
    const [arm, kind] = k.split('\u0000') as [string, string];
    return { arm, kind };
  });
  const seeds = uniq(files.runs.map((r) => r.seed)).sort((a, b) => a - b);
  const overallRows = rows.filter((r) => r.scope === 'overall');
  const sections: Html[] = [];
  const finalChart = intervalChart({
    key: 'bench-final',
    title: 'Final metrics per arm',
    caption:
      'Mean over seeds of each arm’s final metric with its Student t 95% confidence interval (bench.csv, scope overall).',
    x: 'value',
    category: 'arm',
    group: 'metric',
    rows: intervalRows(
      overallRows,
      (r) => armLabel(r.arm, r.kind),
      (r) => r.metric,
    ),
    unitInterval: overallRows.every((r) => unitMetric(r.metric)),
  });
  sections.push(
    section(
      'arms',
      'Arms',
      html`<p>
        Each cell: mean over the arm’s seeds ± the half-width of a two-sided Student t 95% confidence
        interval; “(n=k)” marks a value over k seeds only. Worst hospital: per seed the lowest value over the
        hospitals (the highest for losses, brier and ece), then averaged. † pooled moves every record to one
        place: a sovereignty violation, kept for comparison only.
      </p>`,
      armsTable(rows, arms),
      await figure(finalChart, renderer),
    ),
  );
  const versus = rows.filter((r) => r.scope === 'vs-reference');
  if (versus.length > 0) {
    const reference =
      arms.find((a) => a.kind === 'strategy' && !versus.some((r) => r.arm === a.arm))?.arm ?? 'the reference';
    const metrics = uniq(versus.map((r) => r.metric));
    const at = lookup(rows, 'vs-reference');
    const chart = intervalChart({
      key: 'bench-paired',
      title: `Paired differences from ${reference}`,
      caption: `Per arm and metric, the mean over shared seeds of the arm’s final value minus ${reference}’s, with its paired Student t 95% interval; the dashed line is no difference.`,
      x: 'difference',
      category: 'arm',
      group: 'metric',
      rows: intervalRows(
        versus,
        (r) => r.arm,
        (r) => r.metric,
      ),
      zero: true,
    });
    sections.push(
      section(
        'paired',
        `Against ${reference}, paired by seed`,
        table({
          columns: ['arm', ...metrics.map((m) => `Δ ${m.replace(/^delta-/, '')}`)],
          rows: uniq(versus.map((r) => r.arm)).map((arm) => [
            arm,
            ...metrics.map((m) => csvCell(at(arm, m), 3, true)),
          ]),
        }),
        await figure(chart, renderer),
      ),
    );
  }
  const hospitalRows = rows.filter((r) => r.scope === 'hospital');
  const names = new Map((files.example?.files.scenario.hospitals ?? []).map((h) => [h.id, h.name ?? h.id]));
  const hospitalName = (id: string): string => names.get(id) ?? id;
  if (hospitalRows.length > 0) {
    const at = lookup(rows, 'hospital');
    const hospitals = uniq(hospitalRows.map((r) => r.hospital));
    const metrics = uniq(hospitalRows.map((r) => r.metric));
    const charts = metrics
      .filter((m) => !isSubgroup(m))
      .map((m) =>
        intervalChart({
          key: `bench-hospital-${m}`,
          title: `Final ${metricLabel(m)} per hospital`,
          caption: `Per hospital and arm, the mean over seeds of the final ${metricLabel(m)} on that hospital’s held-out patients, with its 95% interval.`,
          x: metricLabel(m),
          category: 'hospital',
          group: 'arm',
          rows: intervalRows(
            hospitalRows.filter((r) => r.metric === m),
            (r) => hospitalName(r.hospital),
            (r) => armLabel(r.arm, r.kind),
          ),
          unitInterval: unitMetric(m),
        }),
      );
    sections.push(
      section(
        'hospitals',
        'Per hospital',
        table({
          columns: ['hospital', 'arm', ...metrics],
          rows: hospitals.flatMap((h) =>
            arms.map(({ arm, kind }) => [
              hospitalName(h),
              armLabel(arm, kind),
              ...metrics.map((m) => csvCell(at(arm, m, h))),
            ]),
          ),
        }),
        await figures(charts, renderer),
      ),
    );
  }
  const curves = curveCharts(files);
  if (curves.length > 0) sections.push(section('curves', 'Learning curves', await figures(curves, renderer)));
  const tuning = rows.filter((r) => r.scope.startsWith('tuning'));
  if (tuning.length > 0)
    sections.push(
      section(
        'tuning',
        'Grids settled on tuning seeds',
        table({
          columns: ['grid', 'candidate', 'by', 'mean ± 95% CI on the tuning seeds', 'chosen'],
          rows: tuning.map((r) => [
            r.hospital,
            r.arm,
            r.metric,
            csvCell(r),
            r.scope === 'tuning-chosen' ? '✓' : '',
          ]),
        }),
      ),
    );
  const unknown = rows.filter((r) => !KNOWN_SCOPES.has(r.scope));
  if (unknown.length > 0)
    sections.push(
      section(
        'other-rows',
        'Other rows of bench.csv',
        table({
          columns: ['arm', 'scope', 'hospital', 'metric', 'value'],
          rows: unknown.map((r) => [r.arm, r.scope, r.hospital, r.metric, csvCell(r)]),
        }),
      ),
    );
  if (files.example) {
    const { arm, seed, files: run } = files.example;
    sections.push(
      section(
        'federation',
        `One federation in full: ${arm}, seed ${seed}`,
        html`<p class="muted">
          Every arm and seed runs the same hospitals; this is the first run of the first arm, from
          ${arm}/seed-${String(seed)}.
        </p>`,
        scenarioSection(run.scenario, run.manifest),
        html`<h3>Identity</h3>`,
        identityTable(run),
        html`<h3>What crossed which border</h3>`,
        trafficSection(run.scenario, run.manifest, run.crossings, atlas, 'bench'),
      ),
    );
  }
  sections.push(
    section(
      'files',
      'Files behind this report',
      table({
        columns: ['file', 'bytes', 'SHA-256'],
        rows: files.files.map((f) => [
          f.path,
          { text: integer(f.bytes), numeric: true },
          { text: html`<code>${f.sha256}</code>` },
        ]),
        className: 'files',
      }),
    ),
  );
  const name = files.example?.files.scenario.name ?? 'bench';
  const title = `${name} bench`;
  const strategyArms = arms.filter((a) => a.kind === 'strategy').map((a) => a.arm);
  return {
    title,
    body: html`<header>
        <p class="kicker">fedmed bench report</p>
        <h1>${title}</h1>
        <p class="lede">
          ${integer(strategyArms.length)} strategy arms
          (${strategyArms.join(', ')})${arms.length > strategyArms.length ? ` and ${arms.length - strategyArms.length} baselines` : ''}${seeds.length > 0 ? ` over seeds ${seeds.join(', ')}` : ''}.
        </p>
      </header>
      ${sections}`,
  };
}
