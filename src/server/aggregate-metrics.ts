import type { Metrics, ScoreHistogram } from '../protocol/messages.ts';
import { globalClassRocMetrics, globalRocMetrics } from './global-roc.ts';
import { confusionMetrics, globalR2, summedConfusion } from './global-outcome-metrics.ts';
import { AGGREGATION_RULE, type AggregatedEvaluation } from './strategies/strategy.ts';

/** Separates a metric from its subgroup, as `auroc__female`; see `clinicalMetrics` in the client code. */
const SUBGROUP_SEPARATOR = '__';
/** Metrics aggregated as their largest value over the hospitals, not a mean. */
const WORST_CASE = ['dpsgd_epsilon'];
/** The metric that counts a subgroup's examples: `n__<group>`. */
const COUNT = 'n';

/** One reply's metrics and the examples behind them, with an evaluation's score histogram. */
type Reply = {
  readonly numExamples: number;
  readonly metrics: Metrics;
  readonly histogram?: ScoreHistogram;
  readonly confusion?: readonly number[];
  readonly classHistograms?: readonly ScoreHistogram[];
};

/**
 * Weighted mean of each metric over the replies that report it; a metric no reply reports is absent.
 * A subgroup metric `<m>__<g>` is weighted by the reply's `n__<g>` (its examples in that subgroup) when
 * the reply reports a non-negative `n__<g>`, otherwise by `numExamples` like every other metric; the
 * counts `n__<g>` themselves are summed. When every reply carries a score histogram, `global_auroc` and
 * `global_auprc` rank all their patients at once (see {@link globalRocMetrics}; for a multi-class outcome,
 * `global_auroc_macro` and `global_auroc_micro` from each class's histograms); when every reply carries a
 * confusion matrix, they are summed and scored as one, and continuous outcomes get `global_r2` (see
 * global-outcome-metrics.ts). Replies must come in a
 * fixed order (ascending hospital id) for the sums to be reproducible.
 */
export function weightedMetricMeans(replies: readonly Reply[]): AggregatedEvaluation {
  const sums = new Map<string, { weighted: number; weight: number }>();
  const counts = new Map<string, number>();
  let numExamples = 0;
  for (const r of replies) {
    numExamples += r.numExamples;
    for (const [name, value] of Object.entries(r.metrics)) {
      const cut = name.indexOf(SUBGROUP_SEPARATOR);
      if (cut >= 0 && name.slice(0, cut) === COUNT) {
        counts.set(name, (counts.get(name) ?? 0) + value);
        continue;
      }
      const weight = cut >= 0 ? subgroupWeight(r, name.slice(cut)) : r.numExamples;
      const s = sums.get(name) ?? { weighted: 0, weight: 0 };
      s.weighted += value * weight;
      s.weight += weight;
      sums.set(name, s);
    }
  }
  const entries: [string, number][] = [...counts];
  // A privacy loss is the worst hospital's, never a mean that would under-report it.
  for (const name of WORST_CASE) {
    const values = replies.flatMap((r) => (r.metrics[name] === undefined ? [] : [r.metrics[name]]));
    if (values.length > 0) sums.set(name, { weighted: Math.max(...values), weight: 1 });
  }
  for (const [name, s] of sums) if (s.weight > 0) entries.push([name, s.weighted / s.weight]);
  const histograms = replies.flatMap((r) => (r.histogram === undefined ? [] : [r.histogram]));
  if (histograms.length === replies.length) entries.push(...Object.entries(globalRocMetrics(histograms)));
  const perClass = replies.flatMap((r) => (r.classHistograms === undefined ? [] : [r.classHistograms]));
  if (perClass.length === replies.length) entries.push(...Object.entries(globalClassRocMetrics(perClass)));
  const confusion = summedConfusion(replies);
  if (confusion !== undefined) entries.push(...Object.entries(confusionMetrics(confusion)));
  entries.push(...Object.entries(globalR2(replies)));
  const metrics: Metrics = Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    metrics,
    numExamples,
    aggregation: AGGREGATION_RULE,
    ...(confusion === undefined ? {} : { confusion }),
  };
}

/** The same means within each country, countries in sorted order; replies in a fixed order as above. */
export function perCountry(
  replies: readonly (Reply & { readonly country: string })[],
): Record<string, AggregatedEvaluation> {
  const byCountry = new Map<string, Reply[]>();
  for (const r of replies) {
    const list = byCountry.get(r.country) ?? [];
    list.push(r);
    byCountry.set(r.country, list);
  }
  return Object.fromEntries(
    [...byCountry.keys()].sort().map((country) => [country, weightedMetricMeans(byCountry.get(country)!)]),
  );
}

function subgroupWeight(reply: Reply, suffix: string): number {
  const count = reply.metrics[COUNT + suffix];
  return count !== undefined && count >= 0 ? count : reply.numExamples;
}
