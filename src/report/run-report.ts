import { headlineMetrics, type OutputHead } from '../protocol/outcome.ts';
import type { Topology } from 'topojson-specification';
import { countryName } from './atlas.ts';
import { countryMatrixSection } from './country-matrix-section.ts';
import type { Chart } from './charts.ts';
import type { ChartRenderer } from './chart-renderer.ts';
import { figure, figures, section } from './figure.ts';
import { exact, integer, metric as formatMetric } from './format.ts';
import { genericValue } from './generic.ts';
import { html, table, type Cell, type Html } from './html.ts';
import { isSubgroup, metricLabel } from './metric-names.ts';
import type { RunFiles, SummaryFile } from './run-files.ts';
import {
  eventsChart,
  extraRoundCharts,
  federationCurve,
  finalByHospital,
  hospitalCurve,
  reportedMetrics,
  trainingCurve,
} from './run-metrics.ts';
import { hospitalLabel, scenarioSection } from './scenario-section.ts';
import { bytesChart, trafficSection } from './traffic-section.ts';

/** A report's title and the HTML of its body. */
export interface ReportBody {
  readonly title: string;
  readonly body: Html;
}

/** The run's identity: what a reader needs to reproduce it and to check the files. */
export function identityTable(files: RunFiles): Html {
  const m = files.manifest;
  const rows: [string, string][] = [
    ['status', `${m.status}${m.stopReason ? `: ${m.stopReason}` : ''}`],
    ['rounds completed', `${integer(m.roundsCompleted)} of ${integer(files.scenario.rounds)}`],
    ['seed', String(m.seed)],
    ['scenario SHA-256', m.scenarioSha256],
    ['final model SHA-256', m.finalModelSha256],
    ['backend', m.backend],
    ['fedmed', m.fedmed],
  ];
  if (m.node) rows.push(['Node', m.node]);
  if (m.tfjs) rows.push(['TensorFlow.js', m.tfjs]);
  if (m.platform) rows.push(['platform', m.platform]);
  if (m.workers)
    rows.push([
      'worker threads',
      `${m.workers.started} started (${m.workers.requested} requested); the result does not depend on them`,
    ]);
  if (m.startedAt) rows.push(['started (UTC, as recorded)', m.startedAt]);
  if (m.wallSeconds !== undefined) rows.push(['wall-clock seconds', m.wallSeconds.toFixed(1)]);
  return html`<table class="identity">
    <tbody>
      ${rows.map(
        ([k, v]) =>
          html`<tr>
            <th>${k}</th>
            <td data-field="${k}">${v}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

function finalTable(files: RunFiles): Html {
  const { scenario, summary, rounds } = files;
  const last = rounds[rounds.length - 1];
  const federated = summary?.federated ?? last?.evaluate;
  const models: [string, SummaryFile['localOnly']][] = [
    ['federation', federated ?? undefined],
    ['local-only', summary?.localOnly],
    ['pooled †', summary?.pooled],
  ];
  const present = models.filter(([, e]) => e !== undefined) as [
    string,
    NonNullable<SummaryFile['localOnly']>,
  ][];
  const metrics = [
    ...new Set(present.flatMap(([, e]) => Object.keys(e.metrics)).filter((m) => !isSubgroup(m))),
  ];
  const order = [
    'auroc',
    'auprc',
    'accuracy',
    'loss',
    'global_auroc',
    'global_auprc',
    'brier',
    'ece',
    'sensitivity',
    'specificity',
  ];
  metrics.sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const scopes: [
    string,
    string,
    (e: NonNullable<SummaryFile['localOnly']>) => Record<string, number> | undefined,
  ][] = [
    ['all hospitals', 'overall', (e) => e.metrics],
    ...[...new Set(scenario.hospitals.map((h) => h.country))].map(
      (
        c,
      ): [
        string,
        string,
        (e: NonNullable<SummaryFile['localOnly']>) => Record<string, number> | undefined,
      ] => [countryName(c), `country:${c}`, (e) => e.countries[c]?.metrics],
    ),
    ...scenario.hospitals.map(
      (
        h,
      ): [
        string,
        string,
        (e: NonNullable<SummaryFile['localOnly']>) => Record<string, number> | undefined,
      ] => [hospitalLabel(h), `hospital:${h.id}`, (e) => e.hospitals[h.id]?.metrics],
    ),
  ];
  const rows: Cell[][] = scopes.flatMap(([label, scope, of]) =>
    present.map(([model, e]): Cell[] => [
      label,
      model,
      ...metrics.map((m): Cell => {
        const v = of(e)?.[m];
        return v === undefined
          ? '—'
          : {
              text: formatMetric(v),
              numeric: true,
              attrs: { 'data-scope': scope, 'data-model': model, 'data-metric': m, 'data-value': exact(v) },
            };
      }),
    ]),
  );
  return table({ columns: ['who', 'model', ...metrics.map(metricLabel)], rows, className: 'final' });
}

function modelTable(files: RunFiles): Html {
  const spec = files.modelSpec;
  if (spec === undefined) return html`<p class="muted">The folder has no model/spec.json.</p>`;
  return html`<p>
      ${integer(spec.length)} parameters in one flat little-endian float32 vector (model/parameters.f32),
      SHA-256 <code>${spec.sha256 ?? files.manifest.finalModelSha256}</code>; also in TensorFlow.js format
      under model/tfjs/.
    </p>
    ${table({
      columns: ['tensor', 'shape'],
      rows: spec.tensors.map((t) => [t.name, t.shape.join(' × ')]),
    })}`;
}

function filesTable(files: RunFiles): Html {
  return table({
    columns: ['file', 'bytes', 'SHA-256'],
    rows: files.files.map((f) => [
      f.path,
      { text: integer(f.bytes), numeric: true },
      { text: html`<code>${f.sha256}</code>` },
    ]),
    className: 'files',
  });
}

/** The body of a run's report: every section whose data the folder holds. */
export async function runReportBody(
  files: RunFiles,
  atlas: Topology,
  renderer: ChartRenderer,
): Promise<ReportBody> {
  const { scenario, manifest, rounds, crossings, summary } = files;
  const p = 'run';
  const { primary, more } = reportedMetrics(rounds);
  const bytes = bytesChart(`${p}-bytes`, rounds);
  const curves = primary.map((m) => federationCurve(p, m, rounds, summary));
  const perHospital = primary
    .map((m) => hospitalCurve(p, m, rounds, scenario))
    .filter((c): c is Chart => c !== undefined);
  const moreCurves = more.map((m) => federationCurve(p, m, rounds, summary));
  const training = trainingCurve(p, rounds);
  const finals = headlineMetrics(recordedHead(scenario))
    .map((m) => finalByHospital(p, m, scenario, summary, rounds[rounds.length - 1]))
    .filter((c): c is Chart => c !== undefined);
  const events = eventsChart(p, rounds, crossings, scenario);
  const extras = extraRoundCharts(p, rounds);
  // Every chart starts drawing now, on the chart threads, while this thread draws the map.
  renderer.start(
    [
      bytes,
      ...curves,
      training,
      ...perHospital,
      ...moreCurves,
      ...finals,
      events,
      ...extras.map((e) => e.chart),
    ].filter((c): c is Chart => c !== undefined),
  );
  const sections: Html[] = [];
  sections.push(
    section(
      'scenario',
      'The scenario',
      scenarioSection(scenario, manifest),
      html`<h3>Identity</h3>`,
      identityTable(files),
    ),
  );
  sections.push(
    section(
      'traffic',
      'What crossed which border',
      trafficSection(scenario, manifest, crossings, atlas, p),
      ...(bytes ? [await figure(bytes, renderer)] : []),
    ),
  );
  sections.push(
    section(
      'learning',
      'Learning, round by round',
      ...(rounds.length === 0 ? [html`<p class="muted">The run recorded no round.</p>`] : []),
      await figures(training ? [...curves, training] : curves, renderer),
      ...(perHospital.length > 0
        ? [
            html`<details class="more" id="per-hospital">
              <summary>Per hospital</summary>
              ${await figures(perHospital, renderer)}
            </details>`,
          ]
        : []),
      ...(moreCurves.length > 0
        ? [
            html`<details class="more" id="more-metrics">
              <summary>More metrics (${more.join(', ')})</summary>
              ${await figures(moreCurves, renderer)}
            </details>`,
          ]
        : []),
    ),
  );
  sections.push(
    section('final', 'Final model against the baselines', finalTable(files), await figures(finals, renderer)),
  );
  const matrix = countryMatrixSection(summary);
  if (matrix) sections.push(section('countries', 'What joining buys each country', matrix));
  sections.push(
    section(
      'events',
      'Rejected replies, failures and faults',
      events
        ? await figure(events, renderer)
        : html`<p class="ok" data-events="0">
            No reply was rejected and no hospital failed in ${integer(rounds.length)} rounds.
          </p>`,
    ),
  );
  for (const extra of extras)
    sections.push(section(`extra-${extra.field}`, extra.title, await figure(extra.chart, renderer)));
  if (files.compliance !== undefined)
    sections.push(
      section(
        'compliance',
        'Compliance',
        html`<p>As recorded in compliance.json:</p>`,
        genericValue(files.compliance),
      ),
    );
  sections.push(section('model', 'The final model', modelTable(files)));
  sections.push(
    section(
      'files',
      'Files behind this report',
      html`<p>Every file of the run folder with its SHA-256, so the report can be checked against them.</p>`,
      filesTable(files),
    ),
  );
  const title = `${scenario.name}, seed ${manifest.seed}`;
  return {
    title,
    body: html`<header>
        <p class="kicker">fedmed run report</p>
        <h1>${title}</h1>
        ${scenario.description ? html`<p class="lede">${scenario.description}</p>` : ''}
        <p class="status ${manifest.status === 'completed' ? 'ok' : 'bad'}">
          ${manifest.status}: ${integer(manifest.roundsCompleted)} rounds, strategy
          ${String(manifest.strategy.name ?? scenario.strategy.name ?? '')}, backend ${manifest.backend}
        </p>
      </header>
      ${sections}`,
  };
}

/** The outcome's kind as the run's scenario.json records it (a file: anything unexpected reads as binary). */
function recordedHead(scenario: Record<string, unknown>): OutputHead {
  const data = scenario.data as { outcome?: { type?: unknown; classes?: unknown } } | undefined;
  const type = data?.outcome?.type;
  if (type === 'multiclass' && Array.isArray(data?.outcome?.classes))
    return { kind: 'multiclass', classes: data.outcome.classes.length };
  return type === 'continuous' ? { kind: 'continuous' } : { kind: 'binary' };
}
