import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { quantisationStep } from '../../src/common/secagg/quantise.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

/** Two countries of three hospitals each, logistic regression: the smallest federation SecAgg runs in per country. */
function sixHospitals(changes: Partial<ScenarioInput> = {}) {
  return smallScenario({
    backend: 'js',
    topology: 'hierarchical',
    minClients: 2,
    hospitals: [
      { id: 'kr-a', country: 'KR', patients: 160, cohort: { prevalence: 0.2 } },
      { id: 'kr-b', country: 'KR', patients: 120, cohort: { prevalence: 0.25 } },
      { id: 'kr-c', country: 'KR', patients: 100, cohort: { prevalence: 0.2 } },
      { id: 'cn-a', country: 'CN', patients: 180, cohort: { prevalence: 0.2 } },
      { id: 'cn-b', country: 'CN', patients: 100, cohort: { prevalence: 0.3 } },
      { id: 'cn-c', country: 'CN', patients: 140, cohort: { prevalence: 0.25 } },
    ],
    model: { kind: 'logistic' },
    ...changes,
  });
}

const SECURE = { privacy: { secureAggregation: { range: 1 } } } as const;

describe('hierarchical topology under secure aggregation', () => {
  it('equals the plain hierarchical round within the quantisation step, the same at 1 and 2 threads', async () => {
    const plain = await runInMemory(sixHospitals({ rounds: 1 }), { threads: 2 });
    const one = await runInMemory(sixHospitals({ rounds: 1, ...SECURE }), { threads: 1 });
    const two = await runInMemory(sixHospitals({ rounds: 1, ...SECURE }), { threads: 2 });
    expect(one.result.status).toBe('completed');
    const step = quantisationStep(1, 16);
    const p = plain.result.parameters;
    const s = one.result.parameters;
    let worst = 0;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(s[i]! - p[i]!));
    console.log('worst', worst, 'step', step);
    expect(worst).toBeLessThanOrEqual(step * 1.0001);
    expect(sha256(two.result.parameters)).toBe(sha256(s));
    expect(JSON.stringify(two.crossings)).toBe(JSON.stringify(one.crossings));
    console.log(JSON.stringify(one.rounds[0]!.privacy));
    console.log([...new Set(one.crossings.map((c) => `${c.kind}:${c.crossesBorder}`))]);
  }, 180_000);
});
