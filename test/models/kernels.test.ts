import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { KernelArena } from '../../src/models/kernels.ts';
import { bytes } from './fixtures.ts';

const f32 = Math.fround;

/** C = A·B in plain JavaScript, each element summed over p in ascending order, in float64 or in float32. */
function reference(
  m: number,
  n: number,
  depth: number,
  a: Float32Array,
  aRow: number,
  aCol: number,
  b: Float32Array,
  single: boolean,
): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < depth; p++) {
        const x = a[i * aRow + p * aCol]! * b[p * n + j]!;
        s = single ? f32(s + f32(x)) : s + x;
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

describe('WebAssembly matrix products', () => {
  // Thin, short, padded and multi-pass shapes, with A read row-major and transposed.
  const SHAPES = [
    [1, 1, 1],
    [3, 5, 7],
    [9, 8, 300],
    [17, 6, 40],
    [33, 13, 600],
    [64, 32, 128],
    [40, 3, 257],
  ] as const;

  it.each(SHAPES)('%i×%i over depth %i: bit for bit the plain float64 and float32 loops', (m, n, depth) => {
    const arena = new KernelArena();
    const rng = stream(41, 'kernels', m, n, depth);
    const aAt = arena.alloc(m * depth);
    const bAt = arena.alloc(depth * n);
    const cAt = arena.alloc(m * n);
    const scratch = arena.alloc(Math.ceil(arena.k.gemmScratch(m, n, depth) / 4));
    const a = arena.f32(aAt, m * depth);
    const b = arena.f32(bAt, depth * n);
    for (let i = 0; i < a.length; i++) a[i] = rng.normal();
    for (let i = 0; i < b.length; i++) b[i] = rng.normal();
    for (const [aRow, aCol] of [
      [depth, 1],
      [1, m],
    ] as const) {
      arena.k.gemm(m, n, depth, aAt, aRow, aCol, bAt, n, cAt, n, scratch);
      const double = reference(m, n, depth, a, aRow, aCol, b, false);
      expect(bytes(arena.f32(cAt, m * n)).equals(bytes(double))).toBe(true);
      arena.k.gemm32(m, n, depth, aAt, aRow, aCol, bAt, n, cAt, n, scratch);
      const single = reference(m, n, depth, a, aRow, aCol, b, true);
      expect(bytes(arena.f32(cAt, m * n)).equals(bytes(single))).toBe(true);
      expect(bytes(single).equals(bytes(double))).toBe(depth === 1);
    }
  });
});
