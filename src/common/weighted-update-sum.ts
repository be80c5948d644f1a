/**
 * Σ_j w_j (x_j − g) in Float64, updates in the given order, element by element: a country aggregator's sum of its
 * hospitals' weighted updates. `updates` holds the k updated models end to end.
 */
export function weightedUpdateSum(
  global: Float32Array,
  updates: Float32Array,
  weights: readonly number[],
): Float64Array {
  const p = global.length;
  const sum = new Float64Array(p);
  for (let j = 0; j < weights.length; j++) {
    const w = weights[j]!;
    const off = j * p;
    for (let i = 0; i < p; i++) sum[i]! += w * (updates[off + i]! - global[i]!);
  }
  return sum;
}
