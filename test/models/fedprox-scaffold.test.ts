import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { stream } from '../../src/common/rng.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import { selectBackend, type BackendName } from '../../src/models/backend.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import type { Examples, LocalTrainer, TrainOptions } from '../../src/models/types.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';
import { separable } from './fixtures.ts';

const LOGISTIC: ModelConfig = { kind: 'logistic' };
const MLP: ModelConfig = { kind: 'mlp', hidden: [8, 4], activation: 'tanh' };

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

function normals(n: number, scale: number, name: string): Float32Array {
  const rng = stream(3, 'fixture', name);
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** A trainer at seeded initial parameters (plus a nonzero bias offset so every tensor matters). */
function fresh(config: ModelConfig, data: Examples): { trainer: LocalTrainer; start: Float32Array } {
  const trainer = createTfjsTrainer(config, data.inputShape);
  const start = initialParameters(trainer.spec, stream(9, 'init'));
  for (const t of trainer.spec.tensors)
    if (t.name.endsWith('/bias')) start.fill(0.1, t.offset, t.offset + t.size);
  trainer.setParameters(start);
  return { trainer, start };
}

/** Parameters after one `train` call from the seeded start. */
function trainOnce(config: ModelConfig, data: Examples, options: TrainOptions, seed = 1): Float32Array {
  const { trainer } = fresh(config, data);
  trainer.train(data, options, stream(seed, 'train'));
  const out = trainer.getParameters();
  trainer.dispose();
  return out;
}

describe.each(['wasm', 'cpu'] as const)('FedProx and SCAFFOLD on %s', (backend: BackendName) => {
  const use = (model: ModelConfig) => selectBackend(backend, model);

  it('leaves training bit-identical without options and with mu = 0', async () => {
    await use(MLP);
    const data = separable(77, 9, 'identical');
    for (const optimizer of ['sgd', 'adam'] as const) {
      const opts: TrainOptions = { localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer };
      const plain = trainOnce(MLP, data, opts);
      const reference = normals(plain.length, 1, 'ref');
      const mu0 = trainOnce(MLP, data, { ...opts, proximal: { mu: 0, reference } });
      expect(bytes(mu0).equals(bytes(plain))).toBe(true);
      expect(bytes(trainOnce(MLP, data, opts)).equals(bytes(plain))).toBe(true);
    }
  });

  it('takes the same SGD step through the corrected path when the correction is zero', async () => {
    await use(MLP);
    const data = separable(50, 9, 'zero-correction');
    const opts: TrainOptions = { localEpochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' };
    const plain = trainOnce(MLP, data, opts);
    const zero = trainOnce(MLP, data, { ...opts, gradientCorrection: new Float32Array(plain.length) });
    expect(bytes(zero).equals(bytes(plain))).toBe(true);
  });

  it('is deterministic with both options', async () => {
    await use(MLP);
    const data = separable(60, 9, 'det');
    const { trainer } = fresh(MLP, data);
    const n = trainer.spec.length;
    trainer.dispose();
    const opts: TrainOptions = {
      localEpochs: 2,
      batchSize: 8,
      learningRate: 0.05,
      optimizer: 'sgd',
      proximal: { mu: 0.5, reference: normals(n, 0.3, 'ref') },
      gradientCorrection: normals(n, 0.1, 'c'),
    };
    expect(bytes(trainOnce(MLP, data, opts)).equals(bytes(trainOnce(MLP, data, opts)))).toBe(true);
  });

  it('keeps parameters much closer to the reference with a large mu', async () => {
    await use(MLP);
    const data = separable(120, 9, 'drift');
    const { trainer, start } = fresh(MLP, data);
    trainer.dispose();
    const distances = [0, 0.5, 10].map((mu) => {
      const opts: TrainOptions = {
        localEpochs: 5,
        batchSize: 16,
        learningRate: 0.05,
        optimizer: 'sgd',
        proximal: { mu, reference: start },
      };
      return distance(trainOnce(MLP, data, opts), start);
    });
    expect(distances[0]!).toBeGreaterThan(0.3);
    expect(distances[1]!).toBeLessThan(distances[0]!);
    expect(distances[2]!).toBeLessThan(0.1 * distances[0]!);
  });

  it('matches a hand-computed full-batch SGD step of logistic regression with both terms', async () => {
    await use(LOGISTIC);
    const d = 5;
    const data = separable(24, d, 'hand');
    const { trainer, start: w } = fresh(LOGISTIC, data);
    trainer.dispose();
    const eta = 0.3;
    const mu = 2;
    const reference = normals(d + 1, 0.5, 'hand-ref');
    const c = normals(d + 1, 0.2, 'hand-c');
    // ∇BCE on the logit z = x·w + b: mean over examples of (σ(z) − y)·[x, 1], in float64.
    const grad = new Float64Array(d + 1);
    for (let i = 0; i < data.n; i++) {
      let z = w[d]!;
      for (let j = 0; j < d; j++) z += data.x[i * d + j]! * w[j]!;
      const r = 1 / (1 + Math.exp(-z)) - data.y[i]!;
      for (let j = 0; j < d; j++) grad[j]! += (r * data.x[i * d + j]!) / data.n;
      grad[d]! += r / data.n;
    }
    const opts: TrainOptions = { localEpochs: 1, batchSize: data.n, learningRate: eta, optimizer: 'sgd' };
    for (const correction of [undefined, c]) {
      const got = trainOnce(LOGISTIC, data, {
        ...opts,
        proximal: { mu, reference },
        ...(correction === undefined ? {} : { gradientCorrection: correction }),
      });
      for (let k = 0; k <= d; k++) {
        const step = grad[k]! + mu * (w[k]! - reference[k]!) + (correction?.[k] ?? 0);
        expect(Math.abs(got[k]! - (w[k]! - eta * step))).toBeLessThan(1e-5);
      }
    }
  });

  it('shifts one full-batch SGD step by exactly −η·c', async () => {
    for (const config of [LOGISTIC, MLP]) {
      await use(config);
      const data = separable(40, 9, 'shift');
      const eta = 0.1;
      const opts: TrainOptions = { localEpochs: 1, batchSize: 40, learningRate: eta, optimizer: 'sgd' };
      const plain = trainOnce(config, data, opts);
      const corrections =
        config === LOGISTIC
          ? [new Float32Array(plain.length).fill(0.25)]
          : [new Float32Array(plain.length).fill(-0.4), normals(plain.length, 0.5, 'shift-c')];
      for (const c of corrections) {
        const shifted = trainOnce(config, data, { ...opts, gradientCorrection: c });
        for (let k = 0; k < plain.length; k++) {
          expect(Math.abs(shifted[k]! - plain[k]! + eta * c[k]!)).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('rejects adam with a correction, and vectors of the wrong length or value', async () => {
    await use(MLP);
    const data = separable(20, 9, 'reject');
    const { trainer } = fresh(MLP, data);
    const n = trainer.spec.length;
    const sgd: TrainOptions = { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' };
    const before = trainer.getParameters();
    const held = tf.memory().numTensors;
    const attempt = (o: TrainOptions) => () => trainer.train(data, o, stream(1, 'r'));
    expect(attempt({ ...sgd, optimizer: 'adam', gradientCorrection: new Float32Array(n) })).toThrow(
      /gradientCorrection \(SCAFFOLD\) needs optimizer 'sgd', got 'adam'/,
    );
    expect(attempt({ ...sgd, gradientCorrection: new Float32Array(n - 1) })).toThrow(
      `gradientCorrection must have the model's ${n} parameters, got ${n - 1}`,
    );
    expect(attempt({ ...sgd, proximal: { mu: 1, reference: new Float32Array(n + 2) } })).toThrow(
      `proximal.reference must have the model's ${n} parameters, got ${n + 2}`,
    );
    expect(attempt({ ...sgd, proximal: { mu: 0, reference: new Float32Array(3) } })).toThrow(
      /proximal.reference must have/,
    );
    expect(attempt({ ...sgd, proximal: { mu: -1, reference: new Float32Array(n) } })).toThrow(
      /proximal.mu must be a finite number ≥ 0, got -1/,
    );
    const bad = new Float32Array(n);
    bad[4] = Number.NaN;
    expect(attempt({ ...sgd, gradientCorrection: bad })).toThrow(/gradientCorrection\[4\] is not finite/);
    expect(tf.memory().numTensors).toBe(held);
    expect(bytes(trainer.getParameters()).equals(bytes(before))).toBe(true);
    trainer.dispose();
  });

  it('leaks no tensors', async () => {
    await use(MLP);
    const data = separable(45, 9, 'leak');
    const before = tf.memory().numTensors;
    const { trainer } = fresh(MLP, data);
    const held = tf.memory().numTensors;
    const n = trainer.spec.length;
    const reference = normals(n, 0.3, 'leak-ref');
    const c = normals(n, 0.1, 'leak-c');
    const base = { localEpochs: 2, batchSize: 16, learningRate: 0.01 } as const;
    for (const opts of [
      { ...base, optimizer: 'sgd', proximal: { mu: 1, reference } },
      { ...base, optimizer: 'adam', proximal: { mu: 1, reference } },
      { ...base, optimizer: 'sgd', gradientCorrection: c },
      { ...base, optimizer: 'sgd', proximal: { mu: 0.1, reference }, gradientCorrection: c },
    ] satisfies TrainOptions[]) {
      trainer.train(data, opts, stream(1, 'leak'));
      expect(tf.memory().numTensors).toBe(held);
    }
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
