import type * as Tf from '@tensorflow/tfjs-core';
import type { LocalTrainer } from './types.ts';
import type { ModelConfig } from '../scenario/schema.ts';
import type { OutputHead } from '../protocol/outcome.ts';

/** What fedmed uses of TensorFlow.js, loaded on demand: threads that train with `js` never load it. */
export interface TfjsRuntime {
  readonly tf: typeof Tf;
  /** Version of tfjs-core loaded. */
  readonly version: string;
  readonly registerWasmConv2DBackpropFilter: () => void;
  readonly createTfjsTrainer: (
    model: ModelConfig,
    inputShape: readonly number[],
    head?: OutputHead,
  ) => LocalTrainer;
}

let loading: Promise<TfjsRuntime> | undefined;
let loaded: TfjsRuntime | undefined;

/** Loads tfjs-core, its cpu and wasm backends, the wasm conv-gradient kernel and the tfjs trainer (once per thread). */
export function loadTfjs(): Promise<TfjsRuntime> {
  loading ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    await import('@tensorflow/tfjs-backend-wasm');
    const { registerWasmConv2DBackpropFilter } = await import('./wasm-conv2d-grad.ts');
    const { createTfjsTrainer } = await import('./tfjs-trainer.ts');
    loaded = { tf, version: tf.version_core, registerWasmConv2DBackpropFilter, createTfjsTrainer };
    return loaded;
  })();
  return loading;
}

/** The runtime {@link loadTfjs} loaded; throws if it has not (select a tfjs backend first). */
export function loadedTfjs(): TfjsRuntime {
  if (loaded === undefined)
    throw new Error('TensorFlow.js is not loaded in this thread: select a tfjs backend first');
  return loaded;
}
