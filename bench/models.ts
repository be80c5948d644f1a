/**
 * Local training throughput of every zoo model on fedmed's engine (backends js and js-f32) and on tfjs'
 * wasm backend, against PyTorch on one thread measured in the same run (when /usr/bin/python3 can import
 * torch). Rates are samples per second of each process's CPU time (user + system, all its threads), which is
 * samples/s on an idle machine and leaves out the time other processes hold the core on a shared one. Trials of
 * fedmed and PyTorch alternate and each column keeps its best, so load that comes and goes hits both sides
 * alike. Prints a table and writes bench-results/models-*.json.
 *
 * Run: npx tsx bench/models.ts   (env: BENCH_TRIALS, default 5; BENCH_SECONDS per trial, default 0.4)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { stream, type Rng } from '../src/common/rng.ts';
import { initialParameters } from '../src/models/architecture.ts';
import { selectBackend, type BackendName } from '../src/models/backend.ts';
import { createTrainer } from '../src/models/create-trainer.ts';
import type { Examples } from '../src/models/types.ts';
import type { ModelConfig } from '../src/scenario/schema.ts';
import { TorchBench, type TorchModel } from './pytorch.ts';

const TRIALS = Number(process.env['BENCH_TRIALS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 0.4);
const BACKENDS: readonly BackendName[] = ['js', 'js-f32', 'wasm'];

/** One benchmarked case: the issue's shapes (dense: 4096 × 9 as before; cnn: 28×28×1 images). */
interface Case {
  readonly label: string;
  readonly config: ModelConfig;
  readonly torch: TorchModel;
  readonly shape: readonly number[];
  readonly n: number;
  readonly batch: number;
}

const DENSE: readonly Omit<Case, 'batch' | 'shape' | 'n'>[] = [
  { label: 'logistic', config: { kind: 'logistic' }, torch: { kind: 'logistic' } },
  {
    label: 'mlp [32,16]',
    config: { kind: 'mlp', hidden: [32, 16], activation: 'relu' },
    torch: { kind: 'mlp', hidden: [32, 16] },
  },
  {
    label: 'mlp [64,32]',
    config: { kind: 'mlp', hidden: [64, 32], activation: 'relu' },
    torch: { kind: 'mlp', hidden: [64, 32] },
  },
];
const CNN: Omit<Case, 'batch'> = {
  label: 'cnn [8,16] 28×28',
  config: { kind: 'cnn', filters: [8, 16], kernelSize: 3, dense: 32 },
  torch: { kind: 'cnn', filters: [8, 16], dense: 32 },
  shape: [28, 28, 1],
  n: 256,
};
const CASES: readonly Case[] = [
  ...DENSE.flatMap((d) => [32, 128].map((batch) => ({ ...d, shape: [9], n: 4096, batch }))),
  ...[32, 128].map((batch) => ({ ...CNN, batch })),
];

/** Examples of `shape` with labels from a noisy linear rule, so training has gradients to follow. */
function syntheticData(shape: readonly number[], n: number, rng: Rng): Examples {
  const size = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * size);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < size; j++) {
      const v = rng.normal();
      x[i * size + j] = v;
      z += (j % 2 === 0 ? 1 : -0.5) * v;
    }
    y[i] = z + 0.5 * rng.normal() > 0 ? 1 : 0;
  }
  return { x, y, n, inputShape: shape };
}

/** Seconds of this process's CPU time (user + system) so far. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** One trial: whole epochs of SGD until SECONDS of CPU time have passed (after a warm-up epoch); returns samples/s. */
async function fedmedRate(backend: BackendName, c: Case, data: Examples): Promise<number> {
  const active = await selectBackend(backend, c.config);
  const trainer = createTrainer(active, c.config, c.shape);
  trainer.setParameters(initialParameters(trainer.spec, stream(1, 'bench', 'init')));
  const options = { localEpochs: 1, batchSize: c.batch, learningRate: 0.05, optimizer: 'sgd' as const };
  trainer.train(data, options, stream(1, 'bench', 'warm-up'));
  let epochs = 0;
  const t0 = cpuSeconds();
  let elapsed = 0;
  while (elapsed < SECONDS) {
    trainer.train(data, options, stream(1, 'bench', epochs));
    epochs++;
    elapsed = cpuSeconds() - t0;
  }
  trainer.dispose();
  return (epochs * data.n) / elapsed;
}

interface Row {
  readonly model: string;
  readonly batch: number;
  /** Best trial's samples/s per fedmed backend. */
  readonly fedmed: Record<string, number>;
  readonly pytorch: number | null;
}

async function main(): Promise<void> {
  const torch = TorchBench.start();
  const rows: Row[] = [];
  try {
    for (const c of CASES) {
      const data = syntheticData(c.shape, c.n, stream(1, 'bench', 'data', c.label));
      const best: Record<string, number> = {};
      let torchBest: number | null = null;
      for (let t = 0; t < TRIALS; t++) {
        for (const backend of BACKENDS) {
          // tfjs' wasm backend trains the cnn at a few hundred samples/s: one trial says enough.
          if (backend === 'wasm' && c.config.kind === 'cnn' && t > 0) continue;
          best[backend] = Math.max(best[backend] ?? 0, await fedmedRate(backend, c, data));
        }
        if (torch !== null) {
          const request = { model: c.torch, shape: c.shape, n: c.n, batch: c.batch, seconds: SECONDS };
          torchBest = Math.max(torchBest ?? 0, await torch.rate(request));
        }
      }
      rows.push({ model: c.label, batch: c.batch, fedmed: best, pytorch: torchBest });
      console.error(`measured ${c.label}, batch ${c.batch}`);
    }
  } finally {
    torch?.close();
  }
  print(rows, torch?.version ?? null);
  save(rows, torch?.version ?? null);
}

function print(rows: readonly Row[], torchVersion: string | null): void {
  const header = [
    'model',
    'batch',
    ...BACKENDS.map((b) => `${b} samples/s`),
    'PyTorch (1 thread)',
    ...ratioNames(),
  ];
  const table = rows.map((r) => [
    r.model,
    String(r.batch),
    ...BACKENDS.map((b) => fmt(r.fedmed[b]!)),
    r.pytorch === null ? '–' : fmt(r.pytorch),
    ...BACKENDS.map((b) => (r.pytorch === null ? '–' : `${(r.fedmed[b]! / r.pytorch).toFixed(2)}×`)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => (i >= 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i >= 1 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`);
  for (const r of table) console.log(line(r));
  console.log(
    `\nsamples per CPU-second, best of ${TRIALS} alternating trials of ≥ ${SECONDS} s each; SGD lr 0.05; dense on 4096 × 9, cnn on ` +
      `256 images; Node ${process.version}; PyTorch ${torchVersion ?? 'absent'} (torch.set_num_threads(1)); ` +
      `${cpus()[0]?.model ?? 'unknown cpu'}, ${cpus().length} cores, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
  );
}

function ratioNames(): string[] {
  return BACKENDS.map((b) => `${b} ÷ PyTorch`);
}

/** Writes the rows, with the commit, date and machine, to bench-results/ for tracking across commits. */
function save(rows: readonly Row[], torchVersion: string | null): void {
  const date = new Date().toISOString();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a git checkout: the file still records everything else.
  }
  mkdirSync('bench-results', { recursive: true });
  const file = `bench-results/models-${date.replace(/[:.]/g, '-')}.json`;
  const body = {
    date,
    commit,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    loadAverage: loadavg(),
    pytorch: torchVersion,
    trials: TRIALS,
    secondsPerTrial: SECONDS,
    rows,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`results: ${file}`);
}

function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US');
}

await main();
