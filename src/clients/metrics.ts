import type { Metrics } from '../protocol/messages.ts';

const EPS = 1e-7;

/** Inputs that binary metrics cannot be computed from; names the row, never a patient value. */
export class MetricsInputError extends Error {
  override readonly name = 'MetricsInputError';
  constructor(
    readonly field: 'labels' | 'probs',
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
  const n = labels.length;
  if (probs.length !== n) {
    throw new MetricsInputError('probs', undefined, `probs: expected ${n} predictions, one per label`);
  }
  if (n === 0) return {};
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new MetricsInputError('labels', i, `label at row ${i}: expected 0 or 1`);
    const p = probs[i]!;
    if (!(p >= 0 && p <= 1)) {
      throw new MetricsInputError('probs', i, `prediction at row ${i}: expected a probability in [0, 1]`);
    }
    nPos += y;
  }
  const pos = new Float32Array(nPos);
  const neg = new Float32Array(n - nPos);
  let lossSum = 0;
  let correct = 0;
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    const p = probs[i]!;
    const c = p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p;
    if (labels[i] === 1) {
      lossSum -= Math.log(c);
      if (p >= 0.5) correct++;
      pos[a++] = p;
    } else {
      lossSum -= Math.log(1 - c);
      if (p < 0.5) correct++;
      neg[b++] = p;
    }
  }
  const metrics: Metrics = { loss: lossSum / n, accuracy: correct / n };
  if (nPos > 0 && nPos < n) metrics.auroc = auroc(pos, neg);
  return metrics;
}

/** P(score of a positive > score of a negative) + ½ P(tie), by sorting each class and merging. */
function auroc(pos: Float32Array, neg: Float32Array): number {
  pos.sort();
  neg.sort();
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
