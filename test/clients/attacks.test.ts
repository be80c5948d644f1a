import { describe, expect, it } from 'vitest';
import { breakReply } from '../../src/clients/faults.ts';
import { faultAt, scenarioFaults } from '../../src/scenario/fault-plan.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { FaultConfig } from '../../src/scenario/schema.ts';

const global = Float32Array.from([1, 2, 3]);
const trained = () => ({
  vectors: { parameters: Float32Array.from([1.5, 1, 3]) },
  numExamples: 10,
  metrics: {},
});
const attack = (fault: Omit<FaultConfig, 'hospital'>) =>
  Array.from(
    (
      breakReply(
        trained(),
        { hospital: 'kr-1', ...fault },
        { seed: 1, hospital: 'kr-1', round: 2 },
        () => [],
        global,
      ) as {
        vectors: { parameters: Float32Array };
      }
    ).vectors.parameters,
  );

describe('Byzantine updates', () => {
  it('sign flip sends x − λ(y − x), scaling x + λ(y − x), worked by hand', () => {
    // y − x = (0.5, −1, 0)
    expect(attack({ behaviour: 'sign-flip' })).toEqual([0.5, 3, 3]);
    expect(attack({ behaviour: 'sign-flip', factor: 5 })).toEqual([-1.5, 7, 3]);
    expect(attack({ behaviour: 'scale', factor: 10 })).toEqual([6, -8, 3]);
  });

  it('Gaussian noise of the stated σ comes from a seeded stream: the same twice, another for another σ', () => {
    const a = attack({ behaviour: 'noise', sigma: 0.1 });
    expect(attack({ behaviour: 'noise', sigma: 0.1 })).toEqual(a);
    expect(a).not.toEqual([1.5, 1, 3]);
    const b = attack({ behaviour: 'noise', sigma: 0.2 });
    b.forEach((v, i) => expect(v - [1.5, 1, 3][i]!).toBeCloseTo(2 * (a[i]! - [1.5, 1, 3][i]!), 5));
  });

  it('a count of attackers is drawn once for the run, the same set every round', () => {
    const s = parseScenario({
      name: 'attackers',
      rounds: 3,
      coordinator: { site: 'KR' },
      data: { kind: 'synthetic-cohort' },
      hospitals: Array.from({ length: 10 }, (_, i) => ({ id: `h-${i}`, country: 'KR', patients: 50 })),
      model: { kind: 'logistic' },
      faults: [{ behaviour: 'sign-flip', count: 2, factor: 5 }],
    });
    const resolved = scenarioFaults(s);
    expect(resolved).toHaveLength(2);
    expect(
      resolved.every((f) => f.behaviour === 'sign-flip' && f.factor === 5 && f.count === undefined),
    ).toBe(true);
    const attackers = resolved.map((f) => f.hospital!);
    for (const round of [1, 2, 3])
      expect(
        s.hospitals.filter((h) => faultAt(resolved, s.seed, h.id, round) !== undefined).map((h) => h.id),
      ).toEqual(attackers);
    expect(scenarioFaults({ ...s, seed: 2 }).map((f) => f.hospital)).not.toEqual(attackers);
  });
});
