import { wasmApi, type WasmApi } from '../common/wasm-api.ts';
import { WasmHeap } from '../common/wasm-heap.ts';
import { readFileSync } from 'node:fs';

/** The compiled fold (wasm/fold.ts, built by `npm run build:wasm`); see that file for each export's contract. */
interface FoldExports {
  scratchBytes(): number;
  foldMean(
    n: number,
    k: number,
    vectors: number,
    weights: number,
    from: number,
    total: number,
    out: number,
    scratch: number,
  ): void;
  foldSum(
    n: number,
    k: number,
    vectors: number,
    weights: number,
    from: number,
    to: number,
    scratch: number,
  ): void;
  firstNonFinite(at: number, n: number): number;
}

/** Most updates one fold reads from the arena (the size of its table of offsets and weights). */
export const MAX_FOLDED = 4096;
/** Most bytes the arena's memory grows to; past it, updates are checked and folded in JavaScript. */
export const ARENA_MAX_BYTES = 1 << 30;
/** Updates of one length the arena keeps at first; a fold that finds fewer than it needs raises this. */
const FIRST_CAPACITY = 8;

/** Where one admitted copy lives; `generation` changes whenever the slot takes another update. */
interface Slot {
  readonly at: number;
  generation: number;
}

/** The slots of one vector length, least recently filled first, reused once `capacity` of them exist. */
interface Ring {
  /** Elements of each vector it holds. */
  readonly length: number;
  readonly slots: Slot[];
  capacity: number;
  /** Set when a fold of this length needs more copies than fit (memory cap, MAX_FOLDED): its vectors are no longer copied. */
  tooLarge: boolean;
  /** Where a fold of this length writes its float32 mean before it is copied out, once allocated. */
  out: number | undefined;
}

/**
 * The coordinator's copies of admitted parameter vectors, in WebAssembly memory where the SIMD fold reads them
 * (wasm/fold.ts). The boundary copies each admitted `parameters` vector here while it checks it (one memcpy,
 * then a SIMD scan for NaN and infinities); {@link meanOf} then folds the copies in place. The memory is this
 * thread's own, never shared or transferred: a worker cannot write what the fold reads. The arena is a cache,
 * never the only copy: the admitted Float32Array stays the vector every other reader sees, a copy is found by
 * that array's identity and is valid until its slot takes a later update (oldest first, bounded by the largest
 * fold asked of it and {@link ARENA_MAX_BYTES}), and a fold that misses any copy returns nothing, so the caller
 * folds in JavaScript, to the same bits.
 */
export class UpdateArena {
  readonly #k: FoldExports;
  readonly #heap: WasmHeap<FoldExports>;
  readonly #scratch: number;
  readonly #table: number;
  readonly #weights: number;
  readonly #rings = new Map<number, Ring>();
  readonly #copies = new WeakMap<Float32Array, { readonly slot: Slot; readonly generation: number }>();
  readonly #freeSums = new Map<number, number[]>();
  #folds = 0;

  constructor(api: WasmApi, module: object, maxBytes = ARENA_MAX_BYTES) {
    this.#heap = new WasmHeap<FoldExports>(api, module, maxBytes);
    this.#k = this.#heap.exports;
    this.#scratch = this.#heap.reserve(this.#k.scratchBytes());
    this.#table = this.#heap.reserve(4 * MAX_FOLDED);
    this.#weights = this.#heap.reserve(8 * MAX_FOLDED);
  }

  /** Folds (means and a stream's windows) read from the arena's copies so far. */
  get folds(): number {
    return this.#folds;
  }

  /** Bytes of WebAssembly memory the arena holds. */
  get bytes(): number {
    return this.#heap.bytes;
  }

  /**
   * Copies `vector` into a slot (unless no slot can be had) and returns the index of its first NaN or infinite
   * element, or -1: the same answer as scanning the vector itself, since the copy has its bytes.
   */
  admit(vector: Float32Array): number {
    const slot = this.#slotFor(vector.length);
    if (slot === undefined) return firstNonFiniteJs(vector);
    slot.generation++;
    new Float32Array(this.#heap.buffer, slot.at, vector.length).set(vector);
    this.#copies.set(vector, { slot, generation: slot.generation });
    return this.#k.firstNonFinite(slot.at, vector.length);
  }

  /**
   * ((`sums` or 0) + Σ wₖ·xₖ) / `total` rounded to float32, folded from the admitted copies of `vectors` (see
   * wasm/fold.ts; `sums` a region from {@link takeSums}), or undefined if any has none (then the arena keeps
   * room for this many next time).
   */
  meanOf(
    length: number,
    vectors: readonly Float32Array[],
    weights: readonly number[],
    total: number,
    sums?: number,
  ): Float32Array | undefined {
    const ring = this.#ring(length);
    if (!this.#load(ring, vectors, weights)) return undefined;
    ring.out ??= this.#heap.alloc(4 * length);
    if (ring.out === undefined) return undefined;
    const k = vectors.length;
    this.#k.foldMean(length, k, this.#table, this.#weights, sums ?? 0, total, ring.out, this.#scratch);
    this.#folds++;
    return new Float32Array(this.#heap.buffer, ring.out, length).slice();
  }

  /**
   * sums = (sums, or 0 when `first`) + Σ wₖ·xₖ in float64, folded from the admitted copies of `vectors`; false
   * (nothing written) if any has none.
   */
  foldInto(
    length: number,
    sums: number,
    first: boolean,
    vectors: readonly Float32Array[],
    weights: readonly number[],
  ): boolean {
    if (!this.#load(this.#ring(length), vectors, weights)) return false;
    this.#k.foldSum(
      length,
      vectors.length,
      this.#table,
      this.#weights,
      first ? 0 : sums,
      sums,
      this.#scratch,
    );
    this.#folds++;
    return true;
  }

  /** A region of `length` float64 sums the caller alone uses until it gives it back, or undefined if none can be had. */
  takeSums(length: number): number | undefined {
    return this.#freeSums.get(length)?.pop() ?? this.#heap.alloc(8 * length);
  }

  /** Gives back a region from {@link takeSums}. */
  returnSums(length: number, at: number): void {
    const free = this.#freeSums.get(length) ?? [];
    free.push(at);
    this.#freeSums.set(length, free);
  }

  /** The float64 sums of a region from {@link takeSums} (a view: valid until the arena next takes memory). */
  sumsView(length: number, at: number): Float64Array {
    return new Float64Array(this.#heap.buffer, at, length);
  }

  /** Writes the offsets of the copies of `vectors` and their weights into the fold's table; false if any copy is missing. */
  #load(ring: Ring, vectors: readonly Float32Array[], weights: readonly number[]): boolean {
    if (vectors.length > MAX_FOLDED) {
      ring.tooLarge = true;
      return false;
    }
    const at: number[] = [];
    for (const v of vectors) {
      const copy = this.#copies.get(v);
      if (copy === undefined || copy.slot.generation !== copy.generation) {
        const more = Math.max(0, vectors.length - ring.slots.length) + (ring.out === undefined ? 1 : 0);
        if (this.#heap.top + more * (Math.ceil((4 * ring.length) / 16) * 16) <= this.#heap.maxBytes)
          ring.capacity = Math.max(ring.capacity, vectors.length);
        else ring.tooLarge = true;
        return false;
      }
      at.push(copy.slot.at);
    }
    const buffer = this.#heap.buffer;
    new Uint32Array(buffer, this.#table, at.length).set(at);
    new Float64Array(buffer, this.#weights, weights.length).set(weights);
    return true;
  }

  /** A slot for a vector of `length`: a new one while the ring is below capacity and memory allows, else the oldest. */
  #slotFor(length: number): Slot | undefined {
    const ring = this.#ring(length);
    if (ring.tooLarge) return undefined;
    if (ring.slots.length < ring.capacity) {
      const at = this.#heap.alloc(4 * length);
      if (at !== undefined) {
        const slot = { at, generation: 0 };
        ring.slots.push(slot);
        return slot;
      }
    }
    const slot = ring.slots.shift();
    if (slot !== undefined) ring.slots.push(slot);
    return slot;
  }

  #ring(length: number): Ring {
    let ring = this.#rings.get(length);
    if (ring === undefined) {
      ring = { length, slots: [], capacity: FIRST_CAPACITY, tooLarge: false, out: undefined };
      this.#rings.set(length, ring);
    }
    return ring;
  }
}

/** The index of the first NaN or infinite element of `v`, or -1: the scan where no arena copy is made. */
export function firstNonFiniteJs(v: Float32Array | Float64Array): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return i;
  return -1;
}

/**
 * The index of the first NaN or infinite element of an admitted parameter vector, or -1; where this thread has
 * an arena, the scan runs over the copy it keeps for the fold.
 */
export function admitParameters(vector: Float32Array): number {
  return updateArena()?.admit(vector) ?? firstNonFiniteJs(vector);
}

let compiled: object | undefined;

/** A new arena with its own memory, or null where WebAssembly or the compiled fold is unavailable. */
export function createUpdateArena(maxBytes = ARENA_MAX_BYTES): UpdateArena | null {
  try {
    const api = wasmApi;
    if (api === undefined) return null;
    compiled ??= new api.Module(readFileSync(new URL('./fold.wasm', import.meta.url)));
    return new UpdateArena(api, compiled, maxBytes);
  } catch {
    return null;
  }
}

let shared: UpdateArena | null | undefined;

/** This thread's arena, made on first use (null: none, see {@link createUpdateArena}). */
export function updateArena(): UpdateArena | null {
  if (shared === undefined) shared = createUpdateArena();
  return shared;
}

/**
 * Replaces this thread's arena: null for none (the JavaScript check and fold, as without WebAssembly),
 * undefined for a fresh one on next use. For tests and benchmarks that compare the two paths.
 */
export function useUpdateArena(arena: UpdateArena | null | undefined): void {
  shared = arena;
}
