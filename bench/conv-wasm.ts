/**
 * Local training throughput of fedmed's cnn (conv8-pool-conv16-pool-dense32-sigmoid on 28×28×1, batch 32,
 * SGD) through the product's own trainer, on `wasm` (with the Conv2DBackpropFilter kernel from
 * src/models/wasm-conv2d-grad.ts) against `cpu`, in one run.
 *
 * Run: npx tsx bench/conv-wasm.ts [--wasm-examples N] [--cpu-examples N]
 */
import { stream } from '../src/common/rng.ts';
import { initialParameters } from '../src/models/architecture.ts';
import { selectBackend } from '../src/models/backend.ts';
import { createTfjsTrainer } from '../src/models/tfjs-trainer.ts';
import type { Examples } from '../src/models/types.ts';
import type { ModelConfig } from '../src/scenario/schema.ts';

const SHAPE = [28, 28, 1] as const;
const MODEL: ModelConfig = { kind: 'cnn', filters: [8, 16], kernelSize: 3, dense: 32 };
const TRAINING = { localEpochs: 1, batchSize: 32, learningRate: 0.05, optimizer: 'sgd' as const };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function images(n: number): Examples {
  const rng = stream(1, 'bench', 'conv-images');
  const size = SHAPE[0] * SHAPE[1];
  const x = new Float32Array(n * size);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(2);
    for (let j = 0; j < size; j++) x[i * size + j] = rng.normal() * 0.3 + (y[i]! && j % 29 === 0 ? 1 : 0);
  }
  return { x, y, n, inputShape: SHAPE };
}

async function measure(backend: 'wasm' | 'cpu', n: number) {
  await selectBackend(backend, MODEL);
  const trainer = createTfjsTrainer(MODEL, SHAPE);
  trainer.setParameters(initialParameters(trainer.spec, stream(1, 'init')));
  const data = images(n);
  trainer.train(images(32), TRAINING, stream(1, 'warm-up'));
  const t0 = performance.now();
  const result = trainer.train(data, TRAINING, stream(1, 'train'));
  const seconds = (performance.now() - t0) / 1000;
  trainer.dispose();
  return { backend, samplesPerSecond: n / seconds, n, loss: result.loss };
}

const wasm = await measure('wasm', arg('--wasm-examples', 1024));
const cpu = await measure('cpu', arg('--cpu-examples', 64));
for (const m of [wasm, cpu]) {
  console.log(
    `cnn ${m.backend.padEnd(4)}  ${m.samplesPerSecond.toFixed(1).padStart(8)} samples/s  (${m.n} examples, batch 32, loss ${m.loss.toFixed(4)})`,
  );
}
console.log(`wasm / cpu = ${(wasm.samplesPerSecond / cpu.samplesPerSecond).toFixed(1)}×`);
