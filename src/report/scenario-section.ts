import { byText, integer } from './format.ts';
import { countryName } from './atlas.ts';
import { genericValue, scalarText } from './generic.ts';
import { html, table, type Cell, type Html } from './html.ts';
import type { HospitalFile, ManifestFile, ScenarioFile } from './run-files.ts';

/** Scenario fields this section describes in words; any other field is listed as it is. */
const DESCRIBED = new Set([
  '$schema',
  'name',
  'description',
  'seed',
  'rounds',
  'minClients',
  'backend',
  'coordinator',
  'data',
  'hospitals',
  'model',
  'training',
  'strategy',
  'evaluation',
  'baselines',
  'faults',
  'sweep',
]);

/** A hospital's name for people: its display name, else its id. */
export const hospitalLabel = (h: HospitalFile): string => h.name ?? h.id;

/** "key value, key value" of an object's scalar fields, keys sorted, `skip` left out. */
export function settings(o: Record<string, unknown>, skip: readonly string[] = []): string {
  return Object.keys(o)
    .filter((k) => !skip.includes(k) && o[k] !== undefined)
    .sort(byText)
    .map((k) => `${k} ${scalarText(o[k])}`)
    .join(', ');
}

function modelWords(model: Record<string, unknown>): string {
  const kind = String(model.kind ?? 'model');
  const names: Record<string, string> = {
    logistic: 'a logistic-regression model',
    mlp: 'a multi-layer perceptron',
    cnn: 'a small convolutional network',
  };
  const rest = settings(model, ['kind']);
  return `${names[kind] ?? `a ${kind} model`}${rest ? ` (${rest})` : ''}`;
}

function countriesWords(hospitals: readonly HospitalFile[]): string {
  const counts = new Map<string, number>();
  for (const h of hospitals) counts.set(h.country, (counts.get(h.country) ?? 0) + 1);
  return [...counts].map(([c, n]) => `${n} in ${countryName(c)}`).join(', ');
}

function partitionWords(data: Record<string, unknown>): string {
  const p = data.partition as Record<string, unknown> | undefined;
  const parts = [`${String(data.kind ?? 'data')}`];
  if (typeof data.testFraction === 'number')
    parts.push(`${data.testFraction} of each hospital's patients held out`);
  if (p)
    parts.push(`partition ${String(p.kind)}${settings(p, ['kind']) ? ` (${settings(p, ['kind'])})` : ''}`);
  if (typeof data.seed === 'number') parts.push(`patients pinned by data seed ${data.seed}`);
  if (data.harmonise !== undefined) parts.push(`EMR harmonisation ${scalarText(data.harmonise)}`);
  return parts.join('; ');
}

/** The scenario in words and the hospitals as a table; fields this report does not know are listed as they are. */
export function scenarioSection(s: ScenarioFile, manifest: ManifestFile | undefined): Html {
  const patients = s.hospitals.reduce((sum, h) => sum + h.patients, 0);
  const coordinator =
    s.coordinator.site === 'neutral'
      ? `at a neutral site${s.coordinator.name ? ` (${s.coordinator.name})` : ''}, so every message crosses a border`
      : `in ${countryName(s.coordinator.site)}${s.coordinator.name ? ` (${s.coordinator.name})` : ''}`;
  const strategy = manifest?.strategy ?? s.strategy;
  const citation = typeof strategy.citation === 'string' ? strategy.citation : undefined;
  const strategyText = `${String(strategy.name ?? s.strategy.name ?? 'a strategy')}${
    settings(strategy, ['name', 'citation']) ? ` (${settings(strategy, ['name', 'citation'])})` : ''
  }`;
  const t = s.training;
  const faults = s.faults;
  const privacy = (s as Record<string, unknown>).privacy;
  const other = Object.keys(s)
    .filter((k) => !DESCRIBED.has(k) && k !== 'privacy')
    .sort(byText);
  const words = html`<p class="words">
      ${integer(s.hospitals.length)} hospitals (${countriesWords(s.hospitals)}) hold ${integer(patients)}
      patients. The coordinator sits ${coordinator}. Together they train ${modelWords(s.model)} by
      <strong>${strategyText}</strong>${citation ? html` <span class="muted">(${citation})</span>` : ''} for
      ${integer(s.rounds)}
      rounds${s.minClients === undefined ? '' : `, each needing at least ${s.minClients} valid replies`}. In a
      round each hospital trains on its own patients (${settings(t) || 'default training'}) and returns only
      model parameters, example counts and named metrics.
    </p>
    <ul class="facts">
      <li><strong>Data:</strong> ${partitionWords(s.data)}.</li>
      <li><strong>Evaluation:</strong> ${settings(s.evaluation) || 'defaults'}.</li>
      <li>
        <strong>Baselines:</strong>
        ${s.baselines.length === 0 ? 'none' : s.baselines.join(', ')}${s.baselines.includes('pooled') ? ' (pooled moves every record to one place: a sovereignty violation, run only for comparison)' : ''}.
      </li>
      <li>
        <strong>Privacy:</strong>
        ${privacy === undefined ? 'no privacy mechanism configured' : genericValue(privacy)}
      </li>
      <li>
        <strong>Faults:</strong>
        ${faults.length === 0 ? 'none injected' : html`${integer(faults.length)} injected (test only): ${faults.map((f) => settings(f)).join('; ')}`}.
      </li>
    </ul>`;
  const hospitals = table({
    columns: ['hospital', 'id', 'country', 'patients', 'departs from its country’s profile in', 'records'],
    rows: s.hospitals.map((h): Cell[] => {
      const source = (h as Record<string, unknown>).source as Record<string, unknown> | undefined;
      return [
        { text: hospitalLabel(h), attrs: { 'data-hospital': h.id } },
        h.id,
        `${countryName(h.country)} (${h.country})`,
        { text: integer(h.patients), numeric: true, attrs: { 'data-value': String(h.patients) } },
        settings(h.cohort) || '—',
        `${String(source?.kind ?? 'generate')}${(h as Record<string, unknown>).emr ? ', own EMR schema' : ''}`,
      ];
    }),
  });
  const extra =
    other.length === 0
      ? html``
      : html`<h3>Other settings</h3>
          ${genericValue(Object.fromEntries(other.map((k) => [k, (s as Record<string, unknown>)[k]])))}`;
  return html`${words}${hospitals}${extra}`;
}
