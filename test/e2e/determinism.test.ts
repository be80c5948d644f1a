import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

describe('a run depends on scenario, seed and backend only', () => {
  it('gives the same final model with 1, 2 and 4 worker threads, and really starts that many', async () => {
    const scenario = smallScenario();
    const runs = [];
    for (const threads of [1, 2, 4]) runs.push(await runInMemory(scenario, { threads }));
    const hashes = runs.map((r) => sha256(r.result.parameters));
    expect(new Set(hashes).size).toBe(1);
    expect(runs.map((r) => r.result.threads.length)).toEqual([1, 2, 4]);
    expect(runs.map((r) => new Set(r.result.threads.map((t) => t.threadId)).size)).toEqual([1, 2, 4]);
    expect(runs.every((r) => r.result.backend === 'wasm')).toBe(true);
    // Balanced by declared patients: 240 + 100 on one thread, 200 + 120 on the other.
    expect(runs[1]!.result.assignment).toEqual({ 'kr-a': 1, 'kr-b': 1, 'cn-a': 0, 'cn-b': 0 });
    const metrics = runs.map((r) => JSON.stringify(r.rounds.map((x) => x.evaluate)));
    expect(new Set(metrics).size).toBe(1);
    const ledgers = runs.map((r) => JSON.stringify(r.crossings));
    expect(new Set(ledgers).size).toBe(1);
  });

  it('gives a different model for a different seed', async () => {
    const [a, b] = await Promise.all([
      runInMemory(smallScenario({ seed: 1, rounds: 1 })),
      runInMemory(smallScenario({ seed: 2, rounds: 1 })),
    ]);
    expect(sha256(a.result.parameters)).not.toBe(sha256(b.result.parameters));
  });

  it('with data.seed pinned, a different run seed keeps the patients and partition and changes the training', async () => {
    const skewed = (seed: number, dataSeed?: number) =>
      smallScenario({
        seed,
        rounds: 1,
        data: {
          kind: 'synthetic-cohort',
          testFraction: 0.3,
          partition: { kind: 'dirichlet', alpha: 0.5 },
          ...(dataSeed === undefined ? {} : { seed: dataSeed }),
        },
      });
    const sizes = (r: Awaited<ReturnType<typeof runInMemory>>) =>
      JSON.stringify(
        [r.rounds[0]!.fit.hospitals, r.rounds[0]!.evaluate.hospitals].map((part) =>
          Object.entries(part).map(([id, h]) => [id, h.numExamples]),
        ),
      );
    const [a, b, c] = await Promise.all([
      runInMemory(skewed(1, 7), { threads: 2 }),
      runInMemory(skewed(2, 7), { threads: 2 }),
      runInMemory(skewed(2), { threads: 2 }),
    ]);
    expect(sizes(b)).toBe(sizes(a));
    expect(sha256(b.result.parameters)).not.toBe(sha256(a.result.parameters));
    expect(sizes(c)).not.toBe(sizes(b));
  });
});
