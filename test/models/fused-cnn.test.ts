import { beforeAll, describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import { selectBackend } from '../../src/models/backend.ts';
import { createFusedTrainer, type Accumulation } from '../../src/models/fused-trainer.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import type { Examples, TrainOptions } from '../../src/models/types.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';
import { bytes, expectParameterRoundTrip } from './fixtures.ts';

/** Two conv blocks, the second pooling an odd 5×5 map (its last row and column are dropped), as tfjs does. */
const CNN: ModelConfig = { kind: 'cnn', filters: [4, 6], kernelSize: 3, dense: 8 };
/** An even kernel: tfjs pads 'same' with one row and column before and two after. */
const EVEN: ModelConfig = { kind: 'cnn', filters: [3, 4], kernelSize: 4, dense: 6 };
const SIZE = 10;
const BATCH = 8;

/** Noisy images with 2 channels whose label depends on a bright patch, so gradients stay alive. */
function noisyImages(n: number, name: string): Examples {
  const rng = stream(31, 'fused-cnn', name);
  const x = new Float32Array(n * SIZE * SIZE * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.5 ? 1 : 0;
    for (let p = 0; p < SIZE * SIZE * 2; p++) {
      const patch = p % (SIZE * 2) < 8 && p < SIZE * 8;
      x[i * SIZE * SIZE * 2 + p] = rng.normal() * 0.5 + (patch ? 0.6 * y[i]! : 0);
    }
  }
  return { x, y, n, inputShape: [SIZE, SIZE, 2] };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Trains a tfjs (cpu) and a fused trainer from the same parameters on the same minibatches. */
function trainBoth(
  model: ModelConfig,
  n: number,
  options: TrainOptions,
  name: string,
  accumulation: Accumulation = 'float64',
) {
  const data = noisyImages(n, name);
  const tfjs = createTfjsTrainer(model, data.inputShape);
  const fused = createFusedTrainer(model, data.inputShape, accumulation);
  const initial = initialParameters(tfjs.spec, stream(31, 'init', name));
  tfjs.setParameters(initial);
  fused.setParameters(initial);
  const a = tfjs.train(data, options, stream(31, 'train', name));
  const b = fused.train(data, options, stream(31, 'train', name));
  const result = {
    a,
    b,
    initial,
    tfjs: tfjs.getParameters(),
    fused: fused.getParameters(),
    probs: [tfjs.predict(data), fused.predict(data)] as const,
  };
  tfjs.dispose();
  fused.dispose();
  return result;
}

/**
 * Measured (every case below, deterministic on both sides): one step at learning rate 1 moves parameters by up
 * to 0.43 and leaves the two trainers at most 3.0e-8 apart (loss 3.2e-8); after ten steps of SGD or Adam at
 * most 6.0e-8 apart in any parameter and in any predicted probability; js-f32 after the same ten steps also
 * 6.0e-8 from tfjs (and from js). The bounds leave a margin of 10×.
 */
describe('fused cnn (backend js) against the tfjs trainer on cpu', () => {
  beforeAll(async () => {
    await selectBackend('cpu', CNN);
  });

  it.each([
    ['3×3', CNN],
    ['4×4', EVEN],
  ] as const)(
    '%s kernels: one full-batch SGD step at learning rate 1 is minus the same gradient',
    (_l, model) => {
      const { a, b, initial, tfjs, fused } = trainBoth(
        model,
        BATCH,
        { localEpochs: 1, batchSize: BATCH, learningRate: 1, optimizer: 'sgd' },
        `gradient-${model.kernelSize}`,
      );
      expect(b.steps).toBe(1);
      // Every tensor moves (each gradient is alive), and by the same amount to float32 rounding.
      expect(maxAbsDiff(initial, fused)).toBeGreaterThan(1e-3);
      expect(maxAbsDiff(tfjs, fused)).toBeLessThan(2e-6);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-6);
    },
  );

  it('follows tfjs for a 10-step trajectory of SGD and of Adam', () => {
    for (const optimizer of ['sgd', 'adam'] as const) {
      const { a, b, initial, tfjs, fused, probs } = trainBoth(
        CNN,
        10 * BATCH,
        { localEpochs: 1, batchSize: BATCH, learningRate: optimizer === 'sgd' ? 0.1 : 0.01, optimizer },
        `trajectory-${optimizer}`,
      );
      expect(b.steps).toBe(10);
      expect(maxAbsDiff(initial, fused)).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(tfjs, fused)).toBeLessThan(6e-7);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(6e-7);
      expect(maxAbsDiff(probs[0], probs[1])).toBeLessThan(6e-7);
    }
  });
  it('js-f32 (float32 accumulation) stays near tfjs over the same 10 steps, in other last bits than js', () => {
    for (const optimizer of ['sgd', 'adam'] as const) {
      const options: TrainOptions = {
        localEpochs: 1,
        batchSize: BATCH,
        learningRate: optimizer === 'sgd' ? 0.1 : 0.01,
        optimizer,
      };
      const f32 = trainBoth(CNN, 10 * BATCH, options, `trajectory-${optimizer}`, 'float32');
      const f64 = trainBoth(CNN, 10 * BATCH, options, `trajectory-${optimizer}`, 'float64');
      expect(f32.b.steps).toBe(10);
      expect(maxAbsDiff(f32.tfjs, f32.fused)).toBeLessThan(6e-7);
      expect(maxAbsDiff(f32.probs[0], f32.probs[1])).toBeLessThan(6e-7);
      expect(bytes(f32.fused).equals(bytes(f64.fused))).toBe(false);
    }
  });
});

describe('fused cnn', () => {
  it('is bit-for-bit deterministic across fresh trainers, and learns', () => {
    const data = noisyImages(96, 'learn');
    const run = (accumulation: Accumulation) => {
      const t = createFusedTrainer(CNN, data.inputShape, accumulation);
      t.setParameters(initialParameters(t.spec, stream(31, 'init', 'learn')));
      const options: TrainOptions = { localEpochs: 6, batchSize: 16, learningRate: 0.01, optimizer: 'adam' };
      const first = t.train(data, { ...options, localEpochs: 1 }, stream(31, 'learn', 0)).loss;
      const last = t.train(data, options, stream(31, 'learn', 1)).loss;
      const out = { params: t.getParameters(), probs: t.predict(data), first, last };
      t.dispose();
      return out;
    };
    for (const accumulation of ['float64', 'float32'] as const) {
      const a = run(accumulation);
      const b = run(accumulation);
      expect(bytes(b.params).equals(bytes(a.params))).toBe(true);
      expect(bytes(b.probs).equals(bytes(a.probs))).toBe(true);
      expect(a.last).toBeLessThan(0.8 * a.first);
    }
  });

  it('round-trips parameters exactly', () => {
    const trainer = createFusedTrainer(CNN, [SIZE, SIZE, 2]);
    expectParameterRoundTrip(trainer);
    trainer.dispose();
  });
});
