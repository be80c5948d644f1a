import { stream } from '../../src/common/rng.ts';
import type { Examples } from '../../src/models/types.ts';

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
