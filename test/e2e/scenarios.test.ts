import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { applyOverrides, loadScenario } from '../../src/scenario/load.ts';
import { sweepVariants } from '../../src/scenario/sweep.ts';
import { runInMemory } from '../helpers/run.ts';

const scenario = (name: string) => loadScenario(resolve(import.meta.dirname, `../../scenarios/${name}.json`));

describe('korea-china-rare-disease', () => {
  it('FedAvg has a higher AUPRC than each hospital alone over 3 seeds', async () => {
    const rare = scenario('korea-china-rare-disease');
    const rows = [];
    for (const seed of [1, 2, 3]) {
      const { result } = await runInMemory(applyOverrides(rare, { seed, baselines: ['local-only'] }), {
        threads: 2,
      });
      const fl = result.final!.evaluate.metrics;
      const local = result.localOnly!.metrics;
      rows.push({
        seed,
        fedavgAuprc: fl.auprc,
        localOnlyAuprc: local.auprc,
        fedavgAuroc: fl.auroc,
        localOnlyAuroc: local.auroc,
      });
      expect(fl.auprc!).toBeGreaterThan(local.auprc!);
    }
    console.table(rows);
  });
});

describe('harmonisation', () => {
  it('mapping each EMR schema to the common data model discriminates and calibrates better than reading the files naively', async () => {
    const variants = sweepVariants(applyOverrides(scenario('harmonisation'), { rounds: 8 }));
    expect(variants.map((v) => v.value)).toEqual([true, false]);
    const [harmonised, naive] = await Promise.all(
      variants.map((v) => runInMemory(v.scenario, { threads: 1 })),
    );
    const h = harmonised!.result.final!.evaluate.metrics;
    const n = naive!.result.final!.evaluate.metrics;
    console.table([
      { harmonise: true, auroc: h.auroc, auprc: h.auprc, ece: h.ece, loss: h.loss },
      { harmonise: false, auroc: n.auroc, auprc: n.auprc, ece: n.ece, loss: n.loss },
    ]);
    expect(h.auroc!).toBeGreaterThan(n.auroc!);
    expect(h.ece!).toBeLessThan(n.ece!);
    expect(h.loss!).toBeLessThan(n.loss!);
  });
});

describe('dirichlet-sweep', () => {
  it('a repartitioned pool gives the same model whatever the number of worker threads', async () => {
    const variant = sweepVariants(
      applyOverrides(scenario('dirichlet-sweep'), { rounds: 2, baselines: [] }),
    )[1]!;
    expect(variant.scenario.data.partition).toEqual({ kind: 'dirichlet', alpha: 0.1, minPerHospital: 2 });
    const one = await runInMemory(variant.scenario, { threads: 1 });
    const three = await runInMemory(variant.scenario, { threads: 3 });
    expect(sha256(three.result.parameters)).toBe(sha256(one.result.parameters));
    const sizes = Object.values(one.rounds[0]!.fit.hospitals).map((h) => h.numExamples);
    expect(Math.max(...sizes) / Math.min(...sizes)).toBeGreaterThan(3);
  });
});
