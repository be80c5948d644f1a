import { wasmApi } from '../common/wasm-api.ts';
import { WasmHeap } from '../common/wasm-heap.ts';
import { readFileSync } from 'node:fs';

/** C = A·B on row/column strides in the arena (see wasm/kernels.ts `gemm`). */
export type GemmCall = (
  m: number,
  n: number,
  depth: number,
  a: number,
  aRow: number,
  aCol: number,
  b: number,
  bRow: number,
  c: number,
  cRow: number,
) => void;

/** A compiled GEMM: the call with the scratch space it may use. */
type Gemm = (...args: [...Parameters<GemmCall>, scratch: number]) => void;

/** The compiled kernels (wasm/kernels.ts, built by wasm/build.mjs); see that file for each one's contract. */
interface KernelExports {
  gemm: Gemm;
  gemm32: Gemm;
  gemmScratch(m: number, n: number, depth: number): number;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  columnSums(m: number, rows: number, cols: number, out: number): void;
  biasRelu(z: number, rows: number, units: number, bias: number): void;
  reluGrad(delta: number, act: number, count: number): void;
  im2col(
    x: number,
    images: number,
    h: number,
    w: number,
    ch: number,
    k: number,
    pad: number,
    cols: number,
  ): void;
  flipKernel(kernel: number, k: number, cin: number, f: number, dst: number): void;
  maxPool(a: number, images: number, h: number, w: number, ch: number, out: number, at: number): void;
  maxPoolGrad(dOut: number, at: number, count: number, da: number, size: number): void;
}

const wasm = wasmApi!;

let compiled: object | null = null;

/** The kernels' module, compiled once per thread. */
function kernelModule(): object {
  compiled ??= new wasm.Module(readFileSync(new URL('./kernels.wasm', import.meta.url)));
  return compiled;
}

/**
 * One instance of the WebAssembly kernels with its own memory, and a bump allocator over that memory. Buffers
 * are addressed by byte offset; growing the memory detaches every typed-array view, so callers re-create their
 * views after allocating (`version` counts growths).
 */
export class KernelArena {
  readonly k: KernelExports;
  readonly #heap: WasmHeap<KernelExports>;

  constructor() {
    this.#heap = new WasmHeap<KernelExports>(wasm, kernelModule());
    this.k = this.#heap.exports;
  }

  /** Increases whenever the memory grows (every earlier view is then detached). */
  get version(): number {
    return this.#heap.version;
  }

  /** Reserves `count` 4-byte elements, 16-byte aligned, zeroed; returns their byte offset. */
  alloc(count: number): number {
    return this.#heap.reserve(count * 4);
  }

  /** A float32 view of `count` elements at byte offset `at`. */
  f32(at: number, count: number): Float32Array {
    return new Float32Array(this.#heap.buffer, at, count);
  }

  /** An int32 view of `count` elements at byte offset `at`. */
  i32(at: number, count: number): Int32Array {
    return new Int32Array(this.#heap.buffer, at, count);
  }
}
