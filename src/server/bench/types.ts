import type { CountryMatrix } from '../outputs/country-matrix.ts';

/** Whether a run trained a federation with a strategy or a baseline beside it. */
export type BenchKind = 'strategy' | 'baseline';

/** One point of a learning curve: the aggregated evaluation after a round. */
export interface BenchCurvePoint {
  readonly round: number;
  /** Example-weighted means of the hospitals' held-out metrics; an undefined metric is absent. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Simulated seconds at the round's end, when the scenario has a virtual clock. */
  readonly simulatedSeconds?: number;
}

/**
 * One finished run of a bench, as the runner hands it to the reporting module: one strategy (or baseline)
 * with one seed. Metrics that a run could not compute are absent, never NaN; non-finite values are ignored.
 */
export interface BenchRun {
  /** Strategy name (`fedavg`, `fedprox`, …) or, for baselines, `local-only` or `pooled`. */
  readonly arm: string;
  readonly seed: number;
  readonly kind: BenchKind;
  /** Aggregated evaluation per round, in any order; empty for baselines. */
  readonly curve: readonly BenchCurvePoint[];
  readonly final: {
    /** Aggregated (example-weighted) metrics of the final model. */
    readonly metrics: Readonly<Record<string, number>>;
    /** Hospital id → that hospital's held-out metrics of the final model. */
    readonly hospitals: Readonly<Record<string, Readonly<Record<string, number>>>>;
  };
  /**
   * Bytes over the whole run, and the part of them that crossed a country border; with the messages that
   * crossed one, when the run folder records traffic per border.
   */
  readonly bytes: {
    readonly total: number;
    readonly crossBorder: number;
    readonly crossBorderMessages?: number;
  };
  /** The run's country matrix, when it ran the country-only baseline. */
  readonly countryMatrix?: CountryMatrix;
  /** Wall-clock seconds of the run. */
  readonly seconds: number;
}
