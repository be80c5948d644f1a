import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmConv2DBackpropFilter } from '../../src/models/wasm-conv2d-grad.ts';
import { stream } from '../../src/common/rng.ts';

type Pad = 'same' | 'valid' | 0;

interface Case {
  readonly x: [number, number, number, number];
  readonly f: [number, number, number, number];
  readonly strides: number | [number, number];
  readonly pad: Pad;
}

const CASES: readonly Case[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [3, 8, 9, 1], f: [3, 3, 1, 8], strides: 1, pad: 'valid' },
  { x: [3, 8, 9, 2], f: [3, 3, 2, 5], strides: 2, pad: 'same' },
  { x: [2, 9, 8, 1], f: [5, 5, 1, 3], strides: 2, pad: 'valid' },
  { x: [2, 10, 10, 8], f: [2, 2, 8, 16], strides: 2, pad: 'same' },
  { x: [2, 11, 7, 4], f: [3, 2, 4, 6], strides: [2, 1], pad: 'same' },
  { x: [2, 8, 8, 3], f: [1, 1, 3, 2], strides: 3, pad: 'same' }, // filter < stride: 3-D 'same' pad maths would go negative
  { x: [4, 12, 12, 16], f: [3, 3, 16, 8], strides: 1, pad: 0 },
];

beforeAll(async () => {
  registerWasmConv2DBackpropFilter();
  await tf.setBackend('wasm');
  await tf.ready();
});

/** d/dfilter of sum(conv2d(x, filter) * r) with seeded x, filter and r, on `backend`. */
async function filterGrad(backend: string, c: Case, seed: number): Promise<Float32Array> {
  await tf.setBackend(backend);
  await tf.ready();
  return tf.tidy(() => {
    const x = tf.randomNormal<tf.Rank.R4>(c.x, 0, 1, 'float32', seed);
    const f = tf.randomNormal<tf.Rank.R4>(c.f, 0, 1, 'float32', seed + 1);
    const y = tf.conv2d(x, f, c.strides, c.pad);
    const r = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
    const g = tf.grad((ff) => tf.sum(tf.mul(tf.conv2d(x, ff as tf.Tensor4D, c.strides, c.pad), r)))(f);
    return Float32Array.from(g.dataSync());
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; scale: number } {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return { diff, scale };
}

function buildNet(seed: number): tfl.Sequential {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10, kernelInitializer: init(3) }),
    ],
  });
}

function batch(n: number, seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = stream(seed, 'test', 'wasm-conv2d-grad', 'labels');
  const labels = Int32Array.from({ length: n }, () => rng.int(10));
  return {
    x: tf.randomNormal([n, 28, 28, 1], 0, 1, 'float32', seed),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) as tf.Tensor2D,
  };
}

describe('wasm Conv2DBackpropFilter', () => {
  it.each(CASES.map((c, i) => [i, c] as const))('matches cpu: case %i %o', async (i, c) => {
    const cpu = await filterGrad('cpu', c, 100 + i);
    const wasm = await filterGrad('wasm', c, 100 + i);
    const { diff, scale } = maxAbsDiff(cpu, wasm);
    expect(scale).toBeGreaterThan(0);
    expect(diff).toBeLessThanOrEqual(2e-6 * Math.max(1, scale));
  });

  it('is idempotent and leaves the registered kernel in place', async () => {
    const before = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    expect(before).toBeDefined();
    registerWasmConv2DBackpropFilter();
    registerWasmConv2DBackpropFilter();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(before);
    expect(tf.getKernel('Conv2DBackpropFilter', 'cpu')?.kernelFunc).not.toBe(before?.kernelFunc);
    const c = CASES[0]!;
    const { diff, scale } = maxAbsDiff(await filterGrad('cpu', c, 5), await filterGrad('wasm', c, 5));
    expect(diff).toBeLessThanOrEqual(2e-6 * Math.max(1, scale));
  });

  it('rejects unsupported attributes by name', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 6, 6, 2]);
    const dy = tf.zeros([1, 6, 6, 3]);
    const base = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] };
    const run = (attrs: Record<string, unknown>) => () =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...base, ...attrs } as tf.NamedAttrMap);
    expect(run({ dataFormat: 'NCHW' })).toThrow(/dataFormat/);
    expect(run({ dilations: [2, 2] })).toThrow(/dilations/);
    expect(run({ pad: 1 })).toThrow(/pad/);
    expect(
      run({
        pad: [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ],
      }),
    ).toThrow(/pad/);
    tf.dispose([x, dy]);
  });

  it('gives a tf.layers conv net the same gradients as cpu', async () => {
    const grads = async (backend: string): Promise<Float32Array[]> => {
      await tf.setBackend(backend);
      const model = buildNet(3);
      const { x, y } = batch(8, 3);
      const { grads: g } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      );
      const out = model.trainableWeights.map((w) => {
        const t = g[w.name];
        if (t === undefined) throw new Error(`no gradient for ${w.name}`);
        return Float32Array.from(t.dataSync());
      });
      tf.dispose([x, y, ...Object.values(g)]);
      model.dispose();
      return out;
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((c, k) => {
      const { diff, scale } = maxAbsDiff(c, wasm[k]!);
      expect(diff).toBeLessThanOrEqual(1e-5 * Math.max(1, scale));
    });
  });

  it('trains conv8-pool-conv16-pool-dense on wasm with decreasing loss', async () => {
    await tf.setBackend('wasm');
    const model = buildNet(1);
    const optimizer = tf.train.sgd(0.05);
    const { x, y } = batch(32, 1);
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
        true,
      );
      losses.push(loss?.dataSync()[0] ?? NaN);
      loss?.dispose();
    }
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]!).toBeLessThan(0.7 * losses[0]!);
  });
});
