import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { initialParameters, parameterSpec } from '../../src/models/architecture.ts';
import { inputShapeOf } from '../../src/protocol/cdm.ts';
import { hostSetup } from '../../src/server/host-setup.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';
import { smallScenario } from '../helpers/run.ts';

/** kr-a and cn-a share thread 0 of two; kr-a hangs in round 1. */
const scenario = smallScenario({
  backend: 'js',
  faults: [{ hospital: 'kr-a', behaviour: 'hang', rounds: [1] }],
});
const ids = scenario.hospitals.map((h) => h.id);
const global = initialParameters(
  parameterSpec(scenario.model, inputShapeOf(scenario.data)),
  stream(1, 'init'),
);
const fit = (pool: WorkerPool, hospital: string) =>
  pool.call(hospital, 'fit', (host) =>
    host.fit(hospital, global.slice(), { round: 1, training: scenario.training }),
  );

describe('the real-time guard', () => {
  it('start-up has its own guard: a 1 ms per-call guard does not trip on it', async () => {
    const pool = await WorkerPool.start(ids, 2, (h) => hostSetup(scenario, 'js', process.cwd(), h), 1);
    expect(pool.threads).toHaveLength(2);
    await pool.close();
  });

  it('a call past its guard terminates its thread: the next call there fails at once, not after its guard', async () => {
    const pool = await WorkerPool.start(ids, 2, (h) => hostSetup(scenario, 'js', process.cwd(), h), 3000);
    try {
      await expect(fit(pool, 'kr-a')).rejects.toThrow(/no answer for fit at hospital kr-a within 3 s/);
      const started = performance.now();
      await expect(fit(pool, 'cn-a')).rejects.toThrow(/worker thread 0 (exited|failed)/);
      expect(performance.now() - started).toBeLessThan(2500);
      await expect(fit(pool, 'kr-b')).resolves.toMatchObject({ numExamples: expect.any(Number) });
    } finally {
      await pool.close();
    }
  });

  it('close() ends a hanging thread and leaves no guard timer: the process then ends by itself', () => {
    const started = performance.now();
    const r = spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures/pool-close.mjs')], {
      encoding: 'utf8',
      timeout: 90_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('closed\n');
    expect(r.status).toBe(0);
    expect(performance.now() - started).toBeLessThan(90_000);
  });
});
