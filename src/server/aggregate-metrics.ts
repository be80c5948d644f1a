import type { Metrics } from '../protocol/messages.ts';
import type { AggregatedEvaluation } from './strategies/strategy.ts';

/**
 * Example-weighted mean of each metric over the replies that report it; a metric no reply reports is
 * absent. Replies must come in a fixed order (ascending hospital id) for the sums to be reproducible.
 */
export function weightedMetricMeans(
  replies: readonly { readonly numExamples: number; readonly metrics: Metrics }[],
): AggregatedEvaluation {
  const sums = new Map<string, { weighted: number; weight: number }>();
  let numExamples = 0;
  for (const r of replies) {
    numExamples += r.numExamples;
    for (const [name, value] of Object.entries(r.metrics)) {
      const s = sums.get(name) ?? { weighted: 0, weight: 0 };
      s.weighted += value * r.numExamples;
      s.weight += r.numExamples;
      sums.set(name, s);
    }
  }
  const metrics: Metrics = {};
  for (const [name, s] of [...sums].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (s.weight > 0) metrics[name] = s.weighted / s.weight;
  }
  return { metrics, numExamples, aggregation: 'example-weighted mean of per-hospital metrics' };
}
