import type { FitResult } from './strategy.ts';

/** The `parameters` vector of each reply, in the given order, each checked to be `length` long. */
export function parametersOf(
  strategy: string,
  length: number,
  results: readonly FitResult[],
): Float32Array[] {
  return results.map((r) => {
    const p = r.reply.vectors.parameters;
    if (p === undefined) throw new Error(`${strategy}: hospital ${r.hospital} sent no parameters`);
    if (p.length !== length) {
      throw new Error(`${strategy}: hospital ${r.hospital} sent ${p.length} parameters, expected ${length}`);
    }
    return p;
  });
}

/** Pseudo-gradient Δ = Σ nᵢ·xᵢ / Σ nᵢ − global (example-weighted mean minus the global model), in Float64. */
export function pseudoGradient(
  global: Float32Array,
  vectors: readonly Float32Array[],
  weights: readonly number[],
): Float64Array {
  const acc = new Float64Array(global.length);
  let total = 0;
  for (let k = 0; k < vectors.length; k++) {
    const v = vectors[k]!;
    const w = weights[k]!;
    for (let i = 0; i < acc.length; i++) acc[i]! += w * v[i]!;
    total += w;
  }
  if (!(total > 0)) throw new Error('pseudoGradient: weights sum to zero');
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! / total - global[i]!;
  return acc;
}

/** The unweighted mean of the vectors at `indices`, accumulated in Float64 in the order of `indices`. */
export function uniformMean(vectors: readonly Float32Array[], indices: readonly number[]): Float32Array {
  if (indices.length === 0) throw new Error('uniformMean: no vectors to average');
  const length = vectors[indices[0]!]!.length;
  const acc = new Float64Array(length);
  for (const k of indices) {
    const v = vectors[k]!;
    for (let i = 0; i < length; i++) acc[i]! += v[i]!;
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = acc[i]! / indices.length;
  return out;
}

/** ‖a − b‖², accumulated in Float64. */
export function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    s += d * d;
  }
  return s;
}
