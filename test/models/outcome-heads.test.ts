import { beforeAll, describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { initialParameters, parameterSpec } from '../../src/models/architecture.ts';
import { selectBackend } from '../../src/models/backend.ts';
import { exportTfjsModel, loadTfjsModel } from '../../src/models/export.ts';
import { createFusedTrainer, type Accumulation } from '../../src/models/fused-trainer.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import type { Examples, TrainOptions } from '../../src/models/types.ts';
import type { OutputHead } from '../../src/protocol/outcome.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';

const FEATURES = 6;
const CLASSES: OutputHead = { kind: 'multiclass', classes: 4 };
const CONTINUOUS: OutputHead = { kind: 'continuous' };
const MLP: ModelConfig = { kind: 'mlp', hidden: [12, 8], activation: 'relu' };
const TANH: ModelConfig = { kind: 'mlp', hidden: [10], activation: 'tanh' };
const CNN: ModelConfig = { kind: 'cnn', filters: [3, 4], kernelSize: 3, dense: 6 };

/** Noisy examples whose target depends on x: a class from the largest of K noisy scores, or a noisy value. */
function noisy(n: number, head: OutputHead, shape: readonly number[], name: string): Examples {
  const rng = stream(41, 'heads', name);
  const d = shape.reduce((a, b) => a * b, 1);
  const k = head.kind === 'multiclass' ? head.classes : 1;
  const w = Array.from({ length: k * d }, () => rng.normal());
  const x = new Float32Array(n * d);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = rng.normal();
    const score = (c: number) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += w[c * d + j]! * x[i * d + j]!;
      return s / Math.sqrt(d) + rng.normal();
    };
    if (head.kind === 'multiclass') {
      const scores = Array.from({ length: k }, (_, c) => score(c));
      y[i] = scores.indexOf(Math.max(...scores));
    } else y[i] = 3 + 2 * score(0);
  }
  return { x, y, n, inputShape: shape };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function trainBoth(
  model: ModelConfig,
  head: OutputHead,
  shape: readonly number[],
  options: TrainOptions,
  accumulation: Accumulation = 'float64',
) {
  const name = `${model.kind}-${head.kind}-${options.optimizer}-${options.localEpochs}`;
  const data = noisy(model.kind === 'cnn' ? 24 : 150, head, shape, name);
  const tfjs = createTfjsTrainer(model, shape, head);
  const fused = createFusedTrainer(model, shape, accumulation, head);
  const initial = initialParameters(tfjs.spec, stream(41, 'init', name));
  tfjs.setParameters(initial);
  fused.setParameters(initial);
  const a = tfjs.train(data, options, stream(41, 'train', name));
  const b = fused.train(data, options, stream(41, 'train', name));
  const out = {
    a,
    b,
    params: maxAbsDiff(tfjs.getParameters(), fused.getParameters()),
    moved: maxAbsDiff(initial, fused.getParameters()),
    predictions: maxAbsDiff(tfjs.predict(data), fused.predict(data)),
    predicted: fused.predict(data),
    data,
  };
  tfjs.dispose();
  fused.dispose();
  return out;
}

const sgd = (epochs: number, lr = 0.05): TrainOptions => ({
  localEpochs: epochs,
  batchSize: 16,
  learningRate: lr,
  optimizer: 'sgd',
});

describe('multi-class and continuous heads: fused engine (js, js-f32) against tfjs on cpu', () => {
  beforeAll(async () => {
    await selectBackend('cpu', MLP);
  });

  it('lays out K output units for K classes, one for a continuous outcome', () => {
    const logistic = parameterSpec({ kind: 'logistic' }, [FEATURES], CLASSES);
    expect(logistic.tensors.map((t) => [t.name, t.shape])).toEqual([
      ['output/kernel', [FEATURES, 4]],
      ['output/bias', [4]],
    ]);
    expect(parameterSpec({ kind: 'logistic' }, [FEATURES], CONTINUOUS).length).toBe(FEATURES + 1);
  });

  describe.each([
    ['multinomial logistic', { kind: 'logistic' } as ModelConfig, CLASSES],
    ['mlp softmax', MLP, CLASSES],
    ['tanh mlp softmax', TANH, CLASSES],
    ['linear regression', { kind: 'logistic' } as ModelConfig, CONTINUOUS],
    ['mlp regression', MLP, CONTINUOUS],
  ] as const)('%s', (_label, model, head) => {
    it.each(['sgd', 'adam'] as const)(
      'ten epochs of %s: same steps, parameters, loss and predictions',
      (opt) => {
        const lr = opt === 'sgd' ? (head.kind === 'continuous' ? 0.01 : 0.1) : 0.01;
        const { a, b, params, moved, predictions } = trainBoth(model, head, [FEATURES], {
          ...sgd(10, lr),
          optimizer: opt,
        });
        expect(b.steps).toBe(a.steps);
        expect(moved).toBeGreaterThan(1e-2);
        expect(params).toBeLessThan(5e-6);
        expect(Math.abs(a.loss - b.loss)).toBeLessThan(1e-5 * Math.max(1, a.loss));
        expect(predictions).toBeLessThan(1e-5 * (head.kind === 'continuous' ? 10 : 1));
      },
    );
  });

  it('softmax outputs are probabilities over the classes and training lowers the cross-entropy', () => {
    const { a, predicted, data } = trainBoth({ kind: 'logistic' }, CLASSES, [FEATURES], sgd(20, 0.2));
    for (let i = 0; i < data.n; i++) {
      let s = 0;
      for (let c = 0; c < 4; c++) s += predicted[i * 4 + c]!;
      expect(s).toBeCloseTo(1, 5);
    }
    expect(a.loss).toBeLessThan(Math.log(4) * 0.8);
  });

  it.each(['float64', 'float32'] as const)(
    'a cnn with a softmax head trains alike (%s accumulation)',
    (accumulation) => {
      const { a, b, params, moved } = trainBoth(CNN, CLASSES, [8, 8, 1], sgd(3, 0.1), accumulation);
      expect(b.steps).toBe(a.steps);
      expect(moved).toBeGreaterThan(1e-3);
      expect(params).toBeLessThan(2e-6);
    },
  );

  it('rejects a label that is not a class index', () => {
    const fused = createFusedTrainer({ kind: 'logistic' }, [FEATURES], 'float64', CLASSES);
    const data = noisy(10, CLASSES, [FEATURES], 'bad');
    const y = data.y.slice();
    y[3] = 4;
    expect(() => fused.train({ ...data, y }, sgd(1), stream(41, 'bad'))).toThrow(/class index from 0 to 3/);
  });

  it('exports softmax and linear heads that tfjs loads and that predict as the trainer does', async () => {
    for (const head of [CLASSES, CONTINUOUS]) {
      const trainer = createFusedTrainer(MLP, [FEATURES], 'float64', head);
      const data = noisy(20, head, [FEATURES], `export-${head.kind}`);
      trainer.setParameters(initialParameters(trainer.spec, stream(41, 'export', head.kind)));
      trainer.train(data, sgd(2), stream(41, 'export-train', head.kind));
      const exported = await exportTfjsModel(MLP, [FEATURES], trainer.getParameters(), head);
      const net = await loadTfjsModel(exported.modelJson, exported.weights);
      const { tensor } = await import('@tensorflow/tfjs-core');
      const out = net.predict(tensor(data.x, [20, FEATURES])) as { dataSync(): Float32Array };
      expect(maxAbsDiff(out.dataSync(), trainer.predict(data))).toBeLessThan(1e-5);
      net.dispose();
      trainer.dispose();
    }
  });
});
