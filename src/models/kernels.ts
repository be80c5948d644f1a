import { wasmApi, type WasmMemory } from '../common/wasm-api.ts';
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

const WASM_PAGE = 65536;
/** Bytes below this stay unused: the compiled module may place its own data there. */
const RESERVED = WASM_PAGE;

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
  readonly #memory: WasmMemory;
  #top = RESERVED;
  #version = 0;

  constructor() {
    this.#memory = new wasm.Memory({ initial: 2 });
    const instance = new wasm.Instance(kernelModule(), {
      env: { memory: this.#memory },
    });
    this.k = instance.exports as unknown as KernelExports;
  }

  /** Increases whenever the memory grows (every earlier view is then detached). */
  get version(): number {
    return this.#version;
  }

  /** Reserves `count` 4-byte elements, 16-byte aligned, zeroed; returns their byte offset. */
  alloc(count: number): number {
    const at = this.#top;
    this.#top = at + ((count * 4 + 15) & ~15);
    const have = this.#memory.buffer.byteLength;
    if (this.#top > have) {
      this.#memory.grow(Math.ceil((this.#top - have) / WASM_PAGE));
      this.#version++;
    }
    return at;
  }

  /** A float32 view of `count` elements at byte offset `at`. */
  f32(at: number, count: number): Float32Array {
    return new Float32Array(this.#memory.buffer, at, count);
  }

  /** An int32 view of `count` elements at byte offset `at`. */
  i32(at: number, count: number): Int32Array {
    return new Int32Array(this.#memory.buffer, at, count);
  }
}
