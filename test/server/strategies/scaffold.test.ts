import { describe, expect, it } from 'vitest';
import { Scaffold } from '../../../src/server/strategies/scaffold.ts';
import type { FitResult } from '../../../src/server/strategies/strategy.ts';
import { base, expectNear } from './helpers.ts';

/** A SCAFFOLD reply: new parameters y and control change Δc. */
function reply(
  hospital: string,
  y: readonly number[],
  dc: readonly number[],
  numExamples: number,
): FitResult {
  return {
    hospital,
    reply: {
      vectors: { parameters: new Float32Array(y), control: new Float32Array(dc) },
      numExamples,
      metrics: {},
    },
  };
}

// Four hospitals in the federation; a (1 example) and b (3 examples) reply, from x = (1, 1).
const x = new Float32Array([1, 1]);
const replies = [reply('a', [1.4, 0.6], [0.8, -0.4], 1), reply('b', [1.8, 1], [0, 0.4], 3)];

describe('SCAFFOLD server step (Karimireddy et al. 2020, Algorithm 1)', () => {
  it('uniform: x + η_g·mean(y − x) and c + (1/N)·Σ Δc, as in the paper', () => {
    const s = new Scaffold({ ...base, serverLearningRate: 0.5, weighting: 'uniform', hospitals: 4 });
    s.broadcastVectors(1, x);
    // mean(y − x) = ((0.4, −0.4) + (0.8, 0)) / 2 = (0.6, −0.2); x + 0.5·(0.6, −0.2) = (1.3, 0.9)
    expectNear(s.aggregateFit(1, x, replies, []), [1.3, 0.9]);
    // c = 0 + ((0.8, −0.4) + (0, 0.4)) / 4 = (0.2, 0)
    expectNear(s.broadcastVectors(2, x).control, [0.2, 0]);
  });

  it('examples: updates and control changes weighted by training examples, scaled by |S|/N', () => {
    const s = new Scaffold({ ...base, serverLearningRate: 1, hospitals: 4 });
    expect(s.summary().weighting).toBe('examples');
    s.broadcastVectors(1, x);
    // Σ n(y − x)/Σ n = (1·(0.4, −0.4) + 3·(0.8, 0)) / 4 = (0.7, −0.1)
    expectNear(s.aggregateFit(1, x, replies, []), [1.7, 0.9]);
    // (2/4)·(1·(0.8, −0.4) + 3·(0, 0.4)) / 4 = 0.5·(0.2, 0.2) = (0.1, 0.1)
    expectNear(s.broadcastVectors(2, x).control, [0.1, 0.1]);
  });

  it('with equal example counts both weightings agree', () => {
    const equal = replies.map((r) => ({ ...r, reply: { ...r.reply, numExamples: 5 } }));
    const uniform = new Scaffold({ ...base, serverLearningRate: 1, weighting: 'uniform', hospitals: 2 });
    const examples = new Scaffold({ ...base, serverLearningRate: 1, weighting: 'examples', hospitals: 2 });
    expectNear(examples.aggregateFit(1, x, equal, []), Array.from(uniform.aggregateFit(1, x, equal, [])));
    expectNear(examples.broadcastVectors(2, x).control, Array.from(uniform.broadcastVectors(2, x).control));
  });
});
