import type { Metrics } from '../protocol/messages.ts';

/**
 * Federation-wide metrics of multi-class and continuous outcomes, computed by the coordinator from what each
 * hospital reported (its confusion counts; its mean squared error, target mean and variance), so that no
 * prediction leaves a hospital.
 */

/** One hospital's evaluation as far as these metrics need it. */
interface Part {
  readonly numExamples: number;
  readonly metrics: Metrics;
  readonly confusion?: readonly number[];
}

/** The K × K confusion counts summed over the parts (in their fixed order); undefined unless every part has them. */
export function summedConfusion(parts: readonly Part[]): number[] | undefined {
  if (parts.length === 0 || parts.some((p) => p.confusion === undefined)) return undefined;
  const sum = new Array<number>(parts[0]!.confusion!.length).fill(0);
  for (const p of parts) p.confusion!.forEach((v, i) => (sum[i]! += v));
  return sum;
}

/**
 * `global_accuracy`, `global_balanced_accuracy` (mean recall over the classes present) and `global_f1_macro`
 * of the summed confusion matrix (cells a hospital withheld as too small are not in it).
 */
export function confusionMetrics(confusion: readonly number[]): Metrics {
  const k = Math.round(Math.sqrt(confusion.length));
  let total = 0;
  let correct = 0;
  let recall = 0;
  let present = 0;
  let f1 = 0;
  let f1Classes = 0;
  for (let c = 0; c < k; c++) {
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      support += confusion[c * k + j]!;
      predicted += confusion[j * k + c]!;
    }
    const tp = confusion[c * k + c]!;
    total += support;
    correct += tp;
    if (support > 0) {
      recall += tp / support;
      present++;
    }
    if (support + predicted > 0) {
      f1 += (2 * tp) / (support + predicted);
      f1Classes++;
    }
  }
  if (total === 0) return {};
  return {
    global_accuracy: correct / total,
    global_balanced_accuracy: recall / present,
    global_f1_macro: f1 / f1Classes,
  };
}

/**
 * `global_r2`: 1 − SSE/SST over every hospital's held-out targets about their pooled mean, from each
 * hospital's `mse`, `target_mean` and `target_var` (SST = Σ nᵢ(varᵢ + (meanᵢ − mean)²)); absent unless every
 * part reports them and the targets vary.
 */
export function globalR2(parts: readonly Part[]): Metrics {
  if (parts.length === 0) return {};
  let n = 0;
  let sum = 0;
  let sse = 0;
  for (const p of parts) {
    const { mse, target_mean: mean, target_var: v } = p.metrics;
    if (mse === undefined || mean === undefined || v === undefined) return {};
    n += p.numExamples;
    sum += p.numExamples * mean;
    sse += p.numExamples * mse;
  }
  if (n === 0) return {};
  const pooledMean = sum / n;
  let sst = 0;
  for (const p of parts) {
    const d = p.metrics.target_mean! - pooledMean;
    sst += p.numExamples * (p.metrics.target_var! + d * d);
  }
  return sst > 0 ? { global_r2: 1 - sse / sst } : {};
}
