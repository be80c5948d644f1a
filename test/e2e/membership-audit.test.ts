import { describe, expect, it } from 'vitest';
import { wilson } from '../../src/common/attack-metrics.ts';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import type { AuditRecord } from '../../src/server/membership-audit.ts';
import { runInMemory } from '../helpers/run.ts';

const shipped = loadScenario('scenarios/membership-audit.json');

/**
 * The shipped scenario with sample-level DP-SGD: C 1, z 5, q 0.1 (ε ≈ 2.88 at δ 1e-5 after its 1000 steps). Its
 * LiRA reference models train 20 epochs instead of 100 (the noise of each of their steps is what costs): the DP
 * bound must hold against any attack, a less calibrated one included.
 */
const withDp = (budget?: number): Scenario =>
  parseScenario({
    ...shipped,
    audit: { references: 4, epochs: 20 },
    privacy: {
      dpSgd: {
        clipNorm: 1,
        noiseMultiplier: 5,
        sampleRate: 0.1,
        ...(budget === undefined ? {} : { budget: { epsilon: budget } }),
      },
    },
  });

/**
 * Whether every threshold of the pooled attack curves keeps TPR ≤ e^ε·FPR + δ within sampling error: the
 * lower 95% Wilson bound of the TPR against the bound at the upper 95% Wilson bound of the FPR.
 */
function dpBoundHolds(audit: AuditRecord, epsilon: number, delta: number): boolean {
  for (const attack of ['loss', 'lira'] as const) {
    const a = audit.overall[attack]!;
    let tp = a.members;
    let fp = a.nonMembers;
    for (let k = 0; k < a.bins.members.length; k++) {
      tp -= a.bins.members[k]!;
      fp -= a.bins.nonMembers[k]!;
      const tprLow = wilson(tp, a.members)[0];
      const fprHigh = wilson(fp, a.nonMembers)[1];
      if (tprLow > Math.exp(epsilon) * fprHigh + delta) return false;
    }
  }
  return true;
}

describe('membership-inference audit on the memorising scenario', () => {
  it('without DP the attack succeeds (AUC CI above 0.5); with DP-SGD at ε ≈ 2.9 it respects the DP bound and keeps the AUROC', async () => {
    const { result: plain, crossings } = await runInMemory(shipped, { threads: 2 });
    const audit = plain.audit!;
    // Each hospital's reply crossed as the declared kind, admitted, outside the rounds' byte totals.
    const replies = crossings.filter((c) => c.kind === 'audit-reply');
    const ids = ['cn-beijing-1', 'cn-chengdu-1', 'kr-busan-1', 'kr-seoul-1'];
    expect(replies.map((c) => [c.hospital, c.round, c.admitted])).toEqual(
      [...ids, ...ids].map((h) => [h, 0, true]),
    );
    expect(Object.keys(audit.hospitals)).toHaveLength(4);
    expect(audit.failures).toEqual([]);
    // The loss-threshold attack over every hospital's patients: 95% CI (Hanley–McNeil) excludes 0.5.
    expect(audit.overall.loss!.aucCi[0]).toBeGreaterThan(0.5);
    // audit.every 5: the model after round 5 was audited too, with the same (cached) reference models.
    expect(audit.periodic!.map((p) => p.round)).toEqual([5]);
    expect(audit.periodic![0]!.overall.lira!.members).toBe(audit.overall.lira!.members);
    // The bound check can fail: the non-private model breaks the bound of ε = 0.1.
    expect(dpBoundHolds(audit, 0.1, 1e-5)).toBe(false);
    for (const h of Object.values(audit.hospitals)) {
      for (const name of Object.keys(h.metrics))
        expect(name).toMatch(/^mia_(loss|lira)_(auc|advantage|tpr_fpr1|tpr_fpr01)$/);
    }

    const dp = (await runInMemory(withDp(), { threads: 2 })).result;
    const eps = dp.audit!.dpSgd!;
    expect(eps.maxEpsilon).toBeGreaterThan(2.5);
    expect(eps.maxEpsilon).toBeLessThan(3);
    expect(dpBoundHolds(dp.audit!, eps.maxEpsilon, eps.delta)).toBe(true);
    // The attack's failure is not bought with a broken model: AUROC within 0.05 of the non-private one.
    expect(dp.final!.evaluate.metrics.auroc!).toBeGreaterThan(plain.final!.evaluate.metrics.auroc! - 0.05);
    expect(dp.audit!.overall.loss!.auc).toBeLessThan(audit.overall.loss!.auc);
  }, 600_000);

  it('a hospital whose next round would pass its ε budget declines it, and the decline is recorded', async () => {
    const scenario = parseScenario({
      ...withDp(1),
      rounds: 3,
      model: { kind: 'logistic' },
      audit: undefined,
    });
    const { rounds, result } = await runInMemory(scenario, { threads: 2 });
    expect(rounds[0]!.fit.admitted).toHaveLength(4);
    const eps = rounds[0]!.fit.hospitals['kr-seoul-1']!.metrics.dpsgd_epsilon!;
    expect(eps).toBeGreaterThan(0);
    expect(eps).toBeLessThan(1);
    // Round 2 would take every hospital to ε ≈ 1.2: each declines it, so the run stops with their reasons.
    expect(rounds).toHaveLength(1);
    expect(result.status).toBe('stopped');
    expect(result.stopReason!.match(/differential-privacy budget is spent/g)).toHaveLength(4);
  }, 300_000);
});
