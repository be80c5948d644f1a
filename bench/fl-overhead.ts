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

const ROUNDS = Number(process.env.FEDMED_BENCH_OVERHEAD_ROUNDS ?? '3');
const SCENARIOS = ['scenarios/multisite-imaging.json', 'scenarios/korea-china.json'];

console.log(
  `FL round against centralised training, ${ROUNDS} rounds, one worker thread; load ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
);
console.log('scenario | model | backend | FL round s (median) | centralised s / round | overhead');
for (const file of SCENARIOS) {
  const scenario = applyOverrides(loadScenario(file), { rounds: ROUNDS });
  const backend = scenario.backend === 'auto' || scenario.backend === undefined ? 'js' : scenario.backend;
  const marks: number[] = [];
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
          sampled.push([...r.fit.sampled]);
        },
        crossings: () => {
          if (marks.length === 0) marks.push(performance.now());
        },
      },
    },
  );
  const rounds = marks.slice(1).map((m, i) => (m - marks[i]!) / 1000);
  const median = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
  const ctx = {
    seed: scenario.seed,
    data: scenario.data,
    hospitals: scenario.hospitals,
    baseDir: process.cwd(),
  };
  const trainer = createTrainer(backend, scenario.model, inputShapeOf(scenario.data));
  const perRound = sampled.map((ids) => ids.map((id) => buildLocalData(id, ctx).train));
  const c0 = performance.now();
  perRound.forEach((data, r) => {
    for (const d of data) {
      trainer.setParameters(result.parameters);
      trainer.train(d, scenario.training, stream(scenario.seed, 'bench-central', r));
    }
  });
  const central = (performance.now() - c0) / 1000 / perRound.length;
  console.log(
    [
      scenario.name,
      scenario.model.kind,
      backend,
      median.toFixed(3),
      central.toFixed(3),
      `${(((median - central) / central) * 100).toFixed(0)}%`,
    ].join(' | '),
  );
}
