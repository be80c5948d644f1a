import { describe, expect, it } from 'vitest';
import type { Crossing } from '../../src/server/ledger.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

const replyBytes = (crossings: readonly Crossing[]) =>
  crossings.find((c) => c.kind === 'evaluate-reply' && c.hospital === 'kr-a')!.bytes;

describe('federation-wide ROC from score histograms, through real workers', () => {
  it('reports global_auroc and global_auprc for the federation, each country and the baselines when asked', async () => {
    const on = await runInMemory(
      smallScenario({ rounds: 2, baselines: ['local-only'], evaluation: { histogramBins: 200 } }),
      { threads: 2 },
    );
    for (const r of on.rounds) {
      expect(r.evaluate.metrics.global_auroc).toBeGreaterThan(0.5);
      expect(r.evaluate.metrics.global_auprc).toBeGreaterThan(0);
      for (const country of ['KR', 'CN']) {
        expect(r.evaluate.countries[country]!.metrics.global_auroc).toBeDefined();
      }
      for (const h of Object.values(r.evaluate.hospitals)) expect(h.metrics.global_auroc).toBeUndefined();
    }
    expect(on.result.localOnly!.metrics.global_auroc).toBeGreaterThan(0);
    expect(on.result.localOnly!.hospitalMean.global_auroc).toBeUndefined();

    const off = await runInMemory(smallScenario({ rounds: 2 }), { threads: 2 });
    expect(off.rounds[0]!.evaluate.metrics.global_auroc).toBeUndefined();
    expect(sameModel(off.result.parameters, on.result.parameters)).toBe(true);
    // Two lists of 200 counts cross with each evaluation reply, and only when asked for.
    expect(replyBytes(on.crossings) - replyBytes(off.crossings)).toBeGreaterThan(2 * 200 * 2);
  });

  it("equals a lone hospital's own AUROC and AUPRC to within the binning", async () => {
    const { result } = await runInMemory(
      smallScenario({
        rounds: 3,
        minClients: 1,
        evaluation: { histogramBins: 200 },
        hospitals: [{ id: 'kr-a', country: 'KR', patients: 600, cohort: { prevalence: 0.3 } }],
      }),
      { threads: 1 },
    );
    const m = result.final!.evaluate.metrics;
    expect(Math.abs(m.global_auroc! - m.auroc!)).toBeLessThan(0.005);
    expect(Math.abs(m.global_auprc! - m.auprc!)).toBeLessThan(0.01);
  });
});

function sameModel(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
