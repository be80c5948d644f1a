import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { strategySchema } from '../../../src/scenario/strategy-schema.ts';
import { Bulyan } from '../../../src/server/strategies/bulyan.ts';
import { FedAdagrad } from '../../../src/server/strategies/fedadagrad.ts';
import { FedAdam } from '../../../src/server/strategies/fedadam.ts';
import { FedAvgM } from '../../../src/server/strategies/fedavgm.ts';
import { FedMedian } from '../../../src/server/strategies/fedmedian.ts';
import { FedNova } from '../../../src/server/strategies/fednova.ts';
import { FedTrimmedAvg } from '../../../src/server/strategies/fedtrimmedavg.ts';
import { FedYogi } from '../../../src/server/strategies/fedyogi.ts';
import { StrategyModuleError } from '../../../src/server/strategies/custom.ts';
import { createStrategy, validateStrategy } from '../../../src/server/strategies/index.ts';
import { Krum, MultiKrum } from '../../../src/server/strategies/krum.ts';
import { QFedAvg } from '../../../src/server/strategies/qfedavg.ts';
import { smallScenario } from '../../helpers/run.ts';
import { base, training } from './helpers.ts';

const adam = { ...training, optimizer: 'adam' as const };

describe('constructors reject nonsense, naming the parameter and its range', () => {
  const cases: readonly [string, () => unknown, string][] = [
    [
      'fedavgm lr',
      () => new FedAvgM({ ...base, serverLearningRate: 0 }),
      'fedavgm: serverLearningRate must be in (0, 1000], got 0',
    ],
    [
      'fedavgm β',
      () => new FedAvgM({ ...base, serverMomentum: 1 }),
      'fedavgm: serverMomentum must be in [0, 1), got 1',
    ],
    ['fedadam η', () => new FedAdam({ ...base, eta: -0.1 }), 'fedadam: eta must be in (0, 1000], got -0.1'],
    ['fedadam η_l', () => new FedAdam({ ...base, etaL: 0 }), 'fedadam: etaL must be in (0, 1000], got 0'],
    ['fedadam β₁', () => new FedAdam({ ...base, beta1: 1 }), 'fedadam: beta1 must be in [0, 1), got 1'],
    ['fedadam β₂', () => new FedAdam({ ...base, beta2: -0.5 }), 'fedadam: beta2 must be in [0, 1), got -0.5'],
    ['fedadam τ', () => new FedAdam({ ...base, tau: 0 }), 'fedadam: tau must be in (0, 1000], got 0'],
    ['fedyogi β₂', () => new FedYogi({ ...base, beta2: 1.5 }), 'fedyogi: beta2 must be in [0, 1), got 1.5'],
    [
      'fedyogi τ',
      () => new FedYogi({ ...base, tau: Number.NaN }),
      'fedyogi: tau must be in (0, 1000], got NaN',
    ],
    [
      'fedadagrad η',
      () => new FedAdagrad({ ...base, eta: Infinity }),
      'fedadagrad: eta must be in (0, 1000], got Infinity',
    ],
    [
      'fedadagrad β₁',
      () => new FedAdagrad({ ...base, beta1: -1 }),
      'fedadagrad: beta1 must be in [0, 1), got -1',
    ],
    [
      'fedtrimmedavg β',
      () => new FedTrimmedAvg({ ...base, beta: 0.5 }),
      'fedtrimmedavg: beta must be in [0, 0.5), got 0.5',
    ],
    [
      'krum f < 0',
      () => new Krum({ ...base, f: -1, clientsPerRound: 9 }),
      'krum: f must be an integer ≥ 0, got -1',
    ],
    [
      'krum f fractional',
      () => new Krum({ ...base, f: 1.5, clientsPerRound: 9 }),
      'krum: f must be an integer ≥ 0, got 1.5',
    ],
    [
      'krum n < 2f + 3',
      () => new Krum({ ...base, f: 2, clientsPerRound: 5 }),
      'krum: f = 2 needs at least 7 clients per round (n ≥ 2f + 3), the scenario samples 5',
    ],
    [
      'multikrum m = 0',
      () => new MultiKrum({ ...base, f: 1, m: 0, clientsPerRound: 5 }),
      'multikrum: m must be an integer in [1, 4], got 0',
    ],
    [
      'multikrum m > n − f',
      () => new MultiKrum({ ...base, f: 1, m: 5, clientsPerRound: 5 }),
      'multikrum: m must be an integer in [1, 4], got 5',
    ],
    [
      'bulyan n < 4f + 3',
      () => new Bulyan({ ...base, f: 1, clientsPerRound: 6 }),
      'bulyan: f = 1 needs at least 7 clients per round (n ≥ 4f + 3), the scenario samples 6',
    ],
    ['qfedavg q', () => new QFedAvg({ ...base, q: -0.2 }), 'qfedavg: q must be in [0, 100], got -0.2'],
    [
      'qfedavg adam',
      () => new QFedAvg({ ...base, training: adam }),
      "qfedavg: training.optimizer must be 'sgd'",
    ],
    [
      'fednova adam',
      () => new FedNova({ ...base, training: adam }),
      "fednova: training.optimizer must be 'sgd'",
    ],
    [
      'fractionFit',
      () => new FedMedian({ ...base, fractionFit: 0 }),
      'fedmedian: fractionFit must be in (0, 1], got 0',
    ],
    [
      'fractionEvaluate',
      () => new Bulyan({ ...base, fractionEvaluate: 2, clientsPerRound: 3 }),
      'bulyan: fractionEvaluate must be in (0, 1], got 2',
    ],
  ];
  it.each(cases)('%s', (_label, make, message) => {
    expect(make).toThrow(RangeError);
    expect(make).toThrow(message);
  });
});

describe('the scenario schema', () => {
  it('fills in every default', () => {
    expect(strategySchema.parse({ name: 'fedavgm' })).toEqual({
      name: 'fedavgm',
      fractionFit: 1,
      fractionEvaluate: 1,
      serverLearningRate: 1,
      serverMomentum: 0,
    });
    expect(strategySchema.parse({ name: 'fedyogi' })).toMatchObject({
      eta: 0.01,
      beta1: 0.9,
      beta2: 0.99,
      tau: 1e-3,
    });
    expect(strategySchema.parse({ name: 'fedadagrad' })).toMatchObject({ eta: 0.1, beta1: 0, tau: 1e-9 });
    expect(strategySchema.parse({ name: 'fedtrimmedavg' })).toMatchObject({ beta: 0.2 });
    expect(strategySchema.parse({ name: 'bulyan' })).toMatchObject({ f: 0 });
    expect(strategySchema.parse({ name: 'qfedavg' })).toMatchObject({ q: 0.2 });
    expect(strategySchema.parse({ name: 'multikrum' })).not.toHaveProperty('m');
  });

  it('rejects out-of-range values and unknown keys with the parameter and range in the message', () => {
    const fail = (input: unknown) => strategySchema.safeParse(input).error?.issues[0]?.message;
    expect(fail({ name: 'fedtrimmedavg', beta: 0.5 })).toBe('beta must be in [0, 0.5)');
    expect(fail({ name: 'krum', f: 0.5 })).toBe('f must be an integer ≥ 0');
    expect(fail({ name: 'fedadam', beta2: 1 })).toBe('beta2 must be in [0, 1)');
    expect(fail({ name: 'fedavg', fractionFit: 0 })).toBe('fractionFit must be in (0, 1]');
    expect(strategySchema.safeParse({ name: 'fedavg', serverMomentum: 0.9 }).success).toBe(false);
  });
});

describe('createStrategy', () => {
  it('builds every built-in strategy a scenario can name, with its parameters', async () => {
    const names = strategySchema.options.map((o) => o.shape.name.value).filter((n) => n !== 'custom');
    for (const name of names) {
      const strategy =
        name === 'krum' || name === 'multikrum' || name === 'bulyan' ? { name, f: 0 } : { name };
      const s = await createStrategy(smallScenario({ strategy } as Parameters<typeof smallScenario>[0]));
      expect(s.name).toBe(name);
      expect(s.summary()).toMatchObject({ name });
      expect(String(s.summary().citation).length).toBeGreaterThan(20);
    }
    expect(
      (await createStrategy(smallScenario({ strategy: { name: 'fedadam', eta: 0.3 } }))).summary(),
    ).toMatchObject({ eta: 0.3 });
  });

  it('checks cross-field limits against the hospitals a round samples, before any worker starts', async () => {
    // 4 hospitals, fractionFit 1: every round samples 4
    await expect(validateStrategy(smallScenario({ strategy: { name: 'krum', f: 1 } }))).rejects.toThrow(
      'krum: f = 1 needs at least 5 clients per round (n ≥ 2f + 3), the scenario samples 4',
    );
    // fractionFit 0.5 of 4 = 2, but minClients 3 raises it to 3
    await expect(
      validateStrategy(
        smallScenario({ minClients: 3, strategy: { name: 'bulyan', f: 0, fractionFit: 0.5 } }),
      ),
    ).resolves.toBeUndefined();
    await expect(
      validateStrategy(
        smallScenario({ minClients: 2, strategy: { name: 'bulyan', f: 0, fractionFit: 0.5 } }),
      ),
    ).rejects.toThrow(
      'bulyan: f = 0 needs at least 3 clients per round (n ≥ 4f + 3), the scenario samples 2',
    );
  });
});

describe('a custom strategy module that cannot be a module', () => {
  it('a folder in place of the module file is a StrategyModuleError naming $.strategy.module, not EISDIR', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-custom-dir-'));
    mkdirSync(join(dir, 'strategy.mjs'));
    const scenario = smallScenario({ strategy: { name: 'custom', module: 'strategy.mjs' } });
    await expect(createStrategy(scenario, dir)).rejects.toThrow(StrategyModuleError);
    await expect(createStrategy(scenario, dir)).rejects.toThrow(
      /^\$\.strategy\.module .*strategy\.mjs: expected a module file \(this is a folder\)$/,
    );
  });
});
