import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { initialParameters, parameterSpec } from '../../src/models/architecture.ts';

describe('parameterSpec', () => {
  it('lists logistic weights', () => {
    const spec = parameterSpec({ kind: 'logistic' }, [9]);
    expect(spec.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['output/kernel', [9, 1]],
      ['output/bias', [1]],
    ]);
    expect(spec.length).toBe(10);
  });

  it('lists mlp weights layer by layer, kernel then bias', () => {
    const spec = parameterSpec({ kind: 'mlp', hidden: [32, 16], activation: 'relu' }, [9]);
    expect(spec.tensors.map((t) => [t.name, t.shape, t.offset])).toEqual([
      ['dense_0/kernel', [9, 32], 0],
      ['dense_0/bias', [32], 288],
      ['dense_1/kernel', [32, 16], 320],
      ['dense_1/bias', [16], 832],
      ['output/kernel', [16, 1], 848],
      ['output/bias', [1], 864],
    ]);
    expect(spec.length).toBe(865);
  });

  it('lists cnn weights with pooled spatial size in the dense layer', () => {
    const spec = parameterSpec({ kind: 'cnn', filters: [8, 16], kernelSize: 3, dense: 32 }, [28, 28, 1]);
    expect(spec.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['conv_0/kernel', [3, 3, 1, 8]],
      ['conv_0/bias', [8]],
      ['conv_1/kernel', [3, 3, 8, 16]],
      ['conv_1/bias', [16]],
      ['dense_0/kernel', [7 * 7 * 16, 32]],
      ['dense_0/bias', [32]],
      ['output/kernel', [32, 1]],
      ['output/bias', [1]],
    ]);
  });

  it('rejects inputs a cnn cannot take', () => {
    expect(() =>
      parameterSpec({ kind: 'cnn', filters: [4, 4, 4], kernelSize: 3, dense: 8 }, [4, 4, 1]),
    ).toThrow(/too small for 3 conv blocks/);
    expect(() => parameterSpec({ kind: 'cnn', filters: [4], kernelSize: 3, dense: 8 }, [9])).toThrow(
      /image inputs/,
    );
  });
});

describe('initialParameters', () => {
  const spec = parameterSpec({ kind: 'cnn', filters: [4], kernelSize: 3, dense: 8 }, [8, 8, 2]);

  it('is deterministic per stream name', () => {
    const a = initialParameters(spec, stream(3, 'init'));
    const b = initialParameters(spec, stream(3, 'init'));
    const c = initialParameters(spec, stream(3, 'init', 'other'));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('draws Glorot-uniform kernels and zero biases', () => {
    const p = initialParameters(spec, stream(3, 'init'));
    const fans: Record<string, [number, number]> = {
      'conv_0/kernel': [3 * 3 * 2, 3 * 3 * 4],
      'dense_0/kernel': [4 * 4 * 4, 8],
      'output/kernel': [8, 1],
    };
    for (const t of spec.tensors) {
      const v = p.subarray(t.offset, t.offset + t.size);
      if (t.name.endsWith('/bias')) {
        expect(v.every((e) => e === 0)).toBe(true);
        continue;
      }
      const [fanIn, fanOut] = fans[t.name]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      let max = 0;
      let sum = 0;
      for (const e of v) {
        max = Math.max(max, Math.abs(e));
        sum += e;
      }
      expect(max).toBeLessThanOrEqual(limit);
      if (t.size >= 64) {
        expect(max).toBeGreaterThan(0.8 * limit);
        expect(Math.abs(sum / t.size)).toBeLessThan(0.25 * limit);
      }
    }
  });
});
