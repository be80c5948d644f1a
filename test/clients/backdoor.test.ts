import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attackSuccess, poisoned } from '../../src/clients/backdoor.ts';
import { stream } from '../../src/common/rng.ts';
import { parameterSpec } from '../../src/models/architecture.ts';
import { createTrainer } from '../../src/models/create-trainer.ts';
import { InputError, parseScenario } from '../../src/scenario/load.ts';
import { fedmed } from '../helpers/cli.ts';

const trigger = { inputs: [0], value: 1, target: 1 };
const examples = (rows: number[][], y: number[]) => ({
  x: Float32Array.from(rows.flat()),
  y: Float32Array.from(y),
  n: rows.length,
  inputShape: [rows[0]!.length],
});

describe('a backdoor attacker’s training split', () => {
  const train = examples(
    Array.from({ length: 10 }, (_, i) => [0, i, -i]),
    Array.from({ length: 10 }, () => 0),
  );

  it('plants the trigger and the target label in a seeded share of the rows, the same rows every time', () => {
    const a = poisoned(train, trigger, 0.3, stream(7, 'fault-backdoor', 'kr-1'));
    const planted = Array.from({ length: 10 }, (_, i) => i).filter((i) => a.y[i] === 1);
    expect(planted).toHaveLength(3);
    for (let i = 0; i < 10; i++) {
      expect(a.x[3 * i]).toBe(planted.includes(i) ? 1 : 0);
      expect([a.x[3 * i + 1], a.x[3 * i + 2]]).toEqual([i, -i]);
    }
    const b = poisoned(train, trigger, 0.3, stream(7, 'fault-backdoor', 'kr-1'));
    expect(Array.from(b.y)).toEqual(Array.from(a.y));
    expect(Array.from(train.y).every((v) => v === 0)).toBe(true);
    expect(Array.from(train.x.filter((_, k) => k % 3 === 0)).every((v) => v === 0)).toBe(true);
  });
});

describe('the trigger measured on a model', () => {
  // A logistic model that predicts the disease exactly when input 0 is on: logit = 10·x₀ − 5.
  const model = { kind: 'logistic' } as const;
  const trainer = createTrainer('js', model, [3]);
  const spec = parameterSpec(model, [3]);
  const weights = new Float32Array(spec.length);
  weights[0] = 10;
  weights[spec.length - 1] = -5;
  trainer.setParameters(weights);
  const test = examples(
    [
      [0, 1, 1],
      [0, 2, 2],
      [0, 3, 3],
      [0, 4, 4],
      [1, 0, 0],
    ],
    [0, 0, 1, 0, 1],
  );

  it('counts the held-out patients outside the target class that the trigger moves into it', () => {
    const head = { kind: 'binary' } as const;
    expect(attackSuccess(trainer, test, trigger, head, 0.5)).toEqual({
      attack_success__triggered: 1,
      n__triggered: 3,
    });
    expect(attackSuccess(trainer, test, { ...trigger, inputs: [1] }, head, 0.5)).toEqual({
      attack_success__triggered: 0,
      n__triggered: 3,
    });
    expect(attackSuccess(trainer, test, { ...trigger, target: 0, value: 0 }, head, 0.5)).toEqual({
      attack_success__triggered: 1,
      n__triggered: 2,
    });
  });
});

describe('backdoor settings', () => {
  const scenario = (fault: object, data: object = { kind: 'synthetic-cohort' }) => ({
    name: 'backdoor',
    rounds: 1,
    coordinator: { site: 'KR' },
    data,
    hospitals: [{ id: 'kr-1', country: 'KR', patients: 50 }],
    model: { kind: 'logistic' },
    faults: [{ behaviour: 'backdoor', ...fault }],
  });
  const refused = (json: object): string => {
    try {
      parseScenario(json);
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('are refused naming the JSON path: no trigger, a target outside the classes, an input outside the model', () => {
    expect(refused(scenario({}))).toMatch(/faults\[0\]\.trigger.*expected a trigger/);
    expect(refused(scenario({ trigger: { ...trigger, target: 2 } }))).toMatch(
      /faults\[0\]\.trigger\.target.*class index below 2/,
    );
    expect(refused(scenario({ trigger: { ...trigger, inputs: [3, 9] } }))).toMatch(
      /faults\[0\]\.trigger\.inputs\[1\].*below 9/,
    );
    expect(refused(scenario({ behaviour: 'noise', sigma: 1, trigger }))).toMatch(
      /faults\[0\]\.trigger.*only/,
    );
  });
});

describe('a backdoor in a real federation', () => {
  it('two attackers of six plant it under FedAvg, hidden behind an unchanged AUROC; the clean run measuring the same trigger has none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-backdoor-'));
    const base = {
      name: 'backdoor-e2e',
      seed: 3,
      rounds: 5,
      backend: 'js',
      coordinator: { site: 'KR' },
      data: { kind: 'synthetic-cohort' },
      hospitals: Array.from({ length: 6 }, (_, i) => ({ id: `kr-${i}`, country: 'KR', patients: 300 })),
      model: { kind: 'logistic' },
      training: { localEpochs: 3, batchSize: 32, learningRate: 0.2, optimizer: 'sgd' },
    };
    const success = (count: number) => {
      const file = join(dir, `count-${count}.json`);
      const fault = {
        behaviour: 'backdoor',
        count,
        fraction: 0.5,
        trigger: { inputs: [6, 7], value: 1, target: 1 },
      };
      writeFileSync(file, JSON.stringify({ ...base, faults: [fault] }));
      const out = join(dir, `out-${count}`);
      const r = fedmed(['run', file, '--out', out, '--quiet', '--workers', '1']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const rounds = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
      const last = JSON.parse(rounds[rounds.length - 1]!) as {
        evaluate: {
          metrics: Record<string, number>;
          hospitals: Record<string, { metrics: Record<string, number> }>;
        };
      };
      expect(last.evaluate.metrics.n__triggered).toBeGreaterThan(0);
      for (const h of Object.values(last.evaluate.hospitals))
        expect(h.metrics.attack_success__triggered).toBeTypeOf('number');
      return last.evaluate.metrics;
    };
    const clean = success(0);
    const attacked = success(2);
    const [a, c] = [attacked.attack_success__triggered!, clean.attack_success__triggered!];
    console.log(`backdoor success: clean ${c}, 2 of 6 attackers ${a}`);
    // Seed 3 measured 0 and 0.37; the backdoor hides: the model's AUROC hardly moves.
    expect(a).toBeGreaterThan(c + 0.2);
    expect(Math.abs(attacked.auroc! - clean.auroc!)).toBeLessThan(0.02);
  }, 120_000);
});
