import type { ModelConfig } from '../scenario/schema.ts';
import type { BackendName } from './backend.ts';
import { createFusedTrainer } from './fused-trainer.ts';
import { loadedTfjs } from './tfjs-runtime.ts';
import type { LocalTrainer } from './types.ts';
import { BINARY_HEAD, type OutputHead } from '../protocol/outcome.ts';

/** Whether `backend` trains through tfjs (else through fedmed's fused engine). */
export function usesTfjs(backend: BackendName): boolean {
  return backend !== 'js' && backend !== 'js-f32';
}

/** The trainer of `backend` (already activated by `selectBackend`, which loads tfjs for a tfjs backend) for `model` on inputs of `inputShape`, output `head`. */
export function createTrainer(
  backend: BackendName,
  model: ModelConfig,
  inputShape: readonly number[],
  head: OutputHead = BINARY_HEAD,
): LocalTrainer {
  if (backend === 'js') return createFusedTrainer(model, inputShape, 'float64', head);
  if (backend === 'js-f32') return createFusedTrainer(model, inputShape, 'float32', head);
  return loadedTfjs().createTfjsTrainer(model, inputShape, head);
}
