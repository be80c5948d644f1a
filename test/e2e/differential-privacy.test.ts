import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { RdpAccountant, tippingRisk } from '../../src/common/dp/rdp.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

const Q = 0.75;
const Z = 1.2;
const DELTA = 1e-5;

/**
 * ε after `rounds` rounds of (Q, Z), as the accountant computes it for six hospitals, any of which may tip a round
 * over secure aggregation's three.
 */
function epsilonAfter(rounds: number): number {
  const a = new RdpAccountant();
  a.compose(Q, Z, rounds, tippingRisk(Q, 6, 3));
  return a.epsilon(DELTA).epsilon;
}

function dpScenario(changes: Partial<ScenarioInput> = {}) {
  return smallScenario({
    rounds: 3,
    backend: 'js',
    model: { kind: 'logistic' },
    hospitals: ['kr-a', 'kr-b', 'kr-c', 'cn-a', 'cn-b', 'cn-c'].map((id) => ({
      id,
      country: id.startsWith('kr') ? 'KR' : 'CN',
      patients: 60,
    })),
    privacy: {
      secureAggregation: {},
      differentialPrivacy: {
        clipNorm: 0.5,
        noiseMultiplier: Z,
        sampleRate: Q,
        weightCap: 30,
        delta: DELTA,
        budget: { epsilon: (epsilonAfter(2) + epsilonAfter(3)) / 2 },
      },
    },
    ...changes,
  });
}

describe('client-level differential privacy in real runs (DP-FedAvg over secure aggregation)', () => {
  it('reports the accountant’s ε each round, stops before the round that would exceed the budget, and repeats bit for bit', async () => {
    const scenario = dpScenario();
    const pool = await WorkerPool.start(
      scenario.hospitals.map((h) => h.id),
      2,
      { timeoutMs: 120_000 },
    );
    const two = await runInMemory(scenario, { pool });
    const one = await runInMemory(dpScenario(), { threads: 1 });
    expect(sha256(one.result.parameters)).toBe(sha256(two.result.parameters));

    expect(two.result.status).toBe('completed');
    expect(two.rounds.map((r) => r.round)).toEqual([1, 2]);
    for (const r of two.rounds) {
      const dp = r.privacy!.differentialPrivacy!;
      expect(dp.epsilon).toBeCloseTo(epsilonAfter(r.round), 10);
      expect(dp.rounds).toBe(r.round);
      // Poisson sampling: the sampled set is a subset drawn per round, and only those in the sum are admitted.
      expect(r.fit.admitted.every((h) => dp.sampled.includes(h))).toBe(true);
      // The fixed denominator q·W: W = Σ min(n_k / 30, 1) = 6 (every hospital trains on more than 30).
      expect(dp.denominator).toBeCloseTo(Q * 6, 12);
    }
    const summary = two.result.privacy!.differentialPrivacy!;
    expect(summary).toMatchObject({ rounds: 2, stoppedBeforeRound: 3 });
    expect(summary.epsilon).toBeCloseTo(epsilonAfter(2), 10);
    expect(summary.epsilonIfRun).toBeCloseTo(epsilonAfter(3), 10);

    // Another seed draws other noise (and another sample).
    const other = await runInMemory(dpScenario({ seed: 6 }), { pool });
    await pool.close();
    expect(sha256(other.result.parameters)).not.toBe(sha256(two.result.parameters));
  });

  it('counts a round once its hospitals are sampled, even when its secure sum then fails', async () => {
    const dropping = ['kr-a', 'kr-b', 'kr-c', 'cn-a', 'cn-b'].map((hospital) => ({
      hospital,
      behaviour: 'secagg-drop-after-sharing' as const,
      rounds: [2],
    }));
    const run = await runInMemory(dpScenario({ faults: dropping }), { threads: 2 });
    expect(run.result.status).toBe('stopped');
    expect(run.rounds).toHaveLength(1);
    const summary = run.result.privacy!.differentialPrivacy!;
    expect(summary.rounds).toBe(2);
    expect(summary.epsilon).toBeCloseTo(epsilonAfter(2), 10);
  });
});
