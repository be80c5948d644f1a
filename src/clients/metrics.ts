import {
  HISTOGRAM_LOGIT_RANGE,
  MAX_METRICS,
  type Metrics,
  type ScoreHistogram,
} from '../protocol/messages.ts';

import { rank, scratchFor, sortedClasses, type Ranking, type Scratch } from './score-ranking.ts';

const EPS = 1e-7;

/** Inputs that metrics cannot be computed from; names the row or option, never a patient value. */
export class MetricsInputError extends Error {
  override readonly name = 'MetricsInputError';
  constructor(
    readonly field: 'labels' | 'probs' | 'subgroups' | 'threshold' | 'calibrationBins',
    readonly row: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Metrics of predicted probabilities against 0/1 labels: `loss` (mean binary cross-entropy, probabilities
 * clipped to [1e-7, 1 − 1e-7]), `accuracy` (positive when p ≥ 0.5) and `auroc` (Mann–Whitney, ties count
 * one half). `auroc` is absent when the labels hold one class only; with no examples the result is empty.
 */
export function binaryMetrics(labels: Float32Array, probs: Float32Array): Metrics {
  const n = checkInputs(labels, probs);
  if (n === 0) return {};
  const { nPos, pos, neg } = byClass(labels, probs);
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    const y = labels[i]!;
    lossSum += crossEntropy(y, p);
    if (p >= 0.5 === (y === 1)) correct++;
  }
  const metrics: Metrics = { loss: lossSum / n, accuracy: correct / n };
  if (nPos > 0 && nPos < n) metrics.auroc = auroc(pos, neg);
  return metrics;
}

/** Metrics reported for each subgroup, as `<metric>__<group>`, besides the count `n__<group>`. */
export const SUBGROUP_METRICS = ['auroc', 'auprc', 'sensitivity', 'specificity', 'brier'] as const;
/** A metric reported per subgroup. */
export type SubgroupMetric = (typeof SUBGROUP_METRICS)[number];

/** Metrics {@link clinicalMetrics} reports over all examples. */
export const OVERALL_METRICS = [
  'loss',
  'accuracy',
  'auroc',
  'auprc',
  'sensitivity',
  'specificity',
  'brier',
  'ece',
] as const;

/** Most subgroups one call may report: 8 overall + 9 × (5 + 1) = 62 ≤ {@link MAX_METRICS}. */
export const MAX_SUBGROUPS = Math.floor(
  (MAX_METRICS - OVERALL_METRICS.length) / (SUBGROUP_METRICS.length + 1),
);

const SUBGROUP_NAME = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
const LONGEST_SUBGROUP_NAME = 32 - 2 - Math.max(...SUBGROUP_METRICS.map((m) => m.length));

/** How {@link clinicalMetrics} scores: decision threshold, calibration bins and optional subgroup masks. */
export interface ClinicalMetricsOptions {
  /** A prediction is positive when p ≥ threshold; must lie in (0, 1). */
  readonly threshold: number;
  /** Equal-width bins over [0, 1] for the expected calibration error; an integer ≥ 1. */
  readonly calibrationBins: number;
  /** Group name → 0/1 mask over the examples, e.g. `female`, `age_65plus`. */
  readonly subgroups?: Readonly<Record<string, Uint8Array>>;
}

/**
 * Clinical metrics of predicted probabilities against 0/1 labels. Over all examples: `loss` (as in
 * {@link binaryMetrics}), `accuracy`, `sensitivity` and `specificity` (positive when p ≥ threshold),
 * `auroc` (Mann–Whitney, ties ½), `auprc` (average precision Σ ΔRecall·Precision over distinct scores,
 * tied scores taken together, as scikit-learn), `brier` (mean (p − y)²) and `ece` (Σ over equal-width bins
 * of (bin count / n)·|mean p − mean y|; bins are [k/B, (k+1)/B), the last one closed).
 *
 * A metric undefined for the data is absent, never NaN: `auroc` needs both classes, `auprc` and
 * `sensitivity` a positive, `specificity` a negative; with no examples the result is empty.
 *
 * For each subgroup with ≥ 1 example (in name order) it adds `n__<group>` (the count) and
 * `<metric>__<group>` for each of {@link SUBGROUP_METRICS} defined on that group, so 5 groups give at most
 * 8 + 5 × 6 = 38 metrics. Group names are lowercase snake case of at most 19 characters (so every name
 * fits `METRIC_NAME`) with no `__`; at most {@link MAX_SUBGROUPS} groups.
 */
export function clinicalMetrics(
  labels: Float32Array,
  probs: Float32Array,
  options: ClinicalMetricsOptions,
): Metrics {
  const n = checkInputs(labels, probs);
  const { threshold, calibrationBins: bins } = options;
  if (!(threshold > 0 && threshold < 1)) {
    throw new MetricsInputError('threshold', undefined, 'threshold: expected a number in (0, 1)');
  }
  if (!Number.isInteger(bins) || bins < 1) {
    throw new MetricsInputError('calibrationBins', undefined, 'calibrationBins: expected an integer ≥ 1');
  }
  const groups = Object.keys(options.subgroups ?? {}).sort();
  checkSubgroups(groups, options.subgroups ?? {}, n);
  if (n === 0) return {};
  const scratch = scratchFor(n);
  const ranking = rank(probs, scratch);
  const metrics = overallScores(labels, probs, ranking, scratch, threshold, bins);
  for (const group of groups) {
    const mask = options.subgroups![group]!;
    const m = subgroupScores(labels, probs, ranking, scratch, mask, threshold);
    if (m === undefined) continue;
    const names = subgroupNames(group);
    metrics[names.n] = m.size;
    SUBGROUP_METRICS.forEach((name, j) => {
      const v = m.metrics[name];
      if (v !== undefined) metrics[names.metrics[j]!] = v;
    });
  }
  return metrics;
}

/** Each subgroup's metric names, made once per group name (evaluation reports the same groups every round). */
const SUBGROUP_NAMES = new Map<string, { readonly n: string; readonly metrics: readonly string[] }>();

function subgroupNames(group: string): { readonly n: string; readonly metrics: readonly string[] } {
  let names = SUBGROUP_NAMES.get(group);
  if (names === undefined) {
    names = { n: `n__${group}`, metrics: SUBGROUP_METRICS.map((name) => `${name}__${group}`) };
    SUBGROUP_NAMES.set(group, names);
  }
  return names;
}

/** Confusion counts at the threshold and the Brier sum of the examples (the mask's, if given), in index order. */
interface Tally {
  size: number;
  nPos: number;
  tp: number;
  tn: number;
  brierSum: number;
}

function tally(labels: Float32Array, probs: Float32Array, threshold: number, mask?: Uint8Array): Tally {
  const t: Tally = { size: 0, nPos: 0, tp: 0, tn: 0, brierSum: 0 };
  for (let i = 0; i < labels.length; i++) {
    if (mask !== undefined && mask[i] !== 1) continue;
    const p = probs[i]!;
    const y = labels[i]!;
    t.size++;
    t.nPos += y;
    t.brierSum += (p - y) * (p - y);
    if (p >= threshold) {
      if (y === 1) t.tp++;
    } else if (y === 0) t.tn++;
  }
  return t;
}

/** The metrics of one set of examples that need its sorted classes (auroc, auprc), and those at the threshold. */
function classScores(metrics: Metrics, t: Tally, pos: Float32Array, neg: Float32Array): Metrics {
  const nNeg = t.size - t.nPos;
  if (t.nPos > 0 && nNeg > 0) metrics.auroc = auroc(pos, neg);
  if (t.nPos > 0) {
    metrics.auprc = averagePrecision(pos, neg);
    metrics.sensitivity = t.tp / t.nPos;
  }
  if (nNeg > 0) metrics.specificity = t.tn / nNeg;
  metrics.brier = t.brierSum / t.size;
  return metrics;
}

/** Every metric {@link clinicalMetrics} reports over all examples (see {@link OVERALL_METRICS}). */
function overallScores(
  labels: Float32Array,
  probs: Float32Array,
  ranking: Ranking,
  scratch: Scratch,
  threshold: number,
  bins: number,
): Metrics {
  const t = tally(labels, probs, threshold);
  const { pos, neg } = sortedClasses(labels, probs, ranking, scratch);
  const metrics = classScores(overall(labels, probs, t.tp + t.tn), t, pos, neg);
  metrics.ece = calibrationError(labels, probs, bins);
  return metrics;
}

/**
 * The {@link SUBGROUP_METRICS} of the examples `mask` selects, with their count; undefined when it selects none.
 * The same arithmetic as over all examples, in the same order: loss, accuracy and calibration, which a subgroup
 * does not report, are not computed.
 */
function subgroupScores(
  labels: Float32Array,
  probs: Float32Array,
  ranking: Ranking,
  scratch: Scratch,
  mask: Uint8Array,
  threshold: number,
): { readonly size: number; readonly metrics: Metrics } | undefined {
  const t = tally(labels, probs, threshold, mask);
  if (t.size === 0) return undefined;
  const { pos, neg } = sortedClasses(labels, probs, ranking, scratch, mask);
  return { size: t.size, metrics: classScores({}, t, pos, neg) };
}

/** Loss and accuracy over all examples (`correct` of them on the right side of the threshold). */
function overall(labels: Float32Array, probs: Float32Array, correct: number): Metrics {
  const n = labels.length;
  let lossSum = 0;
  for (let i = 0; i < n; i++) lossSum += crossEntropy(labels[i]!, probs[i]!);
  return { loss: lossSum / n, accuracy: correct / n };
}

/** Σ over equal-width bins of (bin count / n)·|mean p − mean y|, bins [k/B, (k+1)/B), the last one closed. */
function calibrationError(labels: Float32Array, probs: Float32Array, bins: number): number {
  const n = labels.length;
  const sums = binSums(bins);
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    const b = 3 * Math.min(bins - 1, Math.floor(p * bins));
    sums[b]!++;
    sums[b + 1]! += p;
    sums[b + 2]! += labels[i]!;
  }
  let ece = 0;
  for (let b = 0; b < 3 * bins; b += 3) if (sums[b]! > 0) ece += Math.abs(sums[b + 1]! - sums[b + 2]!) / n;
  return ece;
}

/** Most calibration bins whose sums the thread keeps between calls (more are allocated per call). */
const KEPT_BINS = 1024;
let keptBins = new Float64Array(0);

/** Zeroed (count, Σp, Σy) of each of `bins` bins, interleaved. */
function binSums(bins: number): Float64Array {
  if (bins > KEPT_BINS) return new Float64Array(3 * bins);
  if (keptBins.length < 3 * bins) keptBins = new Float64Array(3 * bins);
  return keptBins.subarray(0, 3 * bins).fill(0);
}

/** Validates labels and probabilities row by row; returns the number of examples. */
function checkInputs(labels: Float32Array, probs: Float32Array): number {
  const n = labels.length;
  if (probs.length !== n) {
    throw new MetricsInputError('probs', undefined, `probs: expected ${n} predictions, one per label`);
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new MetricsInputError('labels', i, `label at row ${i}: expected 0 or 1`);
    const p = probs[i]!;
    if (!(p >= 0 && p <= 1)) {
      throw new MetricsInputError('probs', i, `prediction at row ${i}: expected a probability in [0, 1]`);
    }
  }
  return n;
}

function checkSubgroups(
  groups: readonly string[],
  masks: Readonly<Record<string, Uint8Array>>,
  n: number,
): void {
  if (groups.length > MAX_SUBGROUPS) {
    throw new MetricsInputError(
      'subgroups',
      undefined,
      `subgroups: at most ${MAX_SUBGROUPS} fit in ${MAX_METRICS} metrics, got ${groups.length}`,
    );
  }
  for (const group of groups) {
    if (!SUBGROUP_NAME.test(group) || group.length > LONGEST_SUBGROUP_NAME) {
      throw new MetricsInputError(
        'subgroups',
        undefined,
        `subgroup "${group}": expected lowercase letters, digits and single underscores, starting with a ` +
          `letter, at most ${LONGEST_SUBGROUP_NAME} characters`,
      );
    }
    const mask = masks[group]!;
    if (mask.length !== n) {
      throw new MetricsInputError(
        'subgroups',
        undefined,
        `subgroup "${group}": expected a mask of ${n} rows`,
      );
    }
    for (let i = 0; i < n; i++) {
      if (mask[i]! > 1) {
        throw new MetricsInputError('subgroups', i, `subgroup "${group}" at row ${i}: expected 0 or 1`);
      }
    }
  }
}

/** Each class's probabilities, sorted ascending. */
function byClass(
  labels: Float32Array,
  probs: Float32Array,
): { nPos: number; pos: Float32Array; neg: Float32Array } {
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) nPos += labels[i]!;
  const pos = new Float32Array(nPos);
  const neg = new Float32Array(labels.length - nPos);
  for (let i = 0, a = 0, b = 0; i < labels.length; i++) {
    if (labels[i] === 1) pos[a++] = probs[i]!;
    else neg[b++] = probs[i]!;
  }
  pos.sort();
  neg.sort();
  return { nPos, pos, neg };
}

function crossEntropy(y: number, p: number): number {
  const c = p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
  return y === 1 ? -Math.log(c) : -Math.log(1 - c);
}

/** P(score of a positive > score of a negative) + ½ P(tie), by merging the sorted classes. */
function auroc(pos: Float32Array, neg: Float32Array): number {
  let wins = 0;
  let below = 0;
  let j = 0;
  for (let i = 0; i < pos.length;) {
    const v = pos[i]!;
    let tiedPos = 0;
    while (i < pos.length && pos[i] === v) {
      tiedPos++;
      i++;
    }
    while (j < neg.length && neg[j]! < v) {
      below++;
      j++;
    }
    let tiedNeg = 0;
    while (j + tiedNeg < neg.length && neg[j + tiedNeg] === v) tiedNeg++;
    wins += tiedPos * (below + 0.5 * tiedNeg);
  }
  return wins / (pos.length * neg.length);
}

/** Σ over distinct scores, highest first, of (new positives / all positives) · precision at that score. */
function averagePrecision(pos: Float32Array, neg: Float32Array): number {
  let i = pos.length - 1;
  let j = neg.length - 1;
  let tp = 0;
  let fp = 0;
  let sum = 0;
  while (i >= 0) {
    const v = j >= 0 && neg[j]! > pos[i]! ? neg[j]! : pos[i]!;
    let newPos = 0;
    while (i >= 0 && pos[i] === v) {
      newPos++;
      i--;
    }
    while (j >= 0 && neg[j] === v) {
      fp++;
      j--;
    }
    tp += newPos;
    if (newPos > 0) sum += (newPos * tp) / (tp + fp);
  }
  return sum / pos.length;
}

/** Counts of examples per bin of predicted logit, by label, in `bins` bins (see {@link ScoreHistogram}). */
export function scoreHistogram(labels: Float32Array, probs: Float32Array, bins: number): ScoreHistogram {
  const n = checkInputs(labels, probs);
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`score histogram bins: expected an integer ≥ 1`);
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  const r = HISTOGRAM_LOGIT_RANGE;
  for (let i = 0; i < n; i++) {
    const p = probs[i]!;
    const logit = Math.log(p) - Math.log1p(-p);
    // p = 0 and p = 1 give logits of ∓∞, which clamp to the end bins.
    const bin = Math.min(bins - 1, Math.max(0, Math.floor(((logit + r) / (2 * r)) * bins)));
    (labels[i] === 1 ? positives : negatives)[bin]!++;
  }
  return { positives, negatives };
}
