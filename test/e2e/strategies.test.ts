import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';
import { sha256 } from '../../src/common/hash.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

/** Four hospitals of equal size and prevalence, so every hospital takes the same number of local steps. */
const equalSites = (strategy: ScenarioInput['strategy']) =>
  smallScenario({
    rounds: 4,
    hospitals: ['kr-a', 'kr-b', 'cn-a', 'cn-b'].map((id) => ({
      id,
      country: id.slice(0, 2).toUpperCase(),
      patients: 200,
      cohort: { prevalence: 0.2 },
    })),
    training: { localEpochs: 2, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    strategy,
  });

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('strategies that reduce to FedAvg, through their general code paths and real workers', () => {
  it("FedProx with μ = 0 gives FedAvg's model hash; FedAvgM with momentum 0 and FedNova with equal steps match it within 1e-6", async () => {
    const fedavg = await runInMemory(equalSites({ name: 'fedavg' }), { threads: 2 });
    const fedprox = await runInMemory(equalSites({ name: 'fedprox', proximalMu: 0 }), { threads: 2 });
    const fedavgm = await runInMemory(
      equalSites({ name: 'fedavgm', serverMomentum: 0, serverLearningRate: 1 }),
      { threads: 2 },
    );
    const fednova = await runInMemory(equalSites({ name: 'fednova' }), { threads: 2 });
    expect(sha256(fedprox.result.parameters)).toBe(sha256(fedavg.result.parameters));
    const steps = Object.values(fednova.rounds[0]!.fit.hospitals).map((h) => h.metrics.local_steps);
    expect(new Set(steps).size).toBe(1);
    expect(maxAbsDiff(fedavgm.result.parameters, fedavg.result.parameters)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(fednova.result.parameters, fedavg.result.parameters)).toBeLessThanOrEqual(1e-6);
    const withMu = await runInMemory(equalSites({ name: 'fedprox', proximalMu: 1 }), { threads: 2 });
    expect(sha256(withMu.result.parameters)).not.toBe(sha256(fedavg.result.parameters));
  });
});

describe('client-side algorithm state and sequential training', () => {
  it('SCAFFOLD broadcasts the server control variate, receives control updates, and is independent of threads', async () => {
    const scenario = smallScenario({ rounds: 3, strategy: { name: 'scaffold' } });
    const one = await runInMemory(scenario, { threads: 1 });
    const four = await runInMemory(scenario, { threads: 4 });
    expect(sha256(four.result.parameters)).toBe(sha256(one.result.parameters));
    const requests = one.crossings.filter((c) => c.kind === 'fit-request');
    expect(requests).toHaveLength(3 * 4);
    for (const c of [...requests, ...one.crossings.filter((x) => x.kind === 'fit-reply')]) {
      expect(c.bytes).toBeGreaterThan(2 * one.result.spec.length * 4);
    }
    const losses = one.rounds.map((r) => r.evaluate.metrics.loss!);
    expect(losses[2]!).toBeLessThan(losses[0]!);
  });

  it('Cyclic trains hospital after hospital, the same whatever the threads', async () => {
    const scenario = smallScenario({ rounds: 2, strategy: { name: 'cyclic', order: 'shuffled' } });
    const one = await runInMemory(scenario, { threads: 1 });
    const three = await runInMemory(scenario, { threads: 3 });
    expect(sha256(three.result.parameters)).toBe(sha256(one.result.parameters));
    const starts = one.crossings
      .filter((c) => c.kind === 'fit-request' && c.round === 1)
      .map((c) => c.sha256);
    // four different starting points along the chain
    expect(new Set(starts).size).toBe(4);
  });
});

describe('strategies written by users and bad strategy parameters', () => {
  const scenarioWith = (dir: string, strategy: unknown) => {
    const file = join(dir, 'scenario.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'custom-strategy',
        rounds: 2,
        minClients: 2,
        coordinator: { site: 'neutral' },
        data: { kind: 'synthetic-cohort' },
        hospitals: [
          { id: 'kr-1', country: 'KR', patients: 120 },
          { id: 'cn-1', country: 'CN', patients: 150 },
          { id: 'cn-2', country: 'CN', patients: 100 },
        ],
        model: { kind: 'logistic' },
        strategy,
      }),
    );
    return file;
  };

  it('runs a strategy module named in the scenario, uses its aggregate, and records the hash of it and its imports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-custom-'));
    const helper = 'export const fillWith = (round) => round;\n';
    const source = `
import { fillWith } from './fill.mjs';
export function createStrategy({ toolkit, base }) {
  class Constant extends toolkit.FedAvg {
    static strategyName = 'custom';
    aggregateFit(round, global) {
      return new Float32Array(global.length).fill(fillWith(round));
    }
  }
  return new Constant(base);
}
`;
    writeFileSync(join(dir, 'fill.mjs'), helper);
    writeFileSync(join(dir, 'constant.mjs'), source);
    const file = scenarioWith(dir, { name: 'custom', module: 'constant.mjs' });
    const r = fedmed(['run', file, '--out', join(dir, 'out'), '--quiet']);
    expect(r.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'out/manifest.json'), 'utf8'));
    expect(manifest.strategy.moduleSha256).toBe(sha256(source));
    expect(manifest.strategy.moduleGraph.modules).toEqual([
      { path: 'constant.mjs', sha256: sha256(source) },
      { path: 'fill.mjs', sha256: sha256(helper) },
    ]);
    const model = readFileSync(join(dir, 'out/model/parameters.f32'));
    const params = new Float32Array(model.buffer, model.byteOffset, model.byteLength / 4);
    expect(params.length).toBeGreaterThan(0);
    expect(params.every((v) => v === 2)).toBe(true);
  });

  it.each([
    [
      'a vector one too long',
      'new Float32Array(global.length + 1)',
      /its aggregate must be a Float32Array of 10 parameters/,
    ],
    [
      'a NaN',
      'new Float32Array(global.length).fill(NaN)',
      /custom's aggregate has a non-finite parameter at index 0/,
    ],
  ])(
    'stops the run (exit 3) when a strategy module returns %s, keeping the rounds before',
    (_what, value, message) => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-custom-bad-'));
      writeFileSync(
        join(dir, 'bad.mjs'),
        `export function createStrategy({ toolkit, base }) {
  class Bad extends toolkit.FedAvg {
    static strategyName = 'custom';
    aggregateFit(round, global, results, failures) {
      return round === 1 ? super.aggregateFit(round, global, results, failures) : ${value};
    }
  }
  return new Bad(base);
}
`,
      );
      const r = fedmed([
        'run',
        scenarioWith(dir, { name: 'custom', module: 'bad.mjs' }),
        '--out',
        join(dir, 'out'),
        '--quiet',
      ]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/round 2: custom cannot aggregate: /);
      expect(r.stderr).toMatch(message);
      const manifest = JSON.parse(readFileSync(join(dir, 'out/manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ status: 'stopped', roundsCompleted: 1 });
    },
  );

  it.each([
    [{ name: 'fedtrimmedavg', beta: 0.5 }, /strategy\.beta: beta must be in \[0, 0\.5\)/],
    [{ name: 'fedadam', eta: 1e308 }, /strategy\.eta: eta must be in \(0, 1000\]/],
    [
      { name: 'krum', f: 1 },
      /krum: f = 1 needs at least 5 clients per round \(n ≥ 2f \+ 3\), the scenario samples 3/,
    ],
    [{ name: 'custom', module: 'missing.mjs' }, /strategy\.module: no file .*missing\.mjs/],
  ])('rejects %j before any training, with exit code 2', (strategy, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-badstrategy-'));
    const r = fedmed(['run', scenarioWith(dir, strategy), '--out', join(dir, 'out'), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/round 1/);
  });
});
