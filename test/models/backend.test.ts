import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend } from '../../src/models/backend.ts';

const tfjsNodeInstalled = ((): boolean => {
  try {
    createRequire(import.meta.url).resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

describe('selectBackend', () => {
  it.skipIf(tfjsNodeInstalled)(
    "rejects 'tensorflow' with a clear message when tfjs-node is absent",
    async () => {
      await expect(selectBackend('tensorflow', { kind: 'logistic' })).rejects.toThrow(
        "backend 'tensorflow' needs @tensorflow/tfjs-node, which is not installed",
      );
    },
  );

  it.skipIf(tfjsNodeInstalled)(
    "falls back from 'auto' to js for every zoo model, conv nets included",
    async () => {
      expect(await selectBackend('auto', { kind: 'logistic' })).toBe('js');
      expect(await selectBackend('auto', { kind: 'mlp', hidden: [4], activation: 'relu' })).toBe('js');
      expect(await selectBackend('auto', { kind: 'cnn', filters: [4], kernelSize: 3, dense: 8 })).toBe('js');
    },
  );

  it('activates an explicit choice', async () => {
    expect(await selectBackend('cpu', { kind: 'logistic' })).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(await selectBackend('wasm', { kind: 'mlp', hidden: [4], activation: 'tanh' })).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });
});
