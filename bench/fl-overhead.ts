/**
 * The FL round against centralised training of the same sample-epochs in the same process, for models whose
 * training is real work: the imaging cnn (multisite-imaging.json) and the flagship (korea-china.json). The
 * federation runs on one worker thread (every hospital's training in turn, as centralised training is); one
 * trainer in this thread trains on the same hospitals' training records with the same epochs and batches.
 *
 * Two centralised baselines, both reported:
 * - "training alone": the round's sample-epochs and nothing else. A federated round also evaluates every
 *   hospital the round evaluates on its held-out patients, so against this baseline that evaluation counts as
 *   overhead: "overhead vs training" is the FL round against this.
 * - "training + evaluation": the same training, then the model scored on the held-out patients of the hospitals
 *   the FL round evaluated, with the scenario's evaluation settings (forward passes and clinical metrics,
 *   `evaluateOn` as a hospital runs it), as a centralised study that reports test metrics does: "overhead vs
 *   training + evaluation" is the FL round against this, what federating costs beyond the same work.
 * Each centralised round runs right after the FL round it copies, while the coordinator waits in its round
 * callback and the worker is idle, so FL and centralised rounds alternate under the same machine load; the FL
 * round's time runs from the end of the previous centralised round to the end of its own. An overhead is the
 * ratio of the medians over rounds, less one.
 *
 * Where a round's fixed cost goes: the same federation with every hospital's host in this thread (all of a
 * round's work on both sides of every message, no threads and no postMessage), and the round's messages alone
 * (as many requests of the same size, in the same two phases, through the pool to a thread that answers at once).
 * Every time is the median over the rounds. Run: `npx tsx bench/fl-overhead.ts`. Env:
 * FEDMED_BENCH_OVERHEAD_ROUNDS (default 3 for the cnn, 30 for the flagship, whose first rounds are mostly V8
 * compiling the round's code), FEDMED_BENCH_OVERHEAD_SCENARIOS (default both).
 */
import { median } from './measure.ts';
import { loadavg } from 'node:os';
import { stream } from '../src/common/rng.ts';
import { buildLocalData, type LocalData } from '../src/clients/data/index.ts';
import { evaluateOn } from '../src/clients/hospital.ts';
import type { BackendName } from '../src/models/backend.ts';
import { createTrainer } from '../src/models/create-trainer.ts';
import { headOf } from '../src/protocol/outcome.ts';
import { inputShapeOf } from '../src/protocol/cdm.ts';
import { applyOverrides, loadScenario } from '../src/scenario/load.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { runFederation, type RoundRecord } from '../src/server/coordinator.ts';
import { WorkerPool } from '../src/server/worker-pool.ts';
import { InThreadPool } from './in-thread-pool.ts';

/** CPU seconds of this process so far, every thread included (fair on a shared machine, as wall time is not). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
/** Rounds per scenario: the cnn's are long; the flagship's first rounds are mostly V8 compiling the round's code. */
const DEFAULT_ROUNDS: Readonly<Record<string, number>> = {
  'scenarios/multisite-imaging.json': 3,
  'scenarios/korea-china.json': 30,
};
const roundsOf = (file: string) =>
  Number(process.env.FEDMED_BENCH_OVERHEAD_ROUNDS ?? DEFAULT_ROUNDS[file] ?? 3);
const SCENARIOS = (
  process.env.FEDMED_BENCH_OVERHEAD_SCENARIOS ?? Object.keys(DEFAULT_ROUNDS).join(',')
).split(',');
const bytesOf = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** Wall and CPU seconds of each round of something. */
interface Times {
  readonly wall: number[];
  readonly cpu: number[];
}

/** What the rounds of one federation took, and what they sent. */
interface Rounds extends Times {
  /** Requests per phase of each round (fit, evaluate) and their mean size in bytes. */
  readonly phases: number[][];
  readonly requestBytes: number;
  readonly parameters: Float32Array;
}

/**
 * Runs the federation; `between`, if given, runs synchronously after each round (the coordinator waits in its
 * round callback), outside the round's time.
 */
async function federate(
  scenario: Scenario,
  backend: Scenario['backend'],
  pool?: WorkerPool,
  between?: (record: RoundRecord) => void,
): Promise<Rounds> {
  const wall: number[] = [];
  const cpuTimes: number[] = [];
  let start: { wall: number; cpu: number } | undefined;
  const phases: number[][] = [];
  let bytes = 0;
  let requests = 0;
  const result = await runFederation(
    { ...scenario, baselines: [] },
    {
      threads: 1,
      backend,
      baseDir: process.cwd(),
      timeoutMs: 600_000,
      ...(pool === undefined ? {} : { pool }),
      sink: {
        round: (r, crossings) => {
          if (start !== undefined) {
            wall.push((performance.now() - start.wall) / 1000);
            cpuTimes.push(cpu() - start.cpu);
          }
          phases.push([r.fit.sampled.length, Object.keys(r.evaluate.hospitals).length]);
          for (const c of crossings.filter((c) => c.direction === 'to-hospital')) {
            bytes += c.bytes;
            requests++;
          }
          between?.(r);
          start = { wall: performance.now(), cpu: cpu() };
        },
        crossings: () => {
          start ??= { wall: performance.now(), cpu: cpu() };
        },
      },
    },
  );
  return {
    wall,
    cpu: cpuTimes,
    phases,
    requestBytes: requests === 0 ? 0 : bytes / requests,
    parameters: result.parameters,
  };
}

/**
 * The centralised baselines of one scenario: `recorder()` gives a round callback that trains one trainer in this
 * thread on the training records of the round's sampled hospitals, then scores the held-out patients of the
 * hospitals it evaluated, and the times it recorded.
 */
function centralised(scenario: Scenario, backend: BackendName) {
  const ctx = {
    seed: scenario.seed,
    data: scenario.data,
    hospitals: scenario.hospitals,
    baseDir: process.cwd(),
  };
  const head = headOf(scenario.data);
  const trainer = createTrainer(backend, scenario.model, inputShapeOf(scenario.data), head);
  const start = trainer.getParameters();
  const local = new Map<string, LocalData>(scenario.hospitals.map((h) => [h.id, buildLocalData(h.id, ctx)]));
  return () => {
    const train: Times = { wall: [], cpu: [] };
    const trainEval: Times = { wall: [], cpu: [] };
    const round = (r: RoundRecord) => {
      const c0 = performance.now();
      const k0 = cpu();
      for (const id of r.fit.sampled) {
        trainer.setParameters(start);
        trainer.train(
          local.get(id)!.train,
          scenario.training,
          stream(scenario.seed, 'bench-central', r.round),
        );
      }
      const c1 = performance.now();
      const k1 = cpu();
      for (const id of Object.keys(r.evaluate.hospitals)) {
        const d = local.get(id)!;
        evaluateOn(trainer, d.test, d.testGroups, scenario.evaluation, head);
      }
      train.wall.push((c1 - c0) / 1000);
      train.cpu.push(k1 - k0);
      trainEval.wall.push((performance.now() - c0) / 1000);
      trainEval.cpu.push(cpu() - k0);
    };
    return { round, train, trainEval };
  };
}

/** `x`'s overhead over the baseline `c`, wall / CPU: the ratio of their medians over rounds, less one. */
function overhead(x: Times, c: Times): string {
  const pct = (a: number[], b: number[]) => `${((median(a) / median(b) - 1) * 100).toFixed(0)}%`;
  return `${pct(x.wall, c.wall)} / ${pct(x.cpu, c.cpu)}`;
}

/** Seconds per round of a round's messages alone: each phase's requests in flight at once, then the next phase. */
async function messagesAlone(phases: readonly number[], bytes: number): Promise<number> {
  const pool = await WorkerPool.start(['echo'], 1, {
    timeoutMs: 60_000,
    entry: { url: new URL('./echo-worker.ts', import.meta.url).href, data: {} },
  });
  try {
    const round = async () => {
      for (const n of phases)
        await Promise.all(
          Array.from({ length: n }, () => pool.exchange('echo', new Uint8Array(Math.round(bytes)), 'echo')),
        );
    };
    for (let i = 0; i < 20; i++) await round();
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await round();
      times.push((performance.now() - t) / 1000);
    }
    return median(times);
  } finally {
    await pool.close();
  }
}

console.log(
  `FL round against centralised training, one worker thread; load ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
);
console.log(
  'scenario | rounds | model | backend | FL round: wall s / CPU s (median) | in the bench thread, no messages: wall s / CPU s; ' +
    'its overhead vs training + evaluation | messages alone: wall s | centralised training alone: wall s / CPU s per round | ' +
    'overhead vs training (wall / CPU) | centralised training + the same evaluation: wall s / CPU s | ' +
    'overhead vs training + evaluation (wall / CPU)',
);
for (const file of SCENARIOS) {
  const scenario = applyOverrides(loadScenario(file), { rounds: roundsOf(file) });
  const backend = scenario.backend === 'auto' || scenario.backend === undefined ? 'js' : scenario.backend;
  const recorder = centralised(scenario, backend);
  const central = recorder();
  const fl = await federate(scenario, backend, undefined, central.round);
  const besideInThread = recorder();
  const pool = InThreadPool.lend(scenario.hospitals.map((h) => h.id));
  const inThread = await federate(scenario, backend, pool, besideInThread.round);
  if (Buffer.compare(bytesOf(fl.parameters), bytesOf(inThread.parameters)) !== 0)
    throw new Error(`${scenario.name}: the run in the bench thread ended with another model`);
  const messages = await messagesAlone(fl.phases[0] ?? [], fl.requestBytes);
  const f = (x: number) => x.toFixed(4);
  const times = (t: Times) => `${f(median(t.wall))} / ${f(median(t.cpu))}`;
  console.log(
    [
      scenario.name,
      scenario.rounds,
      scenario.model.kind,
      backend,
      times(fl),
      `${times(inThread)}; ${overhead(inThread, besideInThread.trainEval)}`,
      f(messages),
      times(central.train),
      overhead(fl, central.train),
      times(central.trainEval),
      overhead(fl, central.trainEval),
    ].join(' | '),
  );
}
