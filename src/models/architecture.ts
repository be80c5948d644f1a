/**
 * The shape of each model in the zoo, without tfjs: the coordinator needs parameter specs and initial
 * weights on the main thread, where tfjs is never loaded. `build.ts` turns the same description into
 * tfjs layers, and a test checks that both agree weight for weight.
 */
import { makeSpec, type ParamSpec } from '../common/params.ts';
import type { Rng } from '../common/rng.ts';
import type { ModelConfig } from '../scenario/schema.ts';
import { BINARY_HEAD, outputActivation, outputUnits, type OutputHead } from '../protocol/outcome.ts';

/** One weighted layer of a model, in the order tfjs creates its weights. */
export type LayerPlan =
  | {
      readonly kind: 'dense';
      readonly name: string;
      readonly inputs: number;
      readonly units: number;
      readonly activation: 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'linear';
    }
  | {
      readonly kind: 'conv';
      readonly name: string;
      readonly kernelSize: number;
      readonly inChannels: number;
      readonly filters: number;
    };

/** A model's input shape as its first layer takes it, and its weighted layers in order. */
export interface ModelPlan {
  /** `[features]` for dense models (inputs are flattened), `[height, width, channels]` for a cnn. */
  readonly inputShape: readonly number[];
  readonly layers: readonly LayerPlan[];
}

/** The name of the output layer in every model (one sigmoid unit, a softmax over the classes, or one linear unit). */
export const OUTPUT_LAYER = 'output';

/**
 * Lays out the weighted layers of `model` for examples of shape `inputShape` with the output `head` (binary
 * by default); throws on a shape it cannot take.
 */
export function modelPlan(
  model: ModelConfig,
  inputShape: readonly number[],
  head: OutputHead = BINARY_HEAD,
): ModelPlan {
  const output = { units: outputUnits(head), activation: outputActivation(head) };
  for (const d of inputShape) {
    if (!Number.isInteger(d) || d < 1) {
      throw new Error(`input shape [${inputShape.join(', ')}]: every dimension must be a positive integer`);
    }
  }
  if (inputShape.length === 0) throw new Error('input shape is empty');
  switch (model.kind) {
    case 'logistic': {
      const features = product(inputShape);
      return {
        inputShape: [features],
        layers: [{ kind: 'dense', name: OUTPUT_LAYER, inputs: features, ...output }],
      };
    }
    case 'mlp': {
      const features = product(inputShape);
      const layers: LayerPlan[] = [];
      let inputs = features;
      model.hidden.forEach((units, i) => {
        layers.push({ kind: 'dense', name: `dense_${i}`, inputs, units, activation: model.activation });
        inputs = units;
      });
      layers.push({ kind: 'dense', name: OUTPUT_LAYER, inputs, ...output });
      return { inputShape: [features], layers };
    }
    case 'cnn': {
      if (inputShape.length !== 2 && inputShape.length !== 3) {
        throw new Error(
          `a cnn needs image inputs of shape [height, width] or [height, width, channels], got [${inputShape.join(', ')}]`,
        );
      }
      const image = inputShape.length === 2 ? [inputShape[0]!, inputShape[1]!, 1] : [...inputShape];
      let [h, w, c] = image as [number, number, number];
      const layers: LayerPlan[] = [];
      model.filters.forEach((filters, i) => {
        layers.push({
          kind: 'conv',
          name: `conv_${i}`,
          kernelSize: model.kernelSize,
          inChannels: c,
          filters,
        });
        c = filters;
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        if (h < 1 || w < 1) {
          throw new Error(
            `input shape [${inputShape.join(', ')}] is too small for ${model.filters.length} conv blocks: ` +
              `2×2 max-pooling after block ${i} leaves nothing`,
          );
        }
      });
      layers.push({
        kind: 'dense',
        name: 'dense_0',
        inputs: h * w * c,
        units: model.dense,
        activation: 'relu',
      });
      layers.push({
        kind: 'dense',
        name: OUTPUT_LAYER,
        inputs: model.dense,
        ...output,
      });
      return { inputShape: image, layers };
    }
  }
}

/** Names and shapes of every weight, in the order of the tfjs model's `getWeights()`: kernel then bias per layer. */
export function parameterSpec(
  model: ModelConfig,
  inputShape: readonly number[],
  head: OutputHead = BINARY_HEAD,
): ParamSpec {
  const entries: { name: string; shape: number[] }[] = [];
  for (const layer of modelPlan(model, inputShape, head).layers) {
    const kernel =
      layer.kind === 'dense'
        ? [layer.inputs, layer.units]
        : [layer.kernelSize, layer.kernelSize, layer.inChannels, layer.filters];
    const units = layer.kind === 'dense' ? layer.units : layer.filters;
    entries.push(
      { name: `${layer.name}/kernel`, shape: kernel },
      { name: `${layer.name}/bias`, shape: [units] },
    );
  }
  return makeSpec(entries);
}

/**
 * Glorot-uniform kernels and zero biases, drawn from `rng` tensor by tensor in spec order. For a kernel of
 * shape `[...receptive, in, out]`, fanIn = in·∏receptive and fanOut = out·∏receptive (Keras' convention).
 */
export function initialParameters(spec: ParamSpec, rng: Rng): Float32Array {
  const params = new Float32Array(spec.length);
  for (const t of spec.tensors) {
    if (t.name.endsWith('/bias')) continue;
    if (!t.name.endsWith('/kernel') || t.shape.length < 2) {
      throw new Error(`tensor ${t.name}: expected a "/kernel" of rank ≥ 2 or a "/bias"`);
    }
    const receptive = product(t.shape.slice(0, -2));
    const fanIn = t.shape[t.shape.length - 2]! * receptive;
    const fanOut = t.shape[t.shape.length - 1]! * receptive;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const end = t.offset + t.size;
    for (let i = t.offset; i < end; i++) params[i] = (2 * rng.next() - 1) * limit;
  }
  return params;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
