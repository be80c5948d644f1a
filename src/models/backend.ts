import { createRequire } from 'node:module';
import type { BackendChoice, ModelConfig } from '../scenario/schema.ts';
import { loadTfjs, type TfjsRuntime } from './tfjs-runtime.ts';

/**
 * A backend fedmed can train on: a tfjs backend, or fedmed's own fused engine, 'js' (products accumulated in
 * float64) or 'js-f32' (in float32, faster, other last bits).
 */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu' | 'js' | 'js-f32';

/** Package that provides the native 'tensorflow' backend (optional: it cannot install everywhere). */
const TFJS_NODE = '@tensorflow/tfjs-node';

/** The order `'auto'` tries backends in: native TensorFlow, then fedmed's engine, which trains every zoo model. */
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'js', 'wasm', 'cpu'];

/**
 * Loads and activates a backend in the current thread, returning the one now active. `'auto'` takes the
 * first that loads: 'tensorflow' (when @tensorflow/tfjs-node is installed), else 'js' (fedmed's fused engine,
 * WebAssembly SIMD kernels, every zoo model), else 'wasm' (with the conv-gradient kernel it lacks), else
 * 'cpu'. An explicit choice gets exactly that backend or an Error saying why it could not load. 'js' and
 * 'js-f32' activate no tfjs backend (the fused engine does not use tfjs).
 */
export async function selectBackend(requested: BackendChoice, model: ModelConfig): Promise<BackendName> {
  if (requested !== 'auto') return activate(requested, model);
  const failures: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      return await activate(candidate, model);
    } catch (e) {
      failures.push(errorMessage(e));
    }
  }
  throw new Error(`no tfjs backend could load:\n  ${failures.join('\n  ')}`);
}

/** Makes `name` the thread's backend and returns it; 'js' and 'js-f32' need no tfjs backend. */
async function activate(name: BackendName, model: ModelConfig): Promise<BackendName> {
  if (name === 'js' || name === 'js-f32') return name;
  if (name === 'tensorflow' && !tfjsNodeInstalled()) {
    throw new Error(`backend 'tensorflow' needs ${TFJS_NODE}, which is not installed`);
  }
  const runtime = await loadTfjs();
  const { tf } = runtime;
  if (name === 'tensorflow') await loadTfjsNode(runtime);
  if (name === 'wasm') {
    try {
      runtime.registerWasmConv2DBackpropFilter();
    } catch (e) {
      // Only conv nets need the kernel; dense models still train on wasm without it.
      if (model.kind === 'cnn') {
        throw new Error(
          `backend 'wasm' cannot train a cnn: registering Conv2DBackpropFilter failed: ${errorMessage(e)}`,
        );
      }
    }
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new Error(`backend '${name}' could not initialise: ${errorMessage(e)}`);
  }
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`backend '${name}' could not initialise (tfjs reported failure; see its warnings above)`);
  }
  return activeBackend(runtime);
}

/** Whether the optional native package resolves, checked without loading TensorFlow.js. */
function tfjsNodeInstalled(): boolean {
  try {
    createRequire(import.meta.url).resolve(TFJS_NODE);
    return true;
  } catch {
    return false;
  }
}

async function loadTfjsNode({ tf }: TfjsRuntime): Promise<void> {
  if (tf.findBackendFactory('tensorflow')) return;
  // A variable specifier keeps TypeScript from requiring the optional package's types.
  const specifier: string = TFJS_NODE;
  try {
    await import(specifier);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new Error(`backend 'tensorflow' needs ${TFJS_NODE}, which is not installed`);
    }
    throw new Error(`backend 'tensorflow' needs ${TFJS_NODE}, which failed to load: ${errorMessage(e)}`);
  }
  if (!tf.findBackendFactory('tensorflow')) {
    throw new Error(
      `backend 'tensorflow': ${TFJS_NODE} loaded but registered no 'tensorflow' backend with this copy of ` +
        '@tensorflow/tfjs-core (are two versions of tfjs-core installed?)',
    );
  }
}

function activeBackend({ tf }: TfjsRuntime): BackendName {
  const name = tf.getBackend();
  if (name !== 'tensorflow' && name !== 'wasm' && name !== 'cpu') {
    throw new Error(`unexpected active tfjs backend '${name}'`);
  }
  return name;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
