import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { stream } from '../../src/common/rng.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import { selectBackend, type BackendName } from '../../src/models/backend.ts';
import { buildModel } from '../../src/models/build.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import type { Examples, TrainOptions } from '../../src/models/types.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';
import { accuracy, bytes, expectParameterRoundTrip, images, separable } from './fixtures.ts';

const MLP: ModelConfig = { kind: 'mlp', hidden: [16, 8], activation: 'relu' };
const TANH_MLP: ModelConfig = { kind: 'mlp', hidden: [8], activation: 'tanh' };
const CNN: ModelConfig = { kind: 'cnn', filters: [4], kernelSize: 3, dense: 8 };

/** Trains a freshly initialised model; returns the trainer (caller disposes) and per-call losses. */
function trainFresh(config: ModelConfig, data: Examples, options: TrainOptions, calls: number, seed = 5) {
  const trainer = createTfjsTrainer(config, data.inputShape);
  trainer.setParameters(initialParameters(trainer.spec, stream(seed, 'init')));
  const losses: number[] = [];
  for (let r = 0; r < calls; r++) losses.push(trainer.train(data, options, stream(seed, 'train', r)).loss);
  return { trainer, losses };
}

describe.each(['wasm', 'cpu'] as const)('tfjs trainer on %s', (backend: BackendName) => {
  const use = (model: ModelConfig = MLP) => selectBackend(backend, model);

  it('round-trips parameters exactly and hands out independent copies', async () => {
    await use();
    const trainer = createTfjsTrainer(MLP, [9]);
    expectParameterRoundTrip(trainer);
    trainer.dispose();
  });

  it('trains logistic regression to high accuracy', async () => {
    await use({ kind: 'logistic' });
    const data = separable(400, 9, 'logistic');
    const opts: TrainOptions = { localEpochs: 5, batchSize: 32, learningRate: 0.5, optimizer: 'sgd' };
    const { trainer, losses } = trainFresh({ kind: 'logistic' }, data, opts, 4);
    expect(losses[3]!).toBeLessThan(losses[0]!);
    expect(losses[3]!).toBeLessThan(0.2);
    expect(accuracy(trainer.predict(data), data.y)).toBeGreaterThan(0.95);
    trainer.dispose();
  });

  it('trains an mlp to high accuracy with adam', async () => {
    await use();
    const data = separable(400, 9, 'mlp');
    const opts: TrainOptions = { localEpochs: 5, batchSize: 32, learningRate: 0.01, optimizer: 'adam' };
    const { trainer, losses } = trainFresh(MLP, data, opts, 4);
    expect(losses[3]!).toBeLessThan(losses[0]!);
    expect(accuracy(trainer.predict(data), data.y)).toBeGreaterThan(0.95);
    trainer.dispose();
  });

  it('is bit-for-bit deterministic and independent of the trainer instance', async () => {
    await use(TANH_MLP);
    const data = separable(203, 9, 'det');
    for (const optimizer of ['sgd', 'adam'] as const) {
      const opts: TrainOptions = { localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer };
      const a = trainFresh(TANH_MLP, data, opts, 2);
      const b = trainFresh(TANH_MLP, data, opts, 2);
      const pa = a.trainer.getParameters();
      expect(bytes(pa).equals(bytes(b.trainer.getParameters()))).toBe(true);
      expect(a.losses).toEqual(b.losses);
      // a different shuffle gives different parameters
      const c = trainFresh(TANH_MLP, data, opts, 2, 6);
      c.trainer.setParameters(initialParameters(c.trainer.spec, stream(5, 'init')));
      c.trainer.train(data, opts, stream(5, 'other'));
      expect(bytes(c.trainer.getParameters()).equals(bytes(pa))).toBe(false);
      for (const t of [a, b, c]) t.trainer.dispose();
    }
  });

  it('counts steps with a smaller last batch and predicts like the built model', async () => {
    await use(TANH_MLP);
    const data = separable(50, 9, 'steps');
    const trainer = createTfjsTrainer(TANH_MLP, [9]);
    const p = initialParameters(trainer.spec, stream(2, 'init'));
    trainer.setParameters(p);
    const r = trainer.train(
      data,
      { localEpochs: 3, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
      stream(2, 't'),
    );
    expect(r.steps).toBe(3 * 4);
    expect(Number.isFinite(r.loss)).toBe(true);
    const trained = trainer.getParameters();
    const reference = buildModel(TANH_MLP, [9]);
    reference.setWeights(
      trainer.spec.tensors.map((t) => tf.tensor(trained.slice(t.offset, t.offset + t.size), [...t.shape])),
    );
    const expected = tf.tidy(() =>
      (reference.predict(tf.tensor2d(data.x, [data.n, 9])) as tf.Tensor).dataSync(),
    );
    const probs = trainer.predict(data);
    expect(probs).toBeInstanceOf(Float32Array);
    for (let i = 0; i < data.n; i++) expect(probs[i]!).toBeCloseTo(expected[i]!, 6);
    reference.dispose();
    trainer.dispose();
  });

  it('keeps loss and gradients finite for saturated logits', async () => {
    await use({ kind: 'logistic' });
    const data = separable(64, 9, 'saturated');
    const trainer = createTfjsTrainer({ kind: 'logistic' }, [9]);
    trainer.setParameters(initialParameters(trainer.spec, stream(1, 'init')).map((v) => v * 1e4));
    const opts: TrainOptions = { localEpochs: 1, batchSize: 64, learningRate: 0.1, optimizer: 'sgd' };
    const { loss } = trainer.train(data, opts, stream(1, 't'));
    expect(Number.isFinite(loss)).toBe(true);
    expect(loss).toBeGreaterThan(1);
    expect(trainer.getParameters().every(Number.isFinite)).toBe(true);
    trainer.dispose();
  });

  it('leaks no tensors', async () => {
    await use(CNN);
    const before = tf.memory().numTensors;
    for (const [config, data] of [
      [MLP, separable(70, 9, 'leak')],
      [CNN, images(10, 8, 'leak')],
    ] as const) {
      const trainer = createTfjsTrainer(config, data.inputShape);
      trainer.setParameters(initialParameters(trainer.spec, stream(1, 'leak')));
      const held = tf.memory().numTensors;
      for (const optimizer of ['sgd', 'adam'] as const) {
        trainer.train(
          data,
          { localEpochs: 2, batchSize: 32, learningRate: 0.01, optimizer },
          stream(1, optimizer),
        );
      }
      trainer.predict(data);
      trainer.getParameters();
      trainer.setParameters(trainer.getParameters());
      expect(tf.memory().numTensors).toBe(held);
      trainer.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('trains a tiny cnn (on wasm through the registered Conv2DBackpropFilter)', async () => {
    await use(CNN);
    const data = images(64, 8, 'cnn');
    const opts: TrainOptions = { localEpochs: 3, batchSize: 16, learningRate: 0.01, optimizer: 'adam' };
    const { trainer, losses } = trainFresh(CNN, data, opts, 3);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    expect(accuracy(trainer.predict(data), data.y)).toBeGreaterThan(0.8);
    trainer.dispose();
  });
});

it('rejects examples of the wrong shape', async () => {
  await selectBackend('cpu', MLP);
  const trainer = createTfjsTrainer(MLP, [9]);
  const bad = separable(10, 8, 'bad');
  expect(() => trainer.predict(bad)).toThrow(/input shape \[8\], the model expects \[9\]/);
  const short = { ...separable(10, 9, 'short'), n: 11 };
  const opts: TrainOptions = { localEpochs: 1, batchSize: 4, learningRate: 0.1, optimizer: 'sgd' };
  expect(() => trainer.train(short, opts, stream(1, 'x'))).toThrow(/n = 11 needs x of length 99/);
  trainer.dispose();
  expect(() => trainer.getParameters()).toThrow(/disposed/);
});
