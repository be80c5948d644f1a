import { parseScenario } from '../../src/scenario/load.ts';
import type { Scenario, ScenarioInput } from '../../src/scenario/schema.ts';
import { runFederation, type RoundRecord, type RunResult } from '../../src/server/coordinator.ts';
import type { Crossing } from '../../src/server/ledger.ts';
import type { WorkerPool } from '../../src/server/worker-pool.ts';

/** A small four-hospital scenario (two per country) that trains in a few seconds. */
export function smallScenario(changes: Partial<ScenarioInput> = {}): Scenario {
  return parseScenario({
    name: 'test-small',
    seed: 5,
    rounds: 3,
    minClients: 2,
    backend: 'wasm',
    coordinator: { site: 'KR' },
    data: { kind: 'synthetic-cohort', testFraction: 0.3 },
    hospitals: [
      { id: 'kr-a', country: 'KR', patients: 200, cohort: { prevalence: 0.2 } },
      { id: 'kr-b', country: 'KR', patients: 120, cohort: { prevalence: 0.25 } },
      { id: 'cn-a', country: 'CN', patients: 240, cohort: { prevalence: 0.2 } },
      { id: 'cn-b', country: 'CN', patients: 100, cohort: { prevalence: 0.3 } },
    ],
    model: { kind: 'mlp', hidden: [8] },
    training: { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    ...changes,
  });
}

/** A run with its records kept in memory. */
export interface MemoryRun {
  readonly result: RunResult;
  readonly rounds: RoundRecord[];
  readonly crossings: Crossing[];
}

/** Runs a scenario with real worker threads, keeping every record in memory. */
export async function runInMemory(
  scenario: Scenario,
  options: { threads?: number; pool?: WorkerPool; baseDir?: string } = {},
): Promise<MemoryRun> {
  const rounds: RoundRecord[] = [];
  const crossings: Crossing[] = [];
  const result = await runFederation(scenario, {
    threads: options.threads ?? scenario.hospitals.length,
    backend: scenario.backend,
    baseDir: options.baseDir ?? process.cwd(),
    timeoutMs: 120_000,
    ...(options.pool === undefined ? {} : { pool: options.pool }),
    sink: {
      round: (r, c) => {
        rounds.push(r);
        crossings.push(...c);
      },
      crossings: (c) => crossings.push(...c),
    },
  });
  return { result, rounds, crossings };
}
