/** Updates held before they are folded into the accumulator together (one pass over it per window). */
export const FOLD_WINDOW = 8;

/**
 * Σ wₖ·xₖ / Σ wₖ folded in the order updates are added, without holding them all: at most
 * {@link FOLD_WINDOW} wait, then fold into one Float64 accumulator in a single pass, four updates per load and
 * store of each accumulator element. Each element still adds wₖ·xₖ[i] one update at a time in the given order,
 * in double precision, so the mean is bit-identical to accumulating one update after another.
 */
export class StreamingMean {
  readonly length: number;
  readonly #acc: Float64Array;
  readonly #vectors: Float32Array[] = [];
  readonly #weights: number[] = [];
  #total = 0;
  #count = 0;

  constructor(length: number) {
    this.length = length;
    this.#acc = new Float64Array(length);
  }

  /** Adds `weight · vector` (the caller may reuse `vector` only after {@link mean} or the next window). */
  add(vector: Float32Array, weight: number): void {
    if (vector.length !== this.length)
      throw new Error(`weightedAverage: vector of length ${vector.length}, expected ${this.length}`);
    this.#vectors.push(vector);
    this.#weights.push(weight);
    this.#total += weight;
    this.#count++;
    if (this.#vectors.length === FOLD_WINDOW) this.#fold();
  }

  /** Updates added so far. */
  get count(): number {
    return this.#count;
  }

  /** The weighted mean of everything added, rounded to float32. */
  mean(): Float32Array {
    this.#fold();
    if (this.#count === 0) throw new Error('weightedAverage: no vectors to average');
    if (!(this.#total > 0)) throw new Error('weightedAverage: weights sum to zero');
    const acc = this.#acc;
    const total = this.#total;
    const out = new Float32Array(this.length);
    for (let i = 0; i < out.length; i++) out[i] = acc[i]! / total;
    return out;
  }

  #fold(): void {
    const v = this.#vectors;
    const w = this.#weights;
    let k = 0;
    for (; k + 4 <= v.length; k += 4)
      fold4(this.#acc, v[k]!, w[k]!, v[k + 1]!, w[k + 1]!, v[k + 2]!, w[k + 2]!, v[k + 3]!, w[k + 3]!);
    for (; k < v.length; k++) fold1(this.#acc, v[k]!, w[k]!);
    v.length = 0;
    w.length = 0;
  }
}

function fold1(acc: Float64Array, a: Float32Array, wa: number): void {
  for (let i = 0; i < acc.length; i++) acc[i]! += wa * a[i]!;
}

function fold4(
  acc: Float64Array,
  a: Float32Array,
  wa: number,
  b: Float32Array,
  wb: number,
  c: Float32Array,
  wc: number,
  d: Float32Array,
  wd: number,
): void {
  for (let i = 0; i < acc.length; i++) {
    let s = acc[i]!;
    s += wa * a[i]!;
    s += wb * b[i]!;
    s += wc * c[i]!;
    s += wd * d[i]!;
    acc[i] = s;
  }
}
