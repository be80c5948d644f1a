import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyOverrides, loadScenario } from '../../src/scenario/load.ts';
import { runInMemory } from '../helpers/run.ts';

const quickstart = loadScenario(resolve(import.meta.dirname, '../../scenarios/quickstart.json'));

describe('on quickstart, FedAvg beats each hospital training alone', () => {
  it('has a higher AUROC than the local-only models over 3 seeds', async () => {
    const rows = [];
    for (const seed of [1, 2, 3]) {
      const { result } = await runInMemory(
        applyOverrides(quickstart, { seed, backend: 'wasm', baselines: ['local-only'] }),
      );
      const fl = result.final!.evaluate.metrics.auroc!;
      const local = result.localOnly!.metrics.auroc!;
      const localUnweighted = result.localOnly!.hospitalMean.auroc!;
      rows.push({
        seed,
        fedavg: fl.toFixed(4),
        localOnly: local.toFixed(4),
        localOnlyUnweighted: localUnweighted.toFixed(4),
      });
      expect(result.localOnly!.epochs).toBe(quickstart.rounds * quickstart.training.localEpochs);
      const sites = Object.values(result.localOnly!.hospitals).map((h) => h.metrics);
      for (const m of ['auroc', 'auroc__female'] as const) {
        const values = sites.map((x) => x[m]).filter((v): v is number => v !== undefined);
        const plain = values.reduce((a, b) => a + b, 0) / values.length;
        expect(result.localOnly!.hospitalMean[m]).toBeCloseTo(plain, 12);
      }
      expect(result.localOnly!.hospitalMean.n__female).toBeUndefined();
      expect(fl).toBeGreaterThan(local);
      expect(fl).toBeGreaterThan(localUnweighted);
    }
    console.table(rows);
  });
});
