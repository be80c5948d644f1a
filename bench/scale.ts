/**
 * Many hospitals on a few threads (scenarios like scale.json: clinics of 20–200 patients, 1% sampled per
 * round, logistic regression on backend js, data released between rounds), against the number of hospitals:
 * setup and round time, bytes crossed, crossing-record bytes and peak memory; and the FL round against
 * centralised training of the same sample-epochs in the same process (the same hospitals' records, one trainer).
 * Each size runs in a process of its own, so its peak RSS (worker threads included) is its own.
 * Run: `npx tsx bench/scale.ts`. Env: FEDMED_BENCH_SCALE_SIZES (default 10,100,1000,10000),
 * FEDMED_BENCH_SCALE_ROUNDS (default 10), FEDMED_BENCH_SCALE_THREADS (default: the cores).
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { stream } from '../src/common/rng.ts';
import { buildLocalData } from '../src/clients/data/index.ts';
import { createTrainer } from '../src/models/create-trainer.ts';
import { inputShapeOf } from '../src/protocol/cdm.ts';
import { parseScenario } from '../src/scenario/load.ts';
import { runFederation } from '../src/server/coordinator.ts';
import { defaultThreads } from '../src/server/thread-count.ts';
import { scaleScenario } from './scale-scenario.ts';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const SIZES = env('FEDMED_BENCH_SCALE_SIZES', '10,100,1000,10000').split(',').map(Number);
const ROUNDS = Number(env('FEDMED_BENCH_SCALE_ROUNDS', '10'));
const THREADS = process.env.FEDMED_BENCH_SCALE_THREADS;

/** What one size measured. */
interface SizeResult {
  readonly hospitals: number;
  readonly threads: number;
  readonly setupSeconds: number;
  readonly roundSeconds: { readonly first: number; readonly median: number; readonly last: number };
  readonly centralisedSeconds: number;
  readonly bytesPerRound: number;
  readonly crossingRecordBytes: {
    readonly setup: number;
    readonly perRound: number;
    readonly lastRound: number;
  };
  readonly peakRssMb: number;
}

async function one(hospitals: number, rounds: number): Promise<SizeResult> {
  const scenario = parseScenario(scaleScenario({ hospitals, rounds }));
  const threads = THREADS === undefined ? defaultThreads(hospitals) : Number(THREADS);
  const t0 = performance.now();
  const marks: number[] = [];
  const recordBytes: number[] = [];
  const sampled: string[][] = [];
  let setupRecord = 0;
  const size = (cs: readonly unknown[]) => cs.reduce<number>((s, c) => s + JSON.stringify(c).length + 1, 0);
  const result = await runFederation(scenario, {
    threads,
    backend: 'js',
    baseDir: process.cwd(),
    timeoutMs: 600_000,
    sink: {
      round: (r, cs) => {
        marks.push(performance.now());
        recordBytes.push(size(cs));
        sampled.push([...r.fit.sampled]);
      },
      crossings: (cs) => {
        if (marks.length === 0) {
          setupRecord += size(cs);
          marks.push(performance.now());
        }
      },
    },
  });
  const setupSeconds = (marks[0]! - t0) / 1000;
  const rounds_ = marks.slice(1).map((m, i) => (m - marks[i]!) / 1000);
  const sorted = [...rounds_].sort((a, b) => a - b);
  // Centralised: one trainer in this thread, the same hospitals' training records, the same epochs and batches.
  const ctx = {
    seed: scenario.seed,
    data: scenario.data,
    hospitals: scenario.hospitals,
    baseDir: process.cwd(),
  };
  const trainer = createTrainer('js', scenario.model, inputShapeOf(scenario.data));
  const perRound = sampled.map((ids) => ids.map((id) => buildLocalData(id, ctx).train));
  const c0 = performance.now();
  perRound.forEach((data, r) => {
    for (const d of data) {
      trainer.setParameters(result.parameters);
      trainer.train(d, scenario.training, stream(scenario.seed, 'bench-central', r));
    }
  });
  const centralisedSeconds = (performance.now() - c0) / 1000 / perRound.length;
  const bytes = result.bytes.toHospitals + result.bytes.toCoordinator;
  return {
    hospitals,
    threads: result.threads.length,
    setupSeconds,
    roundSeconds: {
      first: rounds_[0]!,
      median: sorted[Math.floor(sorted.length / 2)]!,
      last: rounds_.at(-1)!,
    },
    centralisedSeconds,
    bytesPerRound: bytes / rounds,
    crossingRecordBytes: {
      setup: setupRecord,
      perRound: recordBytes.reduce((a, b) => a + b, 0) / rounds,
      lastRound: recordBytes.at(-1)!,
    },
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

if (process.argv[2] === 'one') {
  console.log(JSON.stringify(await one(Number(process.argv[3]), Number(process.argv[4]))));
} else {
  const self = fileURLToPath(import.meta.url);
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  console.log(
    `scale: clinics of 20–200 patients, 1% per round, logistic, backend js, data released; ${ROUNDS} rounds; ` +
      `${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)} at start; Node ${process.version}`,
  );
  console.log(
    'hospitals | threads | setup s | round s (first / median / last) | centralised s/round | FL/central | ' +
      'bytes/round | record bytes (setup / per round / last round) | peak RSS MB',
  );
  for (const n of SIZES) {
    const out = spawnSync(tsx, [self, 'one', String(n), String(ROUNDS)], { encoding: 'utf8' });
    const line = out.stdout.trim().split('\n').at(-1) ?? '';
    if (out.status !== 0 || !line.startsWith('{')) {
      console.log(`${n}: failed (${out.status}) ${out.stderr.slice(-400)}`);
      continue;
    }
    const r = JSON.parse(line) as SizeResult;
    const f = (x: number, d = 2) => x.toFixed(d);
    console.log(
      [
        r.hospitals,
        r.threads,
        f(r.setupSeconds),
        `${f(r.roundSeconds.first, 3)} / ${f(r.roundSeconds.median, 3)} / ${f(r.roundSeconds.last, 3)}`,
        f(r.centralisedSeconds, 4),
        f(r.roundSeconds.median / r.centralisedSeconds, 0) + '×',
        Math.round(r.bytesPerRound),
        `${Math.round(r.crossingRecordBytes.setup)} / ${Math.round(r.crossingRecordBytes.perRound)} / ${r.crossingRecordBytes.lastRound}`,
        f(r.peakRssMb, 0),
      ].join(' | '),
    );
  }
  console.log(`load ${loadavg()[0]!.toFixed(1)} at end`);
}
