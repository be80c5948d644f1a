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

  it('examples: updates weighted by training examples; c the example-weighted mean of the controls heard from', () => {
    const s = new Scaffold({ ...base, serverLearningRate: 1, hospitals: 4 });
    expect(s.summary().weighting).toBe('examples');
    s.broadcastVectors(1, x);
    // Σ n(y − x)/Σ n = (1·(0.4, −0.4) + 3·(0.8, 0)) / 4 = (0.7, −0.1)
    expectNear(s.aggregateFit(1, x, replies, []), [1.7, 0.9]);
    // c_a = (0.8, −0.4), c_b = (0, 0.4): (1·c_a + 3·c_b) / 4 = (0.2, 0.2)
    expectNear(s.broadcastVectors(2, x).control, [0.2, 0.2]);
  });

  it('examples under partial participation: c stays Σ nᵢcᵢ / Σ nᵢ over the hospitals heard from', () => {
    // Four hospitals of 1, 1, 1 and 97 examples, two replying per round; each ends with c_i = ±1.
    const s = new Scaffold({ ...base, serverLearningRate: 1, hospitals: 4 });
    const n = { a: 1, b: 1, c: 1, d: 97 } as const;
    const target = { a: 1, b: 1, c: 1, d: -1 } as const;
    const held: Record<string, number> = { a: 0, b: 0, c: 0, d: 0 };
    const toward = (h: keyof typeof n, value: number): FitResult => {
      const dc = value - held[h]!;
      held[h] = value;
      return reply(h, [1], [dc], n[h]);
    };
    const one = new Float32Array([1]);
    s.aggregateFit(1, one, [toward('a', 0.5), toward('d', -0.5)], []);
    s.aggregateFit(2, one, [toward('b', 1), toward('d', -1)], []);
    s.aggregateFit(3, one, [toward('a', 1), toward('c', 1)], []);
    const heard = Object.keys(n) as (keyof typeof n)[];
    const mean = heard.reduce((acc, h) => acc + n[h] * target[h], 0) / 100;
    expectNear(s.broadcastVectors(4, one).control, [mean]);
    expect(() => s.aggregateFit(4, one, [reply('a', [1], [0], 2)], [])).toThrow(
      /hospital a trained on 2 examples after 1; weighting 'examples' needs a fixed count per hospital/,
    );
  });

  it('with equal example counts both weightings agree', () => {
    const equal = replies.map((r) => ({ ...r, reply: { ...r.reply, numExamples: 5 } }));
    const uniform = new Scaffold({ ...base, serverLearningRate: 1, weighting: 'uniform', hospitals: 2 });
    const examples = new Scaffold({ ...base, serverLearningRate: 1, weighting: 'examples', hospitals: 2 });
    expectNear(examples.aggregateFit(1, x, equal, []), Array.from(uniform.aggregateFit(1, x, equal, [])));
    expectNear(examples.broadcastVectors(2, x).control, Array.from(uniform.broadcastVectors(2, x).control));
  });
});
