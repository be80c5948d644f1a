import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { stream } from '../../src/common/rng.ts';
import { initialParameters, parameterSpec } from '../../src/models/architecture.ts';
import { exportTfjsModel, loadTfjsModel, WEIGHTS_FILE } from '../../src/models/export.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import type { Examples } from '../../src/models/types.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';
import { images, separable } from './fixtures.ts';

/** Parameters after a little training, so every tensor (biases included) is non-trivial. */
function trainedParams(config: ModelConfig, data: Examples): Float32Array {
  const trainer = createTfjsTrainer(config, data.inputShape);
  trainer.setParameters(initialParameters(trainer.spec, stream(3, 'export-init')));
  trainer.train(
    data,
    { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    stream(3, 'export-train'),
  );
  const params = trainer.getParameters();
  trainer.dispose();
  return params;
}

async function roundTrip(config: ModelConfig, data: Examples, batchShape: number[]): Promise<void> {
  const params = trainedParams(config, data);
  const { modelJson, weights } = await exportTfjsModel(config, data.inputShape, params);
  const spec = parameterSpec(config, data.inputShape);
  expect(weights.byteLength).toBe(4 * spec.length);
  expect(Buffer.from(weights).equals(Buffer.from(params.buffer, params.byteOffset, params.byteLength))).toBe(
    true,
  );
  const json = JSON.parse(JSON.stringify(modelJson)) as Record<string, unknown>;
  expect(json.format).toBe('layers-model');
  expect(typeof json.modelTopology).toBe('object');
  expect(json.weightsManifest).toEqual([
    {
      paths: [WEIGHTS_FILE],
      weights: spec.tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: 'float32' })),
    },
  ]);

  const loaded = await loadTfjsModel(json, weights);
  const trainer = createTfjsTrainer(config, data.inputShape);
  trainer.setParameters(params);
  const expected = trainer.predict(data);
  const xs = tf.tensor(data.x, [data.n, ...batchShape], 'float32');
  const out = loaded.predict(xs);
  if (!(out instanceof tf.Tensor)) throw new Error('expected one output tensor');
  expect(out.shape).toEqual([data.n, 1]);
  const actual = out.dataSync();
  for (let i = 0; i < data.n; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(1e-6);
  expect(Math.min(...actual)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...actual)).toBeLessThanOrEqual(1);
  tf.dispose([xs, out]);
  loaded.dispose();
  trainer.dispose();
}

describe('exportTfjsModel / loadTfjsModel', () => {
  it("activates 'cpu' when no backend is set (as on the main thread)", async () => {
    expect(tf.getBackend()).toBeFalsy();
    const spec = parameterSpec({ kind: 'logistic' }, [3]);
    const { weights } = await exportTfjsModel({ kind: 'logistic' }, [3], new Float32Array(spec.length));
    expect(tf.getBackend()).toBe('cpu');
    expect(weights.byteLength).toBe(16);
    const before = tf.memory().numTensors;
    await exportTfjsModel({ kind: 'logistic' }, [3], new Float32Array(spec.length));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reproduces the trainer’s probabilities for logistic regression', async () => {
    await roundTrip({ kind: 'logistic' }, separable(120, 9, 'export-logistic'), [9]);
  });

  it('reproduces the trainer’s probabilities for an mlp', async () => {
    await roundTrip(
      { kind: 'mlp', hidden: [16, 8], activation: 'tanh' },
      separable(120, 9, 'export-mlp'),
      [9],
    );
    await roundTrip({ kind: 'mlp', hidden: [5], activation: 'relu' }, separable(80, 4, 'export-relu'), [4]);
  });

  it('reproduces the trainer’s probabilities for a cnn', async () => {
    await roundTrip(
      { kind: 'cnn', filters: [3], kernelSize: 3, dense: 4 },
      images(24, 8, 'export-cnn'),
      [8, 8, 1],
    );
  });

  it('rejects a wrong parameter count, a malformed model.json and mismatched weights', async () => {
    await expect(exportTfjsModel({ kind: 'logistic' }, [3], new Float32Array(3))).rejects.toThrow(
      /expected 4 parameters, got 3/,
    );
    const { modelJson, weights } = await exportTfjsModel({ kind: 'logistic' }, [3], new Float32Array(4));
    await expect(loadTfjsModel({}, weights)).rejects.toThrow(/modelTopology/);
    await expect(loadTfjsModel({ modelTopology: {} }, weights)).rejects.toThrow(/weightsManifest/);
    await expect(loadTfjsModel(modelJson, weights.subarray(4))).rejects.toThrow(/16 bytes, got 12/);
  });
});
