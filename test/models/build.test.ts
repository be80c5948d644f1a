import { beforeAll, describe, expect, it } from 'vitest';
import { parameterSpec } from '../../src/models/architecture.ts';
import { selectBackend } from '../../src/models/backend.ts';
import { buildModel } from '../../src/models/build.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';

const CASES: readonly { config: ModelConfig; inputShape: number[] }[] = [
  { config: { kind: 'logistic' }, inputShape: [9] },
  { config: { kind: 'logistic' }, inputShape: [4, 3] },
  { config: { kind: 'mlp', hidden: [32, 16], activation: 'relu' }, inputShape: [9] },
  { config: { kind: 'mlp', hidden: [7, 5, 3], activation: 'tanh' }, inputShape: [30] },
  { config: { kind: 'cnn', filters: [8, 16], kernelSize: 3, dense: 32 }, inputShape: [28, 28, 1] },
  { config: { kind: 'cnn', filters: [3], kernelSize: 5, dense: 4 }, inputShape: [9, 11] },
];

beforeAll(async () => {
  await selectBackend('cpu', { kind: 'logistic' });
});

describe('buildModel', () => {
  for (const { config, inputShape } of CASES) {
    it(`matches parameterSpec for ${JSON.stringify(config)} on [${inputShape}]`, () => {
      const spec = parameterSpec(config, inputShape);
      for (const output of ['probability', 'logit'] as const) {
        const model = buildModel(config, inputShape, output);
        expect(model.getWeights().map((w) => w.shape)).toEqual(spec.tensors.map((t) => t.shape));
        expect(model.countParams()).toBe(spec.length);
        expect(model.outputs[0]!.shape).toEqual([null, 1]);
        model.dispose();
      }
    });
  }

  it('can build the same model twice in one thread', () => {
    const a = buildModel({ kind: 'logistic' }, [9]);
    const b = buildModel({ kind: 'logistic' }, [9]);
    expect(b.getWeights().length).toBe(2);
    a.dispose();
    b.dispose();
  });
});
