import { updateArena, type UpdateArena } from './update-arena.ts';

/** Updates held before they are folded into the accumulator together. */
export const FOLD_WINDOW = 8;

/** Elements folded at a time: a Float64 block that stays in L1 while every waiting update is added to it. */
const BLOCK = 2048;

/** Gives an abandoned stream's sums back to its arena. */
const abandoned = new FinalizationRegistry<{ arena: UpdateArena; length: number; at: number }>((s) =>
  s.arena.returnSums(s.length, s.at),
);

/**
 * Σ wₖ·xₖ / Σ wₖ folded in the order updates are added, without holding them all: at most
 * {@link FOLD_WINDOW} wait, then fold into a Float64 accumulator block by block ({@link BLOCK} elements kept in
 * cache while every waiting update is added, four per load and store). Each element still adds wₖ·xₖ[i] one
 * update at a time in the given order, in double precision, starting from 0, so the mean is bit-identical to
 * accumulating one update after another. The full-length accumulator exists only once a window has
 * overflowed; the last fold writes the float32 mean directly. With `admitted` (every vector added is as the
 * boundary admitted it, unwritten since) the accumulator lives in this thread's `UpdateArena` and each window
 * whose copies are all there is folded in WebAssembly, the others in JavaScript, to the same bits.
 */
export class StreamingMean {
  readonly length: number;
  #acc: Float64Array | undefined;
  readonly #arena: UpdateArena | null;
  /** Where the accumulator lives in the arena, once a window has overflowed into it. */
  #sums: number | undefined;
  readonly #vectors: Float32Array[] = [];
  readonly #weights: number[] = [];
  #total = 0;
  #count = 0;

  constructor(length: number, admitted = false) {
    this.length = length;
    this.#arena = admitted ? updateArena() : null;
  }

  /** Adds `weight · vector` (the caller may reuse `vector` only after {@link mean} or the next window). */
  add(vector: Float32Array, weight: number): void {
    checkLength(vector, this.length);
    this.#vectors.push(vector);
    this.#weights.push(weight);
    this.#total += weight;
    this.#count++;
    if (this.#vectors.length === FOLD_WINDOW) {
      this.#foldWindow();
      this.#vectors.length = 0;
      this.#weights.length = 0;
    }
  }

  /** Updates added so far. */
  get count(): number {
    return this.#count;
  }

  /** The weighted mean of everything added, rounded to float32. */
  mean(): Float32Array {
    checkTotal(this.#count, this.#total);
    const arena = this.#arena;
    let out: Float32Array;
    if (arena !== null && (this.#sums !== undefined || this.#acc === undefined)) {
      const sums = this.#sums;
      out =
        arena.meanOf(this.length, this.#vectors, this.#weights, this.#total, sums) ??
        foldedMean(
          sums === undefined ? undefined : arena.sumsView(this.length, sums),
          this.length,
          this.#vectors,
          this.#weights,
          this.#total,
        );
      if (sums !== undefined) {
        abandoned.unregister(this);
        arena.returnSums(this.length, sums);
      }
    } else out = foldedMean(this.#acc, this.length, this.#vectors, this.#weights, this.#total);
    this.#vectors.length = 0;
    this.#weights.length = 0;
    this.#acc = undefined;
    this.#sums = undefined;
    return out;
  }

  /** Folds the waiting window into the accumulator: in the arena where it can, else in JavaScript. */
  #foldWindow(): void {
    const arena = this.#arena;
    const first = this.#sums === undefined && this.#acc === undefined;
    if (first && arena !== null) {
      this.#sums = arena.takeSums(this.length);
      if (this.#sums !== undefined)
        abandoned.register(this, { arena, length: this.length, at: this.#sums }, this);
    }
    const sums = this.#sums;
    if (arena === null || sums === undefined) {
      const acc = (this.#acc ??= new Float64Array(this.length));
      foldInto(acc, acc, this.#vectors, this.#weights);
      return;
    }
    if (arena.foldInto(this.length, sums, first, this.#vectors, this.#weights)) return;
    const view = arena.sumsView(this.length, sums);
    if (first) view.fill(0);
    foldInto(view, view, this.#vectors, this.#weights);
  }
}

/**
 * Σ wᵢ·vᵢ / Σ wᵢ of updates the caller already holds: one blocked pass over all of them, no full-length
 * accumulator, the same bits as {@link StreamingMean}. With `admitted` (every vector is as the boundary admitted
 * it, unwritten since) the fold reads the copies admission made in WebAssembly memory (see
 * `UpdateArena`) when all of them are there; otherwise it folds in JavaScript, to the same bits.
 */
export function meanOfAll(
  length: number,
  items: readonly { readonly vector: Float32Array; readonly weight: number }[],
  admitted = false,
): Float32Array {
  const vectors: Float32Array[] = [];
  const weights: number[] = [];
  let total = 0;
  for (const { vector, weight } of items) {
    checkLength(vector, length);
    vectors.push(vector);
    weights.push(weight);
    total += weight;
  }
  checkTotal(vectors.length, total);
  const arena = admitted ? updateArena() : null;
  return (
    arena?.meanOf(length, vectors, weights, total) ?? foldedMean(undefined, length, vectors, weights, total)
  );
}

function checkLength(vector: Float32Array, length: number): void {
  if (vector.length !== length)
    throw new Error(`weightedAverage: vector of length ${vector.length}, expected ${length}`);
}

function checkTotal(count: number, total: number): void {
  if (count === 0) throw new Error('weightedAverage: no vectors to average');
  if (!(total > 0)) throw new Error('weightedAverage: weights sum to zero');
}

/**
 * (`from` (or 0) + Σ wₖ·xₖ) / `total` rounded to float32, folded block by block in the order given: the one
 * pass {@link StreamingMean} ends with, and a whole mean when the caller holds every update already.
 */
export function foldedMean(
  from: Float64Array | undefined,
  length: number,
  vectors: readonly Float32Array[],
  weights: readonly number[],
  total: number,
): Float32Array {
  const out = new Float32Array(length);
  for (let start = 0; start < length; start += BLOCK) {
    const n = Math.min(BLOCK, length - start);
    foldBlock(from, start, n, vectors, weights);
    for (let j = 0; j < n; j++) out[start + j] = block[j]! / total;
  }
  return out;
}

/** `to` = `from` + Σ wₖ·xₖ, block by block (`to` may be `from`). */
function foldInto(
  from: Float64Array,
  to: Float64Array,
  vectors: readonly Float32Array[],
  weights: readonly number[],
): void {
  for (let start = 0; start < to.length; start += BLOCK) {
    const n = Math.min(BLOCK, to.length - start);
    foldBlock(from, start, n, vectors, weights);
    for (let j = 0; j < n; j++) to[start + j] = block[j]!;
  }
}

/** The block every fold works in (one per thread: folds never interleave). */
const block = new Float64Array(BLOCK);

/** block[0, n) = `from`[start, start + n) (or 0) + Σ wₖ·xₖ[start, start + n), one update after another. */
function foldBlock(
  from: Float64Array | undefined,
  start: number,
  n: number,
  vectors: readonly Float32Array[],
  weights: readonly number[],
): void {
  if (from === undefined) block.fill(0, 0, n);
  else for (let j = 0; j < n; j++) block[j] = from[start + j]!;
  let k = 0;
  for (; k + 4 <= vectors.length; k += 4)
    add4(
      block,
      n,
      start,
      vectors[k]!,
      weights[k]!,
      vectors[k + 1]!,
      weights[k + 1]!,
      vectors[k + 2]!,
      weights[k + 2]!,
      vectors[k + 3]!,
      weights[k + 3]!,
    );
  for (; k < vectors.length; k++) add1(block, n, start, vectors[k]!, weights[k]!);
}

function add1(acc: Float64Array, n: number, start: number, a: Float32Array, wa: number): void {
  for (let j = 0; j < n; j++) acc[j]! += wa * a[start + j]!;
}

function add4(
  acc: Float64Array,
  n: number,
  start: number,
  a: Float32Array,
  wa: number,
  b: Float32Array,
  wb: number,
  c: Float32Array,
  wc: number,
  d: Float32Array,
  wd: number,
): void {
  for (let j = 0; j < n; j++) {
    const i = start + j;
    let s = acc[j]!;
    s += wa * a[i]!;
    s += wb * b[i]!;
    s += wc * c[i]!;
    s += wd * d[i]!;
    acc[j] = s;
  }
}
