import { rankAuroc } from '../common/attack-metrics.ts';
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

/**
 * Multi-class outcomes: `global_auroc_macro`, the mean over classes of each class's one-vs-rest AUROC over every
 * hospital's held-out patients at once (classes without both positives and negatives left out, as a
 * hospital's own `auroc_macro` does), and `global_auroc_micro` / `global_auprc_micro`, from every class's
 * histograms summed (each patient–class pair one example). `perReply` holds each hospital's K histograms.
 */
export function globalClassRocMetrics(perReply: readonly (readonly ScoreHistogram[])[]): Metrics {
  const first = perReply[0];
  if (first === undefined) return {};
  const classes = first.length;
  if (perReply.some((h) => h.length !== classes))
    throw new RangeError('class histograms of different class counts');
  const aurocs: number[] = [];
  for (let k = 0; k < classes; k++) {
    const auroc = globalRocMetrics(perReply.map((h) => h[k]!)).global_auroc;
    if (auroc !== undefined) aurocs.push(auroc);
  }
  const micro = globalRocMetrics(perReply.flat());
  const metrics: Metrics = {};
  if (aurocs.length > 0) metrics.global_auroc_macro = aurocs.reduce((a, b) => a + b, 0) / aurocs.length;
  if (micro.global_auroc !== undefined) metrics.global_auroc_micro = micro.global_auroc;
  if (micro.global_auprc !== undefined) metrics.global_auprc_micro = micro.global_auprc;
  return metrics;
}

/** Bins with at most this many cases sum their precisions term by term; larger ones in closed form. */
const EXACT_CASES = 4096;

/**
 * Average precision with each bin's cases and controls taken as evenly interleaved: the bin's j-th case is
 * reached with j·(controls / cases) of its controls, the interpolation in PR space that Davis & Goadrich
 * (ICML 2006) show to be the right one. A bin of cases only adds exactly what unbinned scores would. Work per
 * bin is bounded whatever the counts claim: see {@link binPrecisionSum}.
 */
function averagePrecision(pos: Float64Array, neg: Float64Array): number | undefined {
  let tp = 0;
  let fp = 0;
  let sum = 0;
  for (let k = pos.length - 1; k >= 0; k--) {
    const a = pos[k]!;
    if (a > 0) sum += binPrecisionSum(tp, tp + fp, a, 1 + neg[k]! / a);
    tp += a;
    fp += neg[k]!;
  }
  return tp > 0 ? sum / tp : undefined;
}

/**
 * Σ_{j=1..a} (tp + j) / (c + j·d): the precisions at a bin's a cases, entered after c patients. The first
 * {@link EXACT_CASES} terms are added one by one; the rest, where the terms are nearly flat, by Euler–Maclaurin
 * (integral, end-point and first-derivative corrections), so the work per bin is bounded and the result
 * accurate to rounding.
 */
function binPrecisionSum(tp: number, c: number, a: number, d: number): number {
  const m = Math.min(a, EXACT_CASES);
  let sum = 0;
  for (let j = 1; j <= m; j++) sum += (tp + j) / (c + j * d);
  if (a === m) return sum;
  const f = (x: number) => (tp + x) / (c + d * x);
  const df = (x: number) => (c - tp * d) / (c + d * x) ** 2;
  const integral = (a - m) / d + ((tp - c / d) / d) * Math.log1p((d * (a - m)) / (c + d * m));
  return sum + integral + (f(a) - f(m)) / 2 + (df(a) - df(m)) / 12;
}
