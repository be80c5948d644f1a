/**
 * Training throughput of the tfjs trainer per backend and of the fused typed-array trainer (backend 'js'),
 * per model and batch size, against a plain Float32Array logistic-regression SGD loop and against wasm,
 * both measured in the same run. Run: `npx tsx bench/models.ts`.
 */
import { permutation, stream, type Rng } from '../src/common/rng.ts';
import { initialParameters } from '../src/models/architecture.ts';
import { selectBackend, type BackendName } from '../src/models/backend.ts';
import { createFusedTrainer } from '../src/models/fused-trainer.ts';
import { createTfjsTrainer } from '../src/models/tfjs-trainer.ts';
import type { Examples, LocalTrainer } from '../src/models/types.ts';
import type { ModelConfig } from '../src/scenario/schema.ts';

const FEATURES = 9;
const N = 4096;
const MIN_SECONDS = Number(process.env['BENCH_SECONDS'] ?? 1.5);
const BATCHES = [32, 128] as const;
/** wasm first: every row's "× wasm" divides by the wasm rate of the same model and batch. */
const BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'js'];
const MODELS: readonly { label: string; config: ModelConfig }[] = [
  { label: 'logistic', config: { kind: 'logistic' } },
  { label: 'mlp [32,16]', config: { kind: 'mlp', hidden: [32, 16], activation: 'relu' } },
  { label: 'mlp [64,32]', config: { kind: 'mlp', hidden: [64, 32], activation: 'relu' } },
];

function syntheticData(rng: Rng): Examples {
  const x = new Float32Array(N * FEATURES);
  const y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    let z = 0;
    for (let j = 0; j < FEATURES; j++) {
      const v = rng.normal();
      x[i * FEATURES + j] = v;
      z += (j % 2 === 0 ? 1 : -0.5) * v;
    }
    y[i] = z + 0.5 * rng.normal() > 0 ? 1 : 0;
  }
  return { x, y, n: N, inputShape: [FEATURES] };
}

/** Runs `epoch` until at least MIN_SECONDS have passed (after one warm-up epoch); returns samples/s. */
function measure(epoch: (rng: Rng, e: number) => void): number {
  epoch(stream(1, 'bench', 'warmup'), -1);
  let epochs = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < MIN_SECONDS) {
    epoch(stream(1, 'bench', epochs), epochs);
    epochs++;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return (epochs * N) / elapsed;
}

/** Minibatch SGD logistic regression in plain typed-array loops, with the same shuffling and gathering. */
function baseline(data: Examples, batch: number): number {
  const w = new Float32Array(FEATURES);
  let bias = 0;
  const g = new Float32Array(FEATURES);
  const xb = new Float32Array(batch * FEATURES);
  const yb = new Float32Array(batch);
  const lr = 0.05;
  return measure((rng) => {
    const order = permutation(N, rng);
    for (let start = 0; start < N; start += batch) {
      const b = Math.min(batch, N - start);
      for (let k = 0; k < b; k++) {
        const r = order[start + k]!;
        xb.set(data.x.subarray(r * FEATURES, r * FEATURES + FEATURES), k * FEATURES);
        yb[k] = data.y[r]!;
      }
      g.fill(0);
      let gb = 0;
      for (let k = 0; k < b; k++) {
        let z = bias;
        for (let j = 0; j < FEATURES; j++) z += w[j]! * xb[k * FEATURES + j]!;
        const d = 1 / (1 + Math.exp(-z)) - yb[k]!;
        for (let j = 0; j < FEATURES; j++) g[j]! += d * xb[k * FEATURES + j]!;
        gb += d;
      }
      for (let j = 0; j < FEATURES; j++) w[j]! -= (lr * g[j]!) / b;
      bias -= (lr * gb) / b;
    }
  });
}

async function main(): Promise<void> {
  const data = syntheticData(stream(1, 'bench', 'data'));
  const base = new Map<number, number>();
  for (const batch of BATCHES) base.set(batch, baseline(data, batch));

  const rows: string[][] = [];
  const wasm = new Map<string, number>();
  for (const backend of BACKENDS) {
    for (const { label, config } of MODELS) {
      const active = await selectBackend(backend, config);
      for (const batch of BATCHES) {
        const trainer = makeTrainer(active, config);
        trainer.setParameters(initialParameters(trainer.spec, stream(1, 'bench', 'init')));
        const options = { localEpochs: 1, batchSize: batch, learningRate: 0.05, optimizer: 'sgd' as const };
        const rate = measure((rng) => trainer.train(data, options, rng));
        trainer.dispose();
        if (active === 'wasm') wasm.set(`${label}/${batch}`, rate);
        const vsWasm = wasm.get(`${label}/${batch}`);
        rows.push([
          active,
          label,
          String(batch),
          fmt(rate),
          (rate / base.get(batch)!).toFixed(3),
          vsWasm === undefined ? '–' : (rate / vsWasm).toFixed(2),
        ]);
      }
    }
  }
  for (const batch of BATCHES) {
    rows.push(['plain JS', 'logistic (baseline)', String(batch), fmt(base.get(batch)!), '1', '–']);
  }
  printTable(['backend', 'model', 'batch', 'samples/s', '× baseline', '× wasm'], rows);
}

/** The fused trainer for 'js', else the tfjs trainer on the backend just activated. */
function makeTrainer(backend: BackendName, config: ModelConfig): LocalTrainer {
  return backend === 'js' ? createFusedTrainer(config, [FEATURES]) : createTfjsTrainer(config, [FEATURES]);
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}

function printTable(header: readonly string[], rows: readonly string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(
    `|${widths.map((w, i) => (i >= 2 ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`,
  );
  for (const r of rows) console.log(line(r));
  console.log(`\n${N} examples × ${FEATURES} features, SGD lr 0.05; Node ${process.version}`);
}

await main();
