/** A WebAssembly memory, as far as fedmed uses one. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The parts of the WebAssembly JavaScript API fedmed uses (this project's type libraries do not declare it). */
export interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Instance: new (module: object, imports: object) => { readonly exports: object };
}

/** This runtime's WebAssembly API, or undefined where it has none. */
export const wasmApi: WasmApi | undefined = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
