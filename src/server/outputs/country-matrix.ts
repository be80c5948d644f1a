import type { RunResult } from '../coordinator.ts';
import type { Crossing } from '../ledger.ts';
import type { Metrics } from '../../protocol/messages.ts';

/** One model's row of the matrix: its metric in each country's held-out patients (null: not scored there). */
export interface MatrixRow {
  /** `KR only`, `joint`, `local-only`, `pooled`. */
  readonly trainedOn: string;
  readonly values: Readonly<Record<string, number | null>>;
}

/** Trained on × evaluated on: what each model scores at each country's hospitals. */
export interface CountryMatrix {
  /** The metric compared: auroc, auroc_macro (multi-class) or r2 (regression). */
  readonly metric: string;
  /** Countries whose held-out patients score each model (columns). */
  readonly evaluatedOn: readonly string[];
  readonly rows: readonly MatrixRow[];
}

/** What the matrix is made from: each model's per-country means. */
export interface MatrixSources {
  readonly joint?: Readonly<Record<string, { readonly metrics: Metrics }>>;
  readonly countryOnly?: Readonly<Record<string, Readonly<Record<string, { readonly metrics: Metrics }>>>>;
  readonly localOnly?: Readonly<Record<string, { readonly metrics: Metrics }>>;
  readonly pooled?: Readonly<Record<string, { readonly metrics: Metrics }>>;
}

const METRICS = ['auroc', 'auroc_macro', 'r2'];

/**
 * The country matrix of a run: each country-only model and the joint one scored at every country's hospitals,
 * and local-only (each hospital's own model at home) and pooled beside them; undefined without country-only.
 */
export function countryMatrix(s: MatrixSources): CountryMatrix | undefined {
  if (s.countryOnly === undefined || s.joint === undefined) return undefined;
  const evaluatedOn = Object.keys(s.joint).sort();
  const first = Object.values(s.joint)[0]?.metrics ?? {};
  const metric = METRICS.find((m) => first[m] !== undefined) ?? 'auroc';
  const row = (trainedOn: string, by: Readonly<Record<string, { readonly metrics: Metrics }>>) => ({
    trainedOn,
    values: Object.fromEntries(evaluatedOn.map((c) => [c, by[c]?.metrics[metric] ?? null])),
  });
  return {
    metric,
    evaluatedOn,
    rows: [
      ...Object.keys(s.countryOnly)
        .sort()
        .map((c) => row(`${c} only`, s.countryOnly![c]!)),
      row('joint', s.joint),
      ...(s.localOnly === undefined ? [] : [row('local-only', s.localOnly)]),
      ...(s.pooled === undefined ? [] : [row('pooled', s.pooled)]),
    ],
  };
}

/** Bytes and messages that crossed one border in one direction. */
export interface BorderTraffic {
  readonly bytes: number;
  readonly messages: number;
}

/**
 * The federation's traffic across each border, by direction (`CN→KR`): a request goes from its receiver's peer
 * (the coordinator's site, or a hospital's country aggregator) to the worker's country, a reply the other way.
 */
export function borderTraffic(entries: readonly Crossing[], site: string): Record<string, BorderTraffic> {
  const out = new Map<string, { bytes: number; messages: number }>();
  for (const e of entries) {
    if (e.purpose !== 'federation' || !e.crossesBorder || e.sent === false) continue;
    const far = e.peer?.country ?? site;
    const key = e.direction === 'to-hospital' ? `${far}→${e.country}` : `${e.country}→${far}`;
    const t = out.get(key) ?? { bytes: 0, messages: 0 };
    t.bytes += e.bytes;
    t.messages++;
    out.set(key, t);
  }
  return Object.fromEntries([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The country matrix of a finished run (see {@link countryMatrix}). */
export function runCountryMatrix(result: RunResult): CountryMatrix | undefined {
  return countryMatrix({
    ...(result.final === undefined ? {} : { joint: result.final.evaluate.countries }),
    ...(result.countryOnly === undefined
      ? {}
      : {
          countryOnly: Object.fromEntries(
            Object.entries(result.countryOnly.countries).map(([c, m]) => [c, m.evaluatedOn]),
          ),
        }),
    ...(result.localOnly === undefined ? {} : { localOnly: result.localOnly.countries }),
    ...(result.pooled === undefined ? {} : { pooled: result.pooled.countries }),
  });
}
