/**
 * The FL round against centralised training of the same sample-epochs in the same process, for models whose
 * training is real work: the imaging cnn (multisite-imaging.json) and the flagship (korea-china.json). The
 * federation runs on one worker thread (every hospital's training in turn, as centralised training is), then one
 * trainer in this thread trains on the same hospitals' training records with the same epochs and batches. A
 * round also evaluates every sampled hospital on its held-out patients, which centralised training does not.
 * Run: `npx tsx bench/fl-overhead.ts`. Env: FEDMED_BENCH_OVERHEAD_ROUNDS (default 3).
 */
import { loadavg } from 'node:os';
import { stream } from '../src/common/rng.ts';
import { buildLocalData } from '../src/clients/data/index.ts';
import { createTrainer } from '../src/models/create-trainer.ts';
import { inputShapeOf } from '../src/protocol/cdm.ts';
import { applyOverrides, loadScenario } from '../src/scenario/load.ts';
import { runFederation } from '../src/server/coordinator.ts';

/** CPU seconds of this process so far, every thread included (fair on a shared machine, as wall time is not). */
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const ROUNDS = Number(process.env.FEDMED_BENCH_OVERHEAD_ROUNDS ?? '3');
const SCENARIOS = ['scenarios/multisite-imaging.json', 'scenarios/korea-china.json'];

console.log(
  `FL round against centralised training, ${ROUNDS} rounds, one worker thread; load ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
);
console.log(
  'scenario | model | backend | FL round: wall s / CPU s (median) | centralised: wall s / CPU s per round | overhead (wall / CPU)',
);
for (const file of SCENARIOS) {
  const scenario = applyOverrides(loadScenario(file), { rounds: ROUNDS });
  const backend = scenario.backend === 'auto' || scenario.backend === undefined ? 'js' : scenario.backend;
  const marks: number[] = [];
  const cpuMarks: number[] = [];
  const sampled: string[][] = [];
  const result = await runFederation(
    { ...scenario, baselines: [] },
    {
      threads: 1,
      backend,
      baseDir: process.cwd(),
      timeoutMs: 600_000,
      sink: {
        round: (r) => {
          marks.push(performance.now());
          cpuMarks.push(cpu());
          sampled.push([...r.fit.sampled]);
        },
        crossings: () => {
          if (marks.length > 0) return;
          marks.push(performance.now());
          cpuMarks.push(cpu());
        },
      },
    },
  );
  const rounds = marks.slice(1).map((m, i) => (m - marks[i]!) / 1000);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const roundCpu = cpuMarks.slice(1).map((m, i) => m - cpuMarks[i]!);
  const ctx = {
    seed: scenario.seed,
    data: scenario.data,
    hospitals: scenario.hospitals,
    baseDir: process.cwd(),
  };
  const trainer = createTrainer(backend, scenario.model, inputShapeOf(scenario.data));
  const perRound = sampled.map((ids) => ids.map((id) => buildLocalData(id, ctx).train));
  const c0 = performance.now();
  const k0 = cpu();
  perRound.forEach((data, r) => {
    for (const d of data) {
      trainer.setParameters(result.parameters);
      trainer.train(d, scenario.training, stream(scenario.seed, 'bench-central', r));
    }
  });
  const central = (performance.now() - c0) / 1000 / perRound.length;
  const centralCpu = (cpu() - k0) / perRound.length;
  const pct = (fl: number, c: number) => `${(((fl - c) / c) * 100).toFixed(0)}%`;
  console.log(
    [
      scenario.name,
      scenario.model.kind,
      backend,
      `${median(rounds).toFixed(3)} / ${median(roundCpu).toFixed(3)}`,
      `${central.toFixed(3)} / ${centralCpu.toFixed(3)}`,
      `${pct(median(rounds), central)} / ${pct(median(roundCpu), centralCpu)}`,
    ].join(' | '),
  );
}
