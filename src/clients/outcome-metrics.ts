import { MAX_METRICS, type Metrics } from '../protocol/messages.ts';
import { MAX_CLASS_METRICS } from '../protocol/metric-names.ts';
import type { OutputHead } from '../protocol/outcome.ts';
import type { ScoreHistogram } from '../protocol/messages.ts';
import { binaryMetrics, MetricsInputError, scoreHistogram } from './metrics.ts';

const EPS = 1e-7;

/** How multi-class metrics are scored: calibration bins, and the smallest cell a hospital reports. */
export interface MulticlassOptions {
  readonly calibrationBins: number;
  /** Confusion cells and per-class sensitivities of fewer examples are withheld (they could identify patients). */
  readonly minCellSize: number;
}

/** Multi-class metrics and the confusion matrix (true class by row, predicted class by column). */
export interface MulticlassResult {
  readonly metrics: Metrics;
  /** K × K counts, row by row; cells below the smallest reportable size are 0 (counted in `confusion_suppressed`). */
  readonly confusion: Uint32Array;
}

/**
 * Metrics of class probabilities (`n × K`, row by row) against class indices: `accuracy` (arg-max, the lowest
 * index among ties), `balanced_accuracy` (mean recall over the classes present), `auroc_macro` (mean one-vs-rest
 * AUROC over the classes present with both outcomes), `auroc_micro` (AUROC of every (example, class) pair),
 * `f1_macro` (mean F1 over the classes present or predicted), `loss` (mean −log p_true, clipped at 1e-7),
 * `top_label_ece` (Σ over equal-width bins of the top probability of (bin count / n)·|accuracy − mean top
 * probability|), `confusion_suppressed`, and per class k with at least `minCellSize` examples, up to the metric
 * cap, `n__class_k` and `sensitivity__class_k`. Absent, never NaN, when undefined.
 */
export function multiclassMetrics(
  labels: Float32Array,
  probs: Float32Array,
  classes: number,
  options: MulticlassOptions,
): MulticlassResult {
  const n = labels.length;
  if (probs.length !== n * classes) {
    throw new MetricsInputError('probs', undefined, `probs: expected ${n} × ${classes} class probabilities`);
  }
  const confusion = new Uint32Array(classes * classes);
  if (n === 0) return { metrics: {}, confusion };
  const bins = options.calibrationBins;
  const binCount = new Float64Array(bins);
  const binConf = new Float64Array(bins);
  const binHit = new Float64Array(bins);
  let lossSum = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (!(Number.isInteger(y) && y >= 0 && y < classes)) {
      throw new MetricsInputError('labels', i, `label at row ${i}: expected a class index below ${classes}`);
    }
    let best = 0;
    for (let k = 1; k < classes; k++) if (probs[i * classes + k]! > probs[i * classes + best]!) best = k;
    confusion[y * classes + best]!++;
    const top = probs[i * classes + best]!;
    const b = Math.min(bins - 1, Math.floor(top * bins));
    binCount[b]!++;
    binConf[b]! += top;
    if (best === y) binHit[b]!++;
    const p = probs[i * classes + y]!;
    lossSum -= Math.log(p < EPS ? EPS : p);
  }
  const support = (k: number) => {
    let s = 0;
    for (let j = 0; j < classes; j++) s += confusion[k * classes + j]!;
    return s;
  };
  const predicted = (k: number) => {
    let s = 0;
    for (let j = 0; j < classes; j++) s += confusion[j * classes + k]!;
    return s;
  };
  let correct = 0;
  let recallSum = 0;
  let present = 0;
  let f1Sum = 0;
  let f1Classes = 0;
  const aurocs: number[] = [];
  const perClass: [string, number][] = [];
  for (let k = 0; k < classes; k++) {
    const tp = confusion[k * classes + k]!;
    const s = support(k);
    const p = predicted(k);
    correct += tp;
    if (s > 0) {
      recallSum += tp / s;
      present++;
    }
    if (s > 0 || p > 0) {
      f1Sum += (2 * tp) / (s + p);
      f1Classes++;
    }
    if (s > 0 && s < n) {
      const auroc = binaryMetrics(oneVsRest(labels, k), column(probs, k, classes)).auroc;
      if (auroc !== undefined) aurocs.push(auroc);
    }
    if (s >= options.minCellSize && perClass.length < 2 * MAX_CLASS_METRICS) {
      perClass.push([`n__class_${k}`, s], [`sensitivity__class_${k}`, tp / s]);
    }
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (binCount[b]! > 0) ece += Math.abs(binHit[b]! - binConf[b]!) / n;
  const metrics: Metrics = {
    accuracy: correct / n,
    balanced_accuracy: recallSum / present,
    f1_macro: f1Sum / f1Classes,
    loss: lossSum / n,
    top_label_ece: ece,
  };
  if (aurocs.length > 0) metrics.auroc_macro = aurocs.reduce((a, b) => a + b, 0) / aurocs.length;
  const micro = binaryMetrics(
    oneHot(labels, classes),
    probs.map((p) => Math.min(1, Math.max(0, p))),
  ).auroc;
  if (micro !== undefined) metrics.auroc_micro = micro;
  let suppressed = 0;
  for (let c = 0; c < confusion.length; c++) {
    if (confusion[c]! > 0 && confusion[c]! < options.minCellSize) {
      suppressed += confusion[c]!;
      confusion[c] = 0;
    }
  }
  metrics.confusion_suppressed = suppressed;
  for (const [name, v] of perClass.slice(0, MAX_METRICS - Object.keys(metrics).length)) metrics[name] = v;
  return { metrics, confusion };
}

/**
 * Metrics of predicted values against continuous targets: `mse`, `mae`, `r2` (1 − SSE/SST about this set's own
 * mean; absent when the targets do not vary), and `target_mean` and `target_var` (population variance), with
 * which the coordinator computes the federation's R² about the pooled mean (`global_r2`).
 */
export function regressionMetrics(targets: Float32Array, predictions: Float32Array): Metrics {
  const n = targets.length;
  if (predictions.length !== n) {
    throw new MetricsInputError('probs', undefined, `predictions: expected ${n}, one per target`);
  }
  if (n === 0) return {};
  let sse = 0;
  let sae = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = predictions[i]! - targets[i]!;
    if (!Number.isFinite(e))
      throw new MetricsInputError('probs', i, `prediction at row ${i}: expected a finite value`);
    sse += e * e;
    sae += Math.abs(e);
    sum += targets[i]!;
  }
  const mean = sum / n;
  let sst = 0;
  for (let i = 0; i < n; i++) sst += (targets[i]! - mean) * (targets[i]! - mean);
  const metrics: Metrics = { mse: sse / n, mae: sae / n, target_mean: mean, target_var: sst / n };
  if (sst > 0) metrics.r2 = 1 - sse / sst;
  return metrics;
}

/** The mean training loss of predictions under `head`: binary cross-entropy, multi-class cross-entropy or MSE. */
export function meanLoss(head: OutputHead, y: Float32Array, predictions: Float32Array): number | undefined {
  if (head.kind === 'binary') return binaryMetrics(y, predictions).loss;
  if (head.kind === 'continuous') return regressionMetrics(y, predictions).mse;
  return multiclassMetrics(y, predictions, head.classes, { calibrationBins: 1, minCellSize: 1 }).metrics.loss;
}

/**
 * Each class's one-vs-rest score histogram: its examples are the positives, every other example a negative,
 * binned by the class's predicted probability as a binary score is (see `scoreHistogram`).
 */
export function classHistograms(
  labels: Float32Array,
  probs: Float32Array,
  classes: number,
  bins: number,
): ScoreHistogram[] {
  return Array.from({ length: classes }, (_, k) =>
    scoreHistogram(oneVsRest(labels, k), column(probs, k, classes), bins),
  );
}

function oneVsRest(labels: Float32Array, k: number): Float32Array {
  return labels.map((y) => (y === k ? 1 : 0));
}

function column(probs: Float32Array, k: number, classes: number): Float32Array {
  const out = new Float32Array(probs.length / classes);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, probs[i * classes + k]!));
  return out;
}

function oneHot(labels: Float32Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  labels.forEach((y, i) => (out[i * classes + y] = 1));
  return out;
}
