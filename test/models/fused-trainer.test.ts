import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { stream } from '../../src/common/rng.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import { selectBackend } from '../../src/models/backend.ts';
import { createFusedTrainer } from '../../src/models/fused-trainer.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import type { Examples, LocalTrainer, TrainOptions } from '../../src/models/types.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';
import { bytes, expectParameterRoundTrip } from './fixtures.ts';

const FEATURES = 9;
const LOGISTIC: ModelConfig = { kind: 'logistic' };
const MLP: ModelConfig = { kind: 'mlp', hidden: [16, 8], activation: 'relu' };
const TANH_MLP: ModelConfig = { kind: 'mlp', hidden: [16, 8], activation: 'tanh' };
const CNN: ModelConfig = { kind: 'cnn', filters: [4], kernelSize: 3, dense: 8 };

/**
 * Measured against tfjs on cpu (n = 203, batch 16, every case below): after one epoch at most 6.0e-8 in
 * any parameter and 1.3e-8 in loss; after ten epochs 2.4e-7 and 2.0e-8. Both trainers are deterministic,
 * so these figures do not move between runs; the bounds leave a margin of 8× or more.
 */
const ONE_EPOCH = 1e-6;
const TEN_EPOCHS = 2e-6;

/** Noisy tabular examples (not separable, so gradients stay alive): y ~ Bernoulli(σ(w·x)). */
function noisy(n: number, name: string): Examples {
  const rng = stream(21, 'fused-test', name);
  const w = Array.from({ length: FEATURES }, () => 1.5 * rng.normal());
  const x = new Float32Array(n * FEATURES);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < FEATURES; j++) {
      const v = rng.normal();
      x[i * FEATURES + j] = v;
      z += w[j]! * v;
    }
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y, n, inputShape: [FEATURES] };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A small seeded vector of the model's length, e.g. a FedProx reference or a SCAFFOLD correction. */
function vector(trainer: LocalTrainer, name: string, scale: number): Float32Array {
  const rng = stream(21, 'fused-test-vector', name);
  return Float32Array.from({ length: trainer.spec.length }, () => scale * rng.normal());
}

type Extra = 'none' | 'proximal' | 'correction' | 'both';

function options(
  trainer: LocalTrainer,
  optimizer: 'sgd' | 'adam',
  extra: Extra,
  epochs: number,
): TrainOptions {
  const base: TrainOptions = {
    localEpochs: epochs,
    batchSize: 16,
    learningRate: optimizer === 'sgd' ? 0.1 : 0.01,
    optimizer,
  };
  const proximal = { mu: 0.5, reference: vector(trainer, 'reference', 0.3) };
  const gradientCorrection = vector(trainer, 'correction', 0.05);
  switch (extra) {
    case 'none':
      return base;
    case 'proximal':
      return { ...base, proximal };
    case 'correction':
      return { ...base, gradientCorrection };
    case 'both':
      return { ...base, proximal, gradientCorrection };
  }
}

/** Trains a tfjs (cpu) and a fused trainer from the same parameters, data and named rng stream. */
function trainBoth(model: ModelConfig, optimizer: 'sgd' | 'adam', extra: Extra, epochs: number) {
  const data = noisy(203, 'agree');
  const tfjs = createTfjsTrainer(model, [FEATURES]);
  const fused = createFusedTrainer(model, [FEATURES]);
  const initial = initialParameters(tfjs.spec, stream(21, 'init'));
  tfjs.setParameters(initial);
  fused.setParameters(initial);
  const opts = options(tfjs, optimizer, extra, epochs);
  const a = tfjs.train(data, opts, stream(21, 'train', 'agree'));
  const b = fused.train(data, opts, stream(21, 'train', 'agree'));
  const result = {
    a,
    b,
    params: maxAbsDiff(tfjs.getParameters(), fused.getParameters()),
    moved: maxAbsDiff(initial, fused.getParameters()),
  };
  tfjs.dispose();
  fused.dispose();
  return result;
}

const CASES = [
  ['sgd', 'none'],
  ['sgd', 'proximal'],
  ['sgd', 'correction'],
  ['sgd', 'both'],
  ['adam', 'none'],
  ['adam', 'proximal'],
] as const;

describe('fused trainer (backend js) against the tfjs trainer on cpu', () => {
  beforeAll(async () => {
    await selectBackend('cpu', MLP);
  });

  describe.each([
    ['logistic', LOGISTIC],
    ['mlp [16, 8]', MLP],
  ] as const)('%s', (_label, model) => {
    it.each(CASES)('one epoch of %s with %s: same steps, parameters and loss', (optimizer, extra) => {
      const { a, b, params, moved } = trainBoth(model, optimizer, extra, 1);
      expect(b.steps).toBe(a.steps);
      expect(b.steps).toBe(13);
      expect(moved).toBeGreaterThan(1e-3);
      expect(params).toBeLessThan(ONE_EPOCH);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(ONE_EPOCH);
    });
  });

  it.each([
    ['logistic', LOGISTIC],
    ['relu mlp', MLP],
    ['tanh mlp', TANH_MLP],
  ] as const)('%s stays close after ten epochs of every optimizer and adjustment', (_label, model) => {
    for (const [optimizer, extra] of CASES) {
      const { a, b, params } = trainBoth(model, optimizer, extra, 10);
      expect(b.steps).toBe(a.steps);
      expect(b.steps).toBe(130);
      expect(params).toBeLessThan(TEN_EPOCHS);
      expect(Math.abs(a.loss - b.loss)).toBeLessThan(TEN_EPOCHS);
    }
  });

  it('predicts the same probabilities from the same parameters, both ways round', () => {
    const data = noisy(203, 'predict');
    for (const model of [LOGISTIC, MLP, TANH_MLP]) {
      const tfjs = createTfjsTrainer(model, [FEATURES]);
      const fused = createFusedTrainer(model, [FEATURES]);
      tfjs.setParameters(initialParameters(tfjs.spec, stream(21, 'init', 'predict')));
      tfjs.train(data, options(tfjs, 'sgd', 'none', 3), stream(21, 'train', 'predict'));
      fused.setParameters(tfjs.getParameters());
      const p = fused.predict(data);
      expect(p).toBeInstanceOf(Float32Array);
      expect(maxAbsDiff(p, tfjs.predict(data))).toBeLessThan(1e-6);
      fused.train(data, options(fused, 'adam', 'none', 2), stream(21, 'train', 'back'));
      tfjs.setParameters(fused.getParameters());
      expect(maxAbsDiff(fused.predict(data), tfjs.predict(data))).toBeLessThan(1e-6);
      tfjs.dispose();
      fused.dispose();
    }
  });
});

describe('fused trainer', () => {
  it('is bit-for-bit deterministic across fresh trainers, and follows the rng', () => {
    const data = noisy(203, 'det');
    for (const model of [LOGISTIC, MLP, TANH_MLP]) {
      for (const optimizer of ['sgd', 'adam'] as const) {
        const run = (name: string) => {
          const t = createFusedTrainer(model, [FEATURES]);
          t.setParameters(initialParameters(t.spec, stream(21, 'init', 'det')));
          const losses = [0, 1].map(
            (r) => t.train(data, options(t, optimizer, 'proximal', 2), stream(21, name, r)).loss,
          );
          const out = { params: t.getParameters(), losses, probs: t.predict(data) };
          t.dispose();
          return out;
        };
        const a = run('train');
        const b = run('train');
        expect(bytes(b.params).equals(bytes(a.params))).toBe(true);
        expect(bytes(b.probs).equals(bytes(a.probs))).toBe(true);
        expect(b.losses).toEqual(a.losses);
        expect(bytes(run('other').params).equals(bytes(a.params))).toBe(false);
      }
    }
  });

  it('round-trips parameters exactly and hands out independent copies', () => {
    const trainer = createFusedTrainer(MLP, [FEATURES]);
    expect(trainer.spec.length).toBe(FEATURES * 16 + 16 + 16 * 8 + 8 + 8 + 1);
    expectParameterRoundTrip(trainer);
    trainer.dispose();
    expect(() => trainer.getParameters()).toThrow('trainer has been disposed');
  });

  it('validates its inputs as the tfjs trainer does', () => {
    const trainer = createFusedTrainer(LOGISTIC, [FEATURES]);
    const data = noisy(20, 'validate');
    const sgd: TrainOptions = { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' };
    const rng = stream(21, 'validate');
    expect(() =>
      trainer.train(data, { ...sgd, optimizer: 'adam', gradientCorrection: vector(trainer, 'c', 1) }, rng),
    ).toThrow(/gradientCorrection \(SCAFFOLD\) needs optimizer 'sgd'/);
    expect(() =>
      trainer.train(data, { ...sgd, proximal: { mu: -1, reference: vector(trainer, 'r', 1) } }, rng),
    ).toThrow(/proximal.mu must be a finite number ≥ 0/);
    expect(() => trainer.train(data, { ...sgd, batchSize: 0 }, rng)).toThrow(
      /batchSize must be a positive integer/,
    );
    expect(() => trainer.predict({ ...data, inputShape: [3, 3] })).toThrow(/the model expects \[9\]/);
    expect(trainer.train(data, { ...sgd, batchSize: 64 }, rng).steps).toBe(1);
    trainer.dispose();
  });

  it('backend js takes a cnn too, without touching tfjs', async () => {
    expect(createFusedTrainer(CNN, [8, 8, 1]).spec.length).toBe(3 * 3 * 4 + 4 + 4 * 4 * 4 * 8 + 8 + 8 + 1);
    await selectBackend('cpu', LOGISTIC);
    expect(await selectBackend('js', CNN)).toBe('js');
    expect(await selectBackend('js', MLP)).toBe('js');
    expect(tf.getBackend()).toBe('cpu');
  });
});
