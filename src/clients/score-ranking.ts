/**
 * Predicted probabilities ranked once per evaluation, so that the overall metrics and every subgroup's read each
 * class's sorted scores in one pass (see metrics.ts), in work buffers a thread keeps between calls.
 */

/** Every example's index in ascending order of its predicted probability (ties in index order). */
export type Ranking = Uint32Array;

/** 2²³: a probability's float32 bits (< 2³⁰ for p in [0, 1]) times this plus an index below it is exact in a double. */
const INDEX_SPAN = 2 ** 23;
const bitsOf = new Uint32Array(1);
const floatOf = new Float32Array(bitsOf.buffer);

/** Buffers one call of `clinicalMetrics` works in, kept for the next call in this thread up to this many examples. */
const KEPT_SCRATCH = 1 << 16;

/** Work buffers for `n` examples: sort keys, ranking, and each class's sorted scores. */
export interface Scratch {
  readonly keys: Float64Array;
  readonly order: Uint32Array;
  readonly pos: Float32Array;
  readonly neg: Float32Array;
}

let kept: Scratch | undefined;

/**
 * Work buffers of at least `n` examples: the thread's kept ones (evaluation scores one hospital at a time, and a
 * typed array's allocation costs more than these loops for the few hundred patients a hospital holds out), or new
 * ones beyond {@link KEPT_SCRATCH}.
 */
export function scratchFor(n: number): Scratch {
  if (kept !== undefined && kept.keys.length >= n) return kept;
  const size = n > KEPT_SCRATCH ? n : Math.min(KEPT_SCRATCH, Math.max(n, 2 * (kept?.keys.length ?? 256)));
  const s = {
    keys: new Float64Array(size),
    order: new Uint32Array(size),
    pos: new Float32Array(size),
    neg: new Float32Array(size),
  };
  if (size <= KEPT_SCRATCH) kept = s;
  return s;
}

/**
 * The examples ranked by predicted probability, sorted once per call so that the overall metrics and every
 * subgroup read their classes' sorted scores in one pass. Probabilities in [0, 1] order as their float32
 * bits (−0 taken as 0), so each example's key is bits·2²³ + index, one native sort of doubles; beyond 2²³
 * examples a comparator sort does the same. The ranking is `scratch.order`'s first n entries.
 */
export function rank(probs: Float32Array, scratch: Scratch): Ranking {
  const n = probs.length;
  const order = scratch.order.subarray(0, n);
  if (n > INDEX_SPAN) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort((a, b) => probs[a]! - probs[b]! || a - b);
  }
  const keys = scratch.keys.subarray(0, n);
  for (let i = 0; i < n; i++) {
    floatOf[0] = probs[i]! + 0;
    keys[i] = bitsOf[0]! * INDEX_SPAN + i;
  }
  keys.sort();
  for (let k = 0; k < n; k++) order[k] = keys[k]! % INDEX_SPAN;
  return order;
}

/**
 * Each class's probabilities in ascending order, of all examples or (with `mask`) of those the mask selects,
 * read from `ranking` in one pass into the scratch buffers (valid until the next call).
 */
export function sortedClasses(
  labels: Float32Array,
  probs: Float32Array,
  ranking: Ranking,
  scratch: Scratch,
  mask?: Uint8Array,
): { pos: Float32Array; neg: Float32Array } {
  const { pos, neg } = scratch;
  let a = 0;
  let b = 0;
  for (let k = 0; k < ranking.length; k++) {
    const i = ranking[k]!;
    if (mask !== undefined && mask[i] !== 1) continue;
    if (labels[i] === 1) pos[a++] = probs[i]!;
    else neg[b++] = probs[i]!;
  }
  return { pos: pos.subarray(0, a), neg: neg.subarray(0, b) };
}
