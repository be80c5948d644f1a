import { join } from 'node:path';
import type { RunResult } from '../coordinator.ts';
import { writeFileAtomic } from './container.ts';
import { headlineMetrics, type OutputHead } from '../../protocol/outcome.ts';

/** One run of a sweep. */
export interface SweepRow {
  readonly value: number | string | boolean;
  readonly folder: string;
  readonly result: RunResult;
  readonly seconds: number;
}

/**
 * Writes sweep.md and sweep.csv: one row per value, the federated model beside its baselines, in the
 * headline metrics of the outcome's kind.
 */
export function writeSweepTables(
  out: string,
  parameter: string,
  rows: readonly SweepRow[],
  head: OutputHead,
): void {
  const METRICS = headlineMetrics(head);
  const columns = [
    parameter,
    'status',
    ...METRICS.map((m) => `federated ${m}`),
    ...METRICS.map((m) => `local-only ${m}`),
    ...METRICS.map((m) => `pooled ${m}`),
    'bytes across borders',
    'seconds',
    'folder',
  ];
  const cell = (v: number | undefined) => (v === undefined ? '' : v.toFixed(4));
  const body = rows.map((r) => [
    String(r.value),
    r.result.status,
    ...METRICS.map((m) => cell(r.result.final?.evaluate.metrics[m])),
    ...METRICS.map((m) => cell(r.result.localOnly?.metrics[m])),
    ...METRICS.map((m) => cell(r.result.pooled?.metrics[m])),
    String(r.result.bytes.crossBorder),
    r.seconds.toFixed(1),
    r.folder,
  ]);
  const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  writeFileAtomic(
    join(out, 'sweep.csv'),
    [columns, ...body].map((r) => r.map(csvCell).join(',')).join('\n') + '\n',
  );
  const md = [
    `| ${columns.join(' | ')} |`,
    `|${columns.map(() => '---').join('|')}|`,
    ...body.map((r) => `| ${r.join(' | ')} |`),
    '',
    "Metrics are example-weighted means of per-hospital metrics on each hospital's held-out patients. " +
      "The pooled oracle trains on every hospital's records together: a sovereignty violation kept for comparison.",
  ];
  writeFileAtomic(join(out, 'sweep.md'), md.join('\n') + '\n');
}
