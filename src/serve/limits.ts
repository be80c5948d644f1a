import type { Scenario } from '../scenario/schema.ts';
import type { FieldIssue } from './events.ts';

/**
 * What one federation started from the dashboard may ask of the machine. The page is reachable by anyone who
 * can reach the server, so an upload is treated as hostile: a workshop demo needs nothing near these, and a
 * scenario past them is for `fedmed run`.
 */
export const DASHBOARD_LIMITS = {
  /** Largest request body the server parses (an uploaded scenario with the page's choices). */
  bodyBytes: 256 * 1024,
  rounds: 500,
  hospitals: 16,
  patientsPerHospital: 50_000,
  patients: 200_000,
  localEpochs: 20,
  /** Widest hidden layer of an MLP, dense layer of a CNN. */
  width: 256,
  /** Most filters in a CNN's conv block. */
  filters: 64,
  /** Largest generated image side, in pixels. */
  imageSize: 64,
  faults: 64,
  /** Characters of a display text (scenario description, a hospital's or the coordinator's name). */
  text: 2000,
} as const;

const L = DASHBOARD_LIMITS;

/**
 * What the dashboard refuses in a scenario the schema accepted, by JSON path: work past {@link DASHBOARD_LIMITS},
 * and, checked again on the parsed scenario, anything that would read or write the machine's files (a custom
 * strategy module, a hospital's own files, a log folder, a sweep's folders) or hold a worker thread until its
 * guard fires (the hang fault).
 */
export function dashboardIssues(s: Scenario): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const most = (path: string, value: number, max: number, what: string) => {
    if (value > max)
      issues.push({
        path,
        message: `expected at most ${max} ${what} on the dashboard (fedmed run takes more)`,
      });
  };
  most('$.rounds', s.rounds, L.rounds, 'rounds');
  most('$.hospitals', s.hospitals.length, L.hospitals, 'hospitals');
  s.hospitals.forEach((h, i) => {
    most(`$.hospitals[${i}].patients`, h.patients, L.patientsPerHospital, 'patients per hospital');
    most(`$.hospitals[${i}].name`, h.name?.length ?? 0, L.text, 'characters');
    if (h.source.kind !== 'generate')
      issues.push({
        path: `$.hospitals[${i}].source.kind`,
        message: 'expected "generate": the dashboard runs generated data only',
      });
  });
  most(
    '$.hospitals',
    s.hospitals.reduce((n, h) => n + h.patients, 0),
    L.patients,
    'patients in all',
  );
  most('$.description', s.description?.length ?? 0, L.text, 'characters');
  most('$.coordinator.name', s.coordinator.name?.length ?? 0, L.text, 'characters');
  most('$.training.localEpochs', s.training.localEpochs, L.localEpochs, 'local epochs');
  if (s.model.kind === 'mlp')
    s.model.hidden.forEach((w, i) => most(`$.model.hidden[${i}]`, w, L.width, 'units'));
  if (s.model.kind === 'cnn') {
    s.model.filters.forEach((f, i) => most(`$.model.filters[${i}]`, f, L.filters, 'filters'));
    most('$.model.dense', s.model.dense, L.width, 'units');
  }
  if (s.data.kind === 'synthetic-imaging') most('$.data.size', s.data.size, L.imageSize, 'pixels a side');
  most('$.faults', s.faults.length, L.faults, 'faults');
  s.faults.forEach((f, i) => {
    if (f.behaviour === 'hang')
      issues.push({
        path: `$.faults[${i}].behaviour`,
        message: 'the hang fault holds a worker thread until its guard fires; run it with fedmed run',
      });
  });
  if (s.strategy.name === 'custom')
    issues.push({ path: '$.strategy.name', message: 'expected a built-in strategy on the dashboard' });
  if (s.diagnostics.hospitalLogDir !== undefined)
    issues.push({ path: '$.diagnostics.hospitalLogDir', message: 'expected no folder to write into' });
  if (s.sweep !== undefined)
    issues.push({ path: '$.sweep', message: 'expected one federation, not a sweep' });
  return issues;
}
