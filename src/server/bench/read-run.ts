import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metrics } from '../../protocol/messages.ts';
import type { CountryMatrix } from '../outputs/country-matrix.ts';
import type { BenchRun } from './types.ts';
import { auditBenchMetrics, type StoredAudit } from './audit-metrics.ts';

interface StoredRound {
  round: number;
  clock?: { startSeconds: number; seconds: number };
  evaluate: { metrics: Metrics; hospitals: Record<string, { metrics: Metrics }> };
  privacy?: { differentialPrivacy?: { epsilon: number } };
}

/** The ε a DP run has spent after a round, as the bench reports it beside the federation's metrics. */
export const DP_EPSILON_METRIC = 'global_dp_epsilon';

/** A round's federation metrics, with the ε spent so far when the run has differential privacy. */
function roundMetrics(r: StoredRound): Metrics {
  const epsilon = r.privacy?.differentialPrivacy?.epsilon;
  return epsilon === undefined ? r.evaluate.metrics : { ...r.evaluate.metrics, [DP_EPSILON_METRIC]: epsilon };
}

interface StoredBaseline {
  metrics: Metrics;
  hospitals: Record<string, { metrics: Metrics }>;
}

/** What a bench needs from a run folder's manifest to decide whether the run can be reused. */
export interface StoredManifest {
  readonly scenarioSha256: string;
  readonly status: string;
  readonly wallSeconds: number;
  /** Absent in manifests written before fedmed timed each part of a run. */
  readonly seconds?: { federation: number; localOnly?: number; pooled?: number };
  readonly bytes: { toHospitals: number; toCoordinator: number; crossBorder: number };
}

/** The manifest of a finished run folder, or undefined when there is none. */
export function readManifest(dir: string): StoredManifest | undefined {
  const file = join(dir, 'manifest.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as StoredManifest) : undefined;
}

const metricsOf = (hospitals: Record<string, { metrics: Metrics }>) =>
  Object.fromEntries(Object.entries(hospitals).map(([id, h]) => [id, h.metrics]));

/**
 * The bench view of a run folder written by `fedmed run`: the strategy's learning curve and final metrics,
 * and any baselines it ran, each as a {@link BenchRun}. A run just made and one found on disk read the same.
 */
export function readBenchRuns(dir: string, arm: string, seed: number): BenchRun[] {
  const manifest = readManifest(dir);
  if (manifest === undefined) throw new Error(`${dir}: no manifest.json`);
  const rounds = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as StoredRound);
  const last = rounds[rounds.length - 1];
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as {
    localOnly?: StoredBaseline;
    pooled?: StoredBaseline;
    audit?: StoredAudit;
    borders?: Record<string, { messages: number }>;
    countryMatrix?: CountryMatrix;
  };
  const metrics = last ? roundMetrics(last) : {};
  const runs: BenchRun[] = [
    {
      arm,
      seed,
      kind: 'strategy',
      curve: rounds.map((r) => ({
        round: r.round,
        metrics: roundMetrics(r),
        ...(r.clock === undefined ? {} : { simulatedSeconds: r.clock.startSeconds + r.clock.seconds }),
      })),
      final: {
        metrics: summary.audit === undefined ? metrics : { ...metrics, ...auditBenchMetrics(summary.audit) },
        hospitals: last ? metricsOf(last.evaluate.hospitals) : {},
      },
      bytes: {
        total: manifest.bytes.toHospitals + manifest.bytes.toCoordinator,
        crossBorder: manifest.bytes.crossBorder,
        ...(summary.borders === undefined
          ? {}
          : { crossBorderMessages: Object.values(summary.borders).reduce((s, b) => s + b.messages, 0) }),
      },
      seconds: manifest.seconds?.federation ?? manifest.wallSeconds,
      ...(summary.countryMatrix === undefined ? {} : { countryMatrix: summary.countryMatrix }),
    },
  ];
  for (const [name, b, seconds] of [
    ['local-only', summary.localOnly, manifest.seconds?.localOnly],
    ['pooled', summary.pooled, manifest.seconds?.pooled],
  ] as const) {
    if (b === undefined) continue;
    runs.push({
      arm: name,
      seed,
      kind: 'baseline',
      curve: [],
      final: { metrics: b.metrics, hospitals: metricsOf(b.hospitals) },
      bytes: { total: 0, crossBorder: 0 },
      seconds: seconds ?? 0,
    });
  }
  return runs;
}
