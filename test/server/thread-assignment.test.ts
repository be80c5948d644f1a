import { describe, expect, it } from 'vitest';
import { closeHospitalThreads, startHospitalThreads } from '../../src/cli/hospital-threads.ts';
import { sha256 } from '../../src/common/hash.ts';
import { assignHospitals } from '../../src/server/worker-pool.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

describe('hospitals onto threads', () => {
  it('without sizes: the i-th hospital onto thread i mod n', () => {
    expect(Object.fromEntries(assignHospitals(['a', 'b', 'c', 'd', 'e'], 2))).toEqual({
      a: 0,
      b: 1,
      c: 0,
      d: 1,
      e: 0,
    });
  });

  it("by declared size: largest first onto the least loaded thread (the flagship's patients: 4,800 and 4,600, not 4,300 and 5,100)", () => {
    const patients: [string, number][] = [
      ['kr-seoul-1', 1200],
      ['kr-daegu-1', 500],
      ['kr-jeju-1', 300],
      ['cn-beijing-1', 2500],
      ['cn-shanghai-1', 2000],
      ['cn-guangzhou-1', 1500],
      ['cn-chengdu-1', 800],
      ['cn-urumqi-1', 600],
    ];
    const sizes = new Map(patients);
    const assigned = assignHospitals(
      patients.map(([h]) => h),
      2,
      sizes,
    );
    expect(Object.fromEntries(assigned)).toEqual({
      'cn-beijing-1': 0,
      'kr-seoul-1': 0,
      'cn-urumqi-1': 0,
      'kr-daegu-1': 0,
      'cn-shanghai-1': 1,
      'cn-guangzhou-1': 1,
      'cn-chengdu-1': 1,
      'kr-jeju-1': 1,
    });
    const load = [0, 0];
    for (const [h, t] of assigned) load[t]! += sizes.get(h)!;
    expect(load).toEqual([4800, 4600]);
    expect([...assignHospitals(['x', 'y'], 3, new Map([['x', 5]])).values()]).toEqual([0, 1]);
  });

  it('a run on threads balanced by size gives the same model, metrics and record as one thread', async () => {
    const scenario = smallScenario({ rounds: 2, backend: 'js' });
    const starting = startHospitalThreads(scenario, 2, 120_000);
    const pool = await starting;
    let balanced;
    try {
      balanced = await runInMemory(scenario, { pool });
    } finally {
      await closeHospitalThreads(starting);
    }
    const single = await runInMemory(scenario, { threads: 1 });
    // 240 + 100 patients on one thread, 200 + 120 on the other; i mod 2 would give 440 and 220.
    expect(balanced.result.assignment).toEqual({ 'cn-a': 0, 'cn-b': 0, 'kr-a': 1, 'kr-b': 1 });
    expect(sha256(balanced.result.parameters)).toBe(sha256(single.result.parameters));
    expect(JSON.stringify(balanced.rounds.map((r) => r.evaluate))).toBe(
      JSON.stringify(single.rounds.map((r) => r.evaluate)),
    );
    expect(JSON.stringify(balanced.crossings)).toBe(JSON.stringify(single.crossings));
  });
});
