/**
 * The global model in TensorFlow.js' own layers-model format (`model.json` + `weights.bin`), so anyone can
 * score new patients with `tf.loadLayersModel` without fedmed. Loads tfjs: on the coordinator's main
 * thread import this module dynamically, when a run ends, so the round loop never loads tfjs.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import type { ModelConfig } from '../scenario/schema.ts';
import { parameterSpec } from './architecture.ts';
import { buildModel } from './build.ts';
import { BINARY_HEAD, type OutputHead } from '../protocol/outcome.ts';

/** The one weights file `model.json`'s manifest names. */
export const WEIGHTS_FILE = 'weights.bin';

/** An exported model: `model.json`'s content and the bytes of {@link WEIGHTS_FILE}. */
export interface ExportedModel {
  readonly modelJson: tf.io.ModelJSON;
  readonly weights: Uint8Array;
}

/**
 * Exports `model` on examples of shape `inputShape` with the flat parameters `params` (laid out as
 * `parameterSpec`) as a tfjs layers model whose output is the probability of the positive class (sigmoid), the
 * class probabilities (softmax) for a multi-class `head`, or the predicted value for a continuous one.
 * Dense models take flattened inputs `[n, prod(inputShape)]`; a cnn takes `[n, height, width, channels]`.
 * Weights are float32 in spec order, so `weights` holds exactly the bytes of `params`. Uses the active tfjs
 * backend; when none is set (e.g. on the main thread) it activates 'cpu'.
 */
export async function exportTfjsModel(
  model: ModelConfig,
  inputShape: readonly number[],
  params: Float32Array,
  head: OutputHead = BINARY_HEAD,
): Promise<ExportedModel> {
  const spec = parameterSpec(model, inputShape, head);
  if (params.length !== spec.length) {
    throw new Error(`export: expected ${spec.length} parameters, got ${params.length}`);
  }
  await ensureBackend();
  const net = buildModel(model, inputShape, 'probability', head);
  try {
    const values = spec.tensors.map((t) =>
      tf.tensor(params.slice(t.offset, t.offset + t.size), [...t.shape], 'float32'),
    );
    net.setWeights(values);
    tf.dispose(values);
    const saved: { artifacts?: tf.io.ModelArtifacts } = {};
    await net.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved.artifacts = artifacts;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    const { artifacts } = saved;
    if (artifacts?.modelTopology === undefined || artifacts.weightSpecs === undefined) {
      throw new Error('export: tfjs saved no topology or weight specs');
    }
    if (artifacts.weightData === undefined || artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('export: tfjs saved no weights or a binary topology');
    }
    const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
    if (weights.byteLength !== 4 * spec.length) {
      throw new Error(`export: tfjs saved ${weights.byteLength} weight bytes, expected ${4 * spec.length}`);
    }
    const modelJson: tf.io.ModelJSON = {
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs }],
    };
    return { modelJson, weights };
  } finally {
    net.dispose();
  }
}

/**
 * Loads a model written by {@link exportTfjsModel} (or any float32 tfjs layers model with its weights in
 * one buffer) from memory; activates 'cpu' when no backend is set. The caller disposes the model.
 */
export async function loadTfjsModel(modelJson: object, weights: Uint8Array): Promise<tfl.LayersModel> {
  const json = asModelJson(modelJson);
  const specs = tf.io.getWeightSpecs(json.weightsManifest);
  let bytes = 0;
  for (const s of specs) {
    if (s.dtype !== 'float32' || s.quantization !== undefined) {
      throw new Error(`model.json: weight ${s.name} is not plain float32`);
    }
    bytes += 4 * s.shape.reduce((a, b) => a * b, 1);
  }
  if (weights.byteLength !== bytes) {
    throw new Error(`weights: the manifest describes ${bytes} bytes, got ${weights.byteLength}`);
  }
  await ensureBackend();
  const artifacts = tf.io.getModelArtifactsForJSONSync(json, specs, weights.slice().buffer);
  return tfl.loadLayersModel(tf.io.fromMemory(artifacts));
}

/**
 * On a thread with no backend yet (the coordinator's, once a run is over) selects 'cpu' in production mode,
 * so the one-off export prints no tfjs console banner.
 */
async function ensureBackend(): Promise<void> {
  if (!tf.getBackend()) {
    tf.env().set('PROD', true);
    if (!(await tf.setBackend('cpu'))) {
      throw new Error("export: no tfjs backend was set and 'cpu' could not initialise");
    }
  }
  await tf.ready();
}

function asModelJson(value: object): tf.io.ModelJSON {
  const v = value as Partial<Record<keyof tf.io.ModelJSON, unknown>>;
  if (typeof v.modelTopology !== 'object' || v.modelTopology === null) {
    throw new Error('model.json: expected an object "modelTopology"');
  }
  const manifest = v.weightsManifest;
  if (
    !Array.isArray(manifest) ||
    !manifest.every(
      (g: unknown) =>
        typeof g === 'object' &&
        g !== null &&
        Array.isArray((g as { paths?: unknown }).paths) &&
        Array.isArray((g as { weights?: unknown }).weights),
    )
  ) {
    throw new Error('model.json: expected "weightsManifest", a list of { paths, weights } groups');
  }
  return value as tf.io.ModelJSON;
}
