import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelConfig } from '../scenario/schema.ts';
import { modelPlan } from './architecture.ts';
import { BINARY_HEAD, type OutputHead } from '../protocol/outcome.ts';

/** What the output layer emits: probabilities (sigmoid or softmax; a continuous head is linear either way) or raw logits. */
export type ModelOutput = 'probability' | 'logit';

/**
 * The tfjs-layers model for `model` on examples of shape `inputShape`, its weights zeroed (set them from a
 * flat vector; tfjs' own initializers draw unseeded random numbers). With `output: 'logit'` the last layer
 * is linear, so a trainer can compute a numerically stable loss from logits; weights are the same either way.
 */
export function buildModel(
  model: ModelConfig,
  inputShape: readonly number[],
  output: ModelOutput = 'probability',
  head: OutputHead = BINARY_HEAD,
): tfl.Sequential {
  const plan = modelPlan(model, inputShape, head);
  const seq = tfl.sequential();
  const init = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;
  const first = { inputShape: [...plan.inputShape] };
  let flattened = model.kind !== 'cnn';
  plan.layers.forEach((layer, i) => {
    const input = i === 0 ? first : {};
    if (layer.kind === 'conv') {
      seq.add(
        tfl.layers.conv2d({
          ...input,
          ...init,
          name: layer.name,
          filters: layer.filters,
          kernelSize: layer.kernelSize,
          padding: 'same',
          activation: 'relu',
        }),
      );
      seq.add(tfl.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
      return;
    }
    if (!flattened) {
      seq.add(tfl.layers.flatten());
      flattened = true;
    }
    const squashes = layer.activation === 'sigmoid' || layer.activation === 'softmax';
    const activation = squashes && output === 'logit' ? 'linear' : layer.activation;
    seq.add(tfl.layers.dense({ ...input, ...init, name: layer.name, units: layer.units, activation }));
  });
  return seq;
}
