import { BenchInputError, finite } from './arms.ts';
import { lowerIsBetter, meanCi, type MeanCi } from './stats.ts';
import type { BenchRun } from './types.ts';

/** One candidate of a grid and its score on the tuning seeds. */
export interface CandidateScore {
  readonly label: string;
  /** Mean ± 95% CI of the selection metric's final value over the tuning seeds that report it. */
  readonly score?: MeanCi;
}

/** How one grid arm was settled: every candidate's score and the one chosen. */
export interface Selection {
  /** The arm as written, such as `fedprox:proximalMu=0.01|0.1|1`. */
  readonly arm: string;
  readonly metric: string;
  readonly seeds: readonly number[];
  readonly candidates: readonly CandidateScore[];
  /** Label of the candidate with the best mean (the lowest where lower is better, as for losses); the first on ties. */
  readonly chosen: string;
}

/**
 * Picks a grid arm's candidate from its runs on the tuning seeds by the mean final `metric` (highest; lowest
 * for losses, Brier score and calibration error). Throws {@link BenchInputError} when no candidate reports the metric.
 */
export function selectCandidate(
  arm: string,
  candidates: readonly string[],
  runs: readonly BenchRun[],
  metric: string,
  seeds: readonly number[],
): Selection {
  const lower = lowerIsBetter(metric);
  const scored: CandidateScore[] = candidates.map((label) => {
    const values = runs
      .filter((r) => r.arm === label)
      .map((r) => finite(r.final.metrics, metric))
      .filter((v): v is number => v !== undefined);
    return values.length === 0 ? { label } : { label, score: meanCi(values) };
  });
  let best: CandidateScore | undefined;
  for (const c of scored) {
    if (c.score === undefined) continue;
    if (
      best?.score === undefined ||
      (lower ? c.score.mean < best.score.mean : c.score.mean > best.score.mean)
    )
      best = c;
  }
  if (best === undefined) {
    throw new BenchInputError(`${arm}: no candidate reports ${metric} on the tuning seeds`, arm);
  }
  return { arm, metric, seeds, candidates: scored, chosen: best.label };
}
