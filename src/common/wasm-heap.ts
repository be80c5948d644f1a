import type { WasmApi, WasmMemory } from './wasm-api.ts';

/** Bytes in one WebAssembly memory page. */
const WASM_PAGE = 65536;
/** Bytes below this stay unused: a compiled module may place its own data there. */
const RESERVED = WASM_PAGE;

/**
 * One instance of a compiled module with its own memory, and a bump allocator over that memory above its first
 * page. Regions are never freed, so each is zeroed when handed out; growing the memory detaches every
 * typed-array view of it, so holders of views re-create them after allocating (`version` counts growths).
 */
export class WasmHeap<Exports> {
  /** The instance's exported functions. */
  readonly exports: Exports;
  readonly #memory: WasmMemory;
  readonly #maxBytes: number;
  #top = RESERVED;
  #version = 0;

  /** `maxBytes`: the most the memory grows to; allocations beyond it fail. */
  constructor(api: WasmApi, module: object, maxBytes = Number.POSITIVE_INFINITY) {
    this.#maxBytes = maxBytes;
    this.#memory = new api.Memory({ initial: 2 });
    this.exports = new api.Instance(module, { env: { memory: this.#memory } }).exports as Exports;
  }

  /** The memory's current buffer (detached by the next growth). */
  get buffer(): ArrayBuffer {
    return this.#memory.buffer;
  }

  /** Bytes of memory the instance holds. */
  get bytes(): number {
    return this.#memory.buffer.byteLength;
  }

  /** The most bytes the memory grows to. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** The first byte no allocation has taken yet. */
  get top(): number {
    return this.#top;
  }

  /** Increases whenever the memory grows (every earlier view is then detached). */
  get version(): number {
    return this.#version;
  }

  /** The byte offset of `bytes` of fresh memory, 16-byte aligned, or undefined past `maxBytes` or the runtime's limit. */
  alloc(bytes: number): number | undefined {
    const at = this.#top;
    const top = at + Math.ceil(bytes / 16) * 16;
    if (top > this.#maxBytes) return undefined;
    const have = this.#memory.buffer.byteLength;
    if (top > have) {
      try {
        this.#memory.grow(Math.ceil((top - have) / WASM_PAGE));
      } catch {
        return undefined;
      }
      this.#version++;
    }
    this.#top = top;
    return at;
  }

  /** As {@link alloc}, but throws a RangeError where that returns undefined. */
  reserve(bytes: number): number {
    const at = this.alloc(bytes);
    if (at === undefined) throw new RangeError(`a WebAssembly memory cannot grow by ${bytes} bytes`);
    return at;
  }
}
