import type { Metrics, ScoreHistogram } from '../protocol/messages.ts';

/** Names of the federation-wide metrics computed from summed score histograms. */
export const GLOBAL_METRICS = ['global_auroc', 'global_auprc'] as const;

/**
 * AUROC and AUPRC over every hospital's held-out patients at once, from the hospitals' score histograms
 * summed bin by bin (in the order given; counts are integers, so the sum does not depend on it). Patients in
 * the same bin are ties: AUROC counts a tied case–control pair one half (Mann–Whitney), AUPRC interpolates
 * within each bin (see {@link averagePrecision}). A metric undefined for the
 * counts (AUROC without both classes, AUPRC without cases) is absent; no histograms give no metrics.
 */
export function globalRocMetrics(histograms: readonly ScoreHistogram[]): Metrics {
  const first = histograms[0];
  if (first === undefined) return {};
  const bins = first.positives.length;
  const pos = new Float64Array(bins);
  const neg = new Float64Array(bins);
  for (const h of histograms) {
    if (h.positives.length !== bins || h.negatives.length !== bins) {
      throw new RangeError(`score histograms of different lengths: ${bins} and ${h.positives.length}`);
    }
    for (let k = 0; k < bins; k++) {
      pos[k]! += h.positives[k]!;
      neg[k]! += h.negatives[k]!;
    }
  }
  const metrics: Metrics = {};
  const auroc = rankAuroc(pos, neg);
  if (auroc !== undefined) metrics.global_auroc = auroc;
  const auprc = averagePrecision(pos, neg);
  if (auprc !== undefined) metrics.global_auprc = auprc;
  return metrics;
}

function rankAuroc(pos: Float64Array, neg: Float64Array): number | undefined {
  let below = 0;
  let wins = 0;
  let cases = 0;
  for (let k = 0; k < pos.length; k++) {
    wins += pos[k]! * (below + 0.5 * neg[k]!);
    below += neg[k]!;
    cases += pos[k]!;
  }
  return cases > 0 && below > 0 ? wins / (cases * below) : undefined;
}

/**
 * Average precision with each bin's cases and controls taken as evenly interleaved: the bin's j-th case is
 * reached with j·(controls / cases) of its controls, the interpolation in PR space that Davis & Goadrich
 * (ICML 2006) show to be the right one. A bin of cases only adds exactly what unbinned scores would.
 */
function averagePrecision(pos: Float64Array, neg: Float64Array): number | undefined {
  let tp = 0;
  let fp = 0;
  let sum = 0;
  for (let k = pos.length - 1; k >= 0; k--) {
    const a = pos[k]!;
    const perCase = a > 0 ? neg[k]! / a : 0;
    for (let j = 1; j <= a; j++) sum += (tp + j) / (tp + fp + j * (1 + perCase));
    tp += a;
    fp += neg[k]!;
  }
  return tp > 0 ? sum / tp : undefined;
}
