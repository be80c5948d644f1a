import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';
import { runInMemory } from '../helpers/run.ts';
import { SKLEARN_DATA, wineData, writeWine } from '../helpers/sklearn-data.ts';

/** 40 small hospitals, a quarter sampled per round: each thread hosts many, most are asked more than once. */
function manyHospitals(changes: Partial<ScenarioInput> = {}) {
  return parseScenario({
    name: 'test-virtual',
    seed: 3,
    rounds: 3,
    backend: 'js',
    coordinator: { site: 'neutral' },
    data: { kind: 'synthetic-cohort', testFraction: 0.3 },
    hospitals: Array.from({ length: 40 }, (_, i) => ({
      id: `h${String(i).padStart(2, '0')}`,
      country: i % 2 === 0 ? 'KR' : 'CN',
      patients: 20,
    })),
    model: { kind: 'logistic' },
    training: { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' },
    strategy: { name: 'fedavg', fractionFit: 0.25, fractionEvaluate: 0.25 },
    ...changes,
  });
}

const ids = manyHospitals().hospitals.map((h) => h.id);
const pools = new Map<number, WorkerPool>();
async function pool(threads: number): Promise<WorkerPool> {
  let p = pools.get(threads);
  if (p === undefined) {
    p = await WorkerPool.start(ids, threads, { timeoutMs: 120_000 });
    pools.set(threads, p);
  }
  return p;
}
afterAll(async () => {
  await Promise.all([...pools.values()].map((p) => p.close()));
});

describe('virtual hospitals: many hospitals on a few threads, data released between rounds', () => {
  it('release gives the final model of keep, with 1, 2 and 4 threads', async () => {
    const keep = await runInMemory(manyHospitals(), { pool: await pool(2) });
    const release = manyHospitals({ hospitalData: 'release' });
    const hashes = [sha256(keep.result.parameters)];
    for (const threads of [1, 2, 4]) {
      const run = await runInMemory(release, { pool: await pool(threads) });
      expect(run.result.threads).toHaveLength(threads);
      expect(run.rounds.map((r) => r.evaluate)).toEqual(keep.rounds.map((r) => r.evaluate));
      hashes.push(sha256(run.result.parameters));
    }
    expect(new Set(hashes).size).toBe(1);
    expect(keep.rounds.every((r) => r.fit.admitted.length === 10)).toBe(true);
  });

  it('a hospital state kept outside the worker (SCAFFOLD) carries over rebuilt hospitals', async () => {
    const scaffold = { strategy: { name: 'scaffold', fractionFit: 0.25, fractionEvaluate: 0.25 } } as const;
    const keep = await runInMemory(manyHospitals(scaffold), { pool: await pool(2) });
    const release = await runInMemory(manyHospitals({ ...scaffold, hospitalData: 'release' }), {
      pool: await pool(2),
    });
    expect(sha256(release.result.parameters)).toBe(sha256(keep.result.parameters));
  });

  it.skipIf(!existsSync(SKLEARN_DATA))(
    "own files released: read again and given the federation's transform again, the same model",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-virtual-wine-'));
      const wine = (hospitalData: 'keep' | 'release') =>
        parseScenario({
          name: 'test-virtual-wine',
          seed: 3,
          rounds: 3,
          backend: 'js',
          coordinator: { site: 'neutral' },
          data: wineData(),
          hospitals: writeWine(dir) as ScenarioInput['hospitals'],
          model: { kind: 'logistic' },
          training: { localEpochs: 1, batchSize: 16, learningRate: 0.3, optimizer: 'sgd' },
          evaluation: { minSubgroupSize: 3 },
          hospitalData,
        });
      const keep = wine('keep');
      const wines = await WorkerPool.start(
        keep.hospitals.map((h) => h.id),
        2,
        { timeoutMs: 120_000 },
      );
      try {
        const kept = await runInMemory(keep, { pool: wines, baseDir: dir });
        const released = await runInMemory(wine('release'), { pool: wines, baseDir: dir });
        expect(kept.result.preprocessing).toBeDefined();
        expect(sha256(released.result.parameters)).toBe(sha256(kept.result.parameters));
      } finally {
        await wines.close();
      }
    },
  );
});
