import { describe, expect, it } from 'vitest';
import { wasmApi } from '../../src/common/wasm-api.ts';
import { WasmHeap } from '../../src/common/wasm-heap.ts';

/** The smallest module a heap can instantiate: it imports `env.memory` and nothing else. */
const MEMORY_ONLY = Uint8Array.of(
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x02, 0x0f, 0x01, 0x03, ...Buffer.from('env'), 0x06, ...Buffer.from('memory'), 0x02, 0x00, 0x00],
);

function heap(maxBytes?: number): WasmHeap<object> {
  const api = wasmApi!;
  return new WasmHeap<object>(api, new api.Module(MEMORY_ONLY), maxBytes);
}

describe('WasmHeap', () => {
  it('hands out 16-byte aligned, disjoint, zeroed regions above its first page, growing the memory as needed', () => {
    const h = heap();
    expect(h.bytes).toBe(2 * 65536);
    const a = h.reserve(5);
    const b = h.reserve(16);
    expect([a, b]).toEqual([65536, 65536 + 16]);
    new Uint8Array(h.buffer, a, 5).fill(7);
    expect(h.version).toBe(0);
    const view = new Uint8Array(h.buffer, b, 16);
    const c = h.reserve(100_000);
    expect(c).toBe(65536 + 32);
    expect(h.version).toBe(1);
    expect(view.byteLength).toBe(0); // growing detached the earlier view
    expect(h.bytes).toBe(65536 * Math.ceil((c + 100_000) / 65536));
    expect(new Uint8Array(h.buffer, c, 100_000).every((x) => x === 0)).toBe(true);
    expect(new Uint8Array(h.buffer, a, 5)).toEqual(new Uint8Array(5).fill(7));
    expect(h.top).toBe(c + 100_000);
  });

  it('refuses what would pass its cap, without taking anything', () => {
    const h = heap(4 * 65536);
    const top = h.top;
    expect(h.alloc(3 * 65536 + 1)).toBeUndefined();
    expect(h.top).toBe(top);
    expect(() => h.reserve(3 * 65536 + 1)).toThrow(RangeError);
    expect(h.alloc(3 * 65536)).toBe(top);
    expect(h.top).toBe(h.maxBytes);
    expect(h.alloc(1)).toBeUndefined();
  });
});
