import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { FaultConfig } from '../../src/scenario/schema.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

/** SCAFFOLD, so that every hospital carries state between rounds through the hospital-side store. */
const scenario = (faults: FaultConfig[], minClients = 2) =>
  smallScenario({
    rounds: 3,
    minClients,
    backend: 'js',
    strategy: { name: 'scaffold' },
    faults,
  });

const crash: FaultConfig = { hospital: 'kr-b', behaviour: 'crash', rounds: [2] };

describe('a worker thread that really exits mid-round', () => {
  it('is replaced; the run ends with the model of the same run where that hospital declined the round, at 1, 2 and 4 threads', async () => {
    const dropped = await runInMemory(scenario([{ ...crash, behaviour: 'drop' }]), { threads: 2 });
    expect(dropped.result.status).toBe('completed');
    expect(dropped.rounds[1]!.fit.admitted).toEqual(['cn-a', 'cn-b', 'kr-a']);
    const expected = sha256(dropped.result.parameters);
    for (const threads of [1, 2, 4]) {
      const run = await runInMemory(scenario([crash]), { threads });
      expect(run.result.status, `${threads} threads`).toBe('completed');
      expect(sha256(run.result.parameters), `${threads} threads`).toBe(expected);
      const round2 = run.rounds[1]!;
      expect(round2.fit.admitted).toEqual(['cn-a', 'cn-b', 'kr-a']);
      expect(round2.fit.failures).toEqual([
        {
          hospital: 'kr-b',
          reason: expect.stringMatching(
            /^hospital kr-b: worker thread \d exited with code 70; it dropped out/,
          ),
        },
      ]);
      expect(round2.faults).toEqual([
        expect.objectContaining({
          hospital: 'kr-b',
          phase: 'fit',
          kind: 'crash',
          handled: expect.stringMatching(
            /^thread \d replaced and its hospitals set up again; kr-b dropped out/,
          ),
        }),
      ]);
      expect(run.rounds[0]!.faults).toBeUndefined();
      expect(run.result.faults).toEqual({ injected: { crash: 1 }, dropouts: 1, threadsReplaced: 1 });
      // Every hospital on the replaced thread was set up again in round 2 (at 2 threads, balanced by patients,
      // kr-b shares its thread with kr-a).
      const setups = run.crossings.filter((c) => c.round === 2 && c.kind === 'setup').map((c) => c.hospital);
      expect(setups.sort()).toEqual(
        threads === 1 ? ['cn-a', 'cn-b', 'kr-a', 'kr-b'] : threads === 2 ? ['kr-a', 'kr-b'] : ['kr-b'],
      );
    }
  }, 600_000);

  it('stops the run as a worker failure (exit 4) only when the quorum cannot hold', async () => {
    const run = await runInMemory(scenario([crash], 4), { threads: 2 });
    expect(run.result.status).toBe('stopped');
    expect(run.result.workerFailure).toBe(true);
    expect(run.result.roundsCompleted).toBe(1);
    expect(run.result.stopReason).toMatch(
      /^round 2: 3 valid fit replies, fewer than minClients = 4; hospital kr-b: worker thread 1 exited with code 70/,
    );
  }, 300_000);
});

describe('a worker thread that exits while hospitals scale their own data by the federation', () => {
  it('is replaced and its hospitals get the same transform again: the model of the run where that hospital declined', async () => {
    const dir = resolve(import.meta.dirname, '../../scenarios/wine');
    const wine = (faults: FaultConfig[]) =>
      parseScenario({
        ...(JSON.parse(readFileSync(join(dir, 'scenario.json'), 'utf8')) as object),
        rounds: 2,
        minClients: 2,
        faults,
      });
    const fault: FaultConfig = { hospital: 'wine-b', behaviour: 'drop', rounds: [2] };
    const dropped = await runInMemory(wine([fault]), { threads: 1, baseDir: dir });
    const crashed = await runInMemory(wine([{ ...fault, behaviour: 'crash' }]), { threads: 1, baseDir: dir });
    expect(crashed.result.status, crashed.result.stopReason).toBe('completed');
    expect(crashed.rounds[1]!.fit.admitted).toEqual(['wine-a', 'wine-c']);
    expect(sha256(crashed.result.parameters)).toBe(sha256(dropped.result.parameters));
  }, 600_000);
});

describe('a worker thread that exits inside a secure round', () => {
  const secure = (faults: FaultConfig[], strategy: { name: 'fedavg' | 'scaffold' }) =>
    smallScenario({
      rounds: 2,
      minClients: 2,
      backend: 'js',
      model: { kind: 'logistic' },
      strategy,
      privacy: { secureAggregation: { range: 4, bits: 16 } },
      faults,
    });

  it('is replaced and the round starts again without that hospital: the model of the run where it declined, at 1 and 2 threads, with SCAFFOLD state kept in the store', async () => {
    for (const strategy of [{ name: 'fedavg' as const }, { name: 'scaffold' as const }]) {
      const dropped = await runInMemory(secure([{ ...crash, behaviour: 'drop' }], strategy), { threads: 2 });
      expect(dropped.result.status, dropped.result.stopReason).toBe('completed');
      const expected = sha256(dropped.result.parameters);
      for (const threads of [1, 2]) {
        const run = await runInMemory(secure([crash], strategy), { threads });
        const where = `${strategy.name}, ${threads} threads`;
        expect(run.result.status, `${where}: ${run.result.stopReason}`).toBe('completed');
        expect(sha256(run.result.parameters), where).toBe(expected);
        expect(run.rounds[1]!.fit.admitted, where).toEqual(['cn-a', 'cn-b', 'kr-a']);
        expect(run.rounds[1]!.faults, where).toEqual([
          expect.objectContaining({
            hospital: 'kr-b',
            kind: 'crash',
            handled: expect.stringMatching(/kr-b dropped out of the round; the secure round started again/),
          }),
        ]);
      }
    }
  }, 600_000);
});
