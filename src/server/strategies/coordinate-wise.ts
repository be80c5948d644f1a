/**
 * Applies `reduce` to each coordinate's values across the vectors, sorted ascending, and returns the results.
 * The column buffer is reused; `reduce` must not keep it.
 */
export function coordinateWise(
  vectors: readonly Float32Array[],
  reduce: (sortedColumn: Float64Array) => number,
): Float32Array {
  if (vectors.length === 0) throw new Error('coordinateWise: no vectors');
  const length = vectors[0]!.length;
  const column = new Float64Array(vectors.length);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    for (let k = 0; k < vectors.length; k++) column[k] = vectors[k]![i]!;
    column.sort();
    out[i] = reduce(column);
  }
  return out;
}

/** Median of sorted values: the middle one, or the mean of the two middle ones for an even count. */
export function sortedMedian(sorted: Float64Array): number {
  const n = sorted.length;
  const mid = n >> 1;
  return n % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Mean of sorted values after cutting `cut` from each end. */
export function sortedTrimmedMean(sorted: Float64Array, cut: number): number {
  const end = sorted.length - cut;
  if (end <= cut)
    throw new RangeError(
      `sortedTrimmedMean: cutting ${cut} from each end of ${sorted.length} leaves nothing`,
    );
  let s = 0;
  for (let k = cut; k < end; k++) s += sorted[k]!;
  return s / (end - cut);
}
