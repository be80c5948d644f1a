import { expect } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import type { Examples, LocalTrainer } from '../../src/models/types.ts';

/** Linearly separable tabular examples: label 1 iff w·x > 0 for a fixed seeded w. */
export function separable(n: number, features: number, name: string): Examples {
  const rng = stream(11, 'test-data', name);
  const w = Array.from({ length: features }, () => rng.normal());
  const x = new Float32Array(n * features);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < features; j++) {
      const v = rng.normal();
      x[i * features + j] = v;
      z += w[j]! * v;
    }
    y[i] = z > 0 ? 1 : 0;
  }
  return { x, y, n, inputShape: [features] };
}

/** Tiny single-channel images: label 1 iff the left half is brighter than the right. */
export function images(n: number, size: number, name: string): Examples {
  const rng = stream(11, 'test-images', name);
  const x = new Float32Array(n * size * size);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const label = rng.next() < 0.5 ? 1 : 0;
    y[i] = label;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const left = c < size / 2;
        const bright = (left ? label : 1 - label) * 0.8;
        x[(i * size + r) * size + c] = bright + 0.3 * rng.normal();
      }
    }
  }
  return { x, y, n, inputShape: [size, size, 1] };
}

/** Share of examples whose probability falls on the right side of 0.5. */
export function accuracy(probs: Float32Array, y: Float32Array): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) if (probs[i]! > 0.5 === (y[i] === 1)) right++;
  return right / y.length;
}

/** The bytes of a float vector, for bit-for-bit comparisons. */
export function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * The LocalTrainer contract on parameters: set then get returns the same bits (a tiny subnormal-range value
 * and −0 included), every get is an independent copy, and a vector of the wrong length is refused.
 */
export function expectParameterRoundTrip(trainer: LocalTrainer): void {
  const p = initialParameters(trainer.spec, stream(21, 'rt'));
  p[3] = 1e-38;
  p[4] = -0;
  const original = p.slice();
  trainer.setParameters(p);
  const q = trainer.getParameters();
  expect(bytes(q).equals(bytes(original))).toBe(true);
  p.fill(7);
  q.fill(9);
  expect(bytes(trainer.getParameters()).equals(bytes(original))).toBe(true);
  expect(trainer.getParameters()).not.toBe(trainer.getParameters());
  expect(() => trainer.setParameters(new Float32Array(3))).toThrow(/expected \d+ parameters, got 3/);
}
