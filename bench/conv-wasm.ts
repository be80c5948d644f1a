/**
 * Training throughput of a small conv net (conv8-pool-conv16-pool-dense10 on 28×28×1, batch 32, SGD via
 * optimizer.minimize) on the `wasm` backend with the Conv2DBackpropFilter kernel from
 * src/models/wasm-conv2d-grad.ts, against the `cpu` backend, in one run.
 *
 * Run: npx tsx bench/conv-wasm.ts [--wasm-steps N] [--cpu-steps N]
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmConv2DBackpropFilter } from '../src/models/wasm-conv2d-grad.ts';
import { stream } from '../src/common/rng.ts';

const BATCH = 32;
const CLASSES = 10;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function buildNet(seed: number): tfl.Sequential {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed * 10 + k });
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: init(2) }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: CLASSES, kernelInitializer: init(3) }),
    ],
  });
}

interface Measure {
  readonly backend: string;
  readonly samplesPerSecond: number;
  readonly steps: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
}

async function measure(backend: 'cpu' | 'wasm', steps: number): Promise<Measure> {
  await tf.setBackend(backend);
  await tf.ready();
  const model = buildNet(1);
  const optimizer = tf.train.sgd(0.05);
  const rng = stream(1, 'bench', 'conv-wasm', 'labels');
  const labels = Int32Array.from({ length: BATCH }, () => rng.int(CLASSES));
  const x = tf.randomNormal([BATCH, 28, 28, 1], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), CLASSES);
  const step = (): number => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar,
      true,
    );
    if (loss === null) throw new Error('minimize returned no loss');
    const v = loss.dataSync()[0] ?? NaN;
    loss.dispose();
    return v;
  };
  const firstLoss = step(); // warm-up: kernel setup, weight allocation
  let lastLoss = firstLoss;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) lastLoss = step();
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([x, y]);
  optimizer.dispose();
  model.dispose();
  return { backend, samplesPerSecond: (steps * BATCH) / seconds, steps, firstLoss, lastLoss };
}

registerWasmConv2DBackpropFilter();
const wasm = await measure('wasm', arg('--wasm-steps', 60));
const cpu = await measure('cpu', arg('--cpu-steps', 4));
for (const m of [wasm, cpu]) {
  console.log(
    `${m.backend.padEnd(4)}  ${m.samplesPerSecond.toFixed(1).padStart(8)} samples/s  ` +
      `(${m.steps} steps of ${BATCH}; loss ${m.firstLoss.toFixed(4)} → ${m.lastLoss.toFixed(4)})`,
  );
}
console.log(`wasm / cpu = ${(wasm.samplesPerSecond / cpu.samplesPerSecond).toFixed(1)}×`);
