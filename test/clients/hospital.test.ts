import { describe, expect, it } from 'vitest';
import { makeSpec } from '../../src/common/params.ts';
import { stream, type Rng } from '../../src/common/rng.ts';
import { Hospital } from '../../src/clients/hospital.ts';
import type { LocalData } from '../../src/clients/data/index.ts';
import type { Examples, LocalTrainer, TrainOptions, TrainResult } from '../../src/models/types.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { OutputHead } from '../../src/protocol/outcome.ts';

/**
 * A trainer that moves every parameter by a fixed step per optimizer step and remembers what it was given:
 * it makes SCAFFOLD's control update computable by hand, and shows which random stream training drew from.
 */
class ScriptedTrainer implements LocalTrainer {
  readonly spec = makeSpec([{ name: 'w', shape: [3] }]);
  params = new Float32Array(3);
  readonly draws: number[] = [];
  lastCorrection: Float32Array | undefined;
  lastLabels: number[] = [];
  constructor(
    private readonly step: readonly number[],
    private readonly steps: number,
  ) {}
  setParameters(p: Float32Array): void {
    this.params = p.slice();
  }
  getParameters(): Float32Array {
    return this.params.slice();
  }
  train(data: Examples, options: TrainOptions, rng: Rng): TrainResult {
    this.draws.push(rng.next());
    this.lastLabels = Array.from(data.y);
    this.lastCorrection = options.gradientCorrection?.slice();
    for (let i = 0; i < 3; i++) this.params[i]! += this.steps * this.step[i]!;
    return { loss: 0.5, steps: this.steps };
  }
  predict(data: Examples): Float32Array {
    return new Float32Array(data.n).fill(0.5);
  }
  dispose(): void {}
}

const data: LocalData = {
  train: { x: new Float32Array(8), y: Float32Array.from([0, 1, 0, 1]), n: 4, inputShape: [2] },
  test: { x: new Float32Array(4), y: Float32Array.from([0, 1]), n: 2, inputShape: [2] },
  testGroups: {},
};
const config = (id: string) =>
  parseScenario({
    name: 't',
    rounds: 1,
    coordinator: { site: 'KR' },
    data: { kind: 'synthetic-cohort' },
    hospitals: [{ id, country: 'KR', patients: 20 }],
    model: { kind: 'logistic' },
  });
const hospital = (id: string, trainer: LocalTrainer, head?: OutputHead, local: LocalData = data) => {
  const s = config(id);
  return new Hospital(s.hospitals[0]!, 7, trainer, local, s.evaluation, head === undefined ? {} : { head });
};
const training = { localEpochs: 1, batchSize: 2, learningRate: 0.5, optimizer: 'sgd' as const };

describe('a hospital inside its worker', () => {
  it("updates SCAFFOLD's client control as c_i⁺ = c_i − c + (x − y)/(K·η), worked by hand over two rounds", () => {
    // K = 2 steps of η = 0.5, each moving w by (+0.1, −0.2, 0): x − y = (−0.2, 0.4, 0), /(Kη) = (−0.2, 0.4, 0).
    const trainer = new ScriptedTrainer([0.1, -0.2, 0], 2);
    const h = hospital('kr-1', trainer);
    const x = Float32Array.from([1, 2, 3]);
    const c1 = Float32Array.from([0.5, -0.5, 1]);
    const r1 = h.fit(x, { round: 1, training, scaffold: true }, c1);
    // c_i starts at 0: correction c − c_i = c; c_i⁺ = 0 − c + (−0.2, 0.4, 0) = (−0.7, 0.9, −1); Δc_i = c_i⁺.
    expect(Array.from(trainer.lastCorrection!)).toEqual([0.5, -0.5, 1]);
    const first = [-0.7, 0.9, -1];
    r1.vectors.control!.forEach((v, i) => expect(v).toBeCloseTo(first[i]!, 6));
    const c2 = Float32Array.from([0.1, 0.2, 0.3]);
    const r2 = h.fit(x, { round: 2, training, scaffold: true }, c2);
    // correction c − c_i = (0.8, −0.7, 1.3); c_i⁺ = c_i − c + (−0.2, 0.4, 0) = (−1, 1.1, −1.3); Δc_i = (−0.3, 0.2, −0.3).
    const correction = [0.1 - -0.7, 0.2 - 0.9, 0.3 - -1];
    trainer.lastCorrection!.forEach((v, i) => expect(v).toBeCloseTo(correction[i]!, 6));
    const expected = [-1 - -0.7, 1.1 - 0.9, -1.3 - -1];
    r2.vectors.control!.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    expect(Array.from(r2.vectors.parameters!)).toEqual(Array.from(Float32Array.from([1.2, 1.6, 3])));
  });

  it('a label-flipping attacker trains on reversed labels: 1 − y for two classes, K − 1 − y for K', () => {
    const binary = new ScriptedTrainer([0, 0, 0], 1);
    hospital('kr-1', binary).fit(new Float32Array(3), { round: 1, training }, undefined, {
      kind: 'label-flip',
    });
    expect(binary.lastLabels).toEqual([1, 0, 1, 0]);
    const three: LocalData = { ...data, train: { ...data.train, y: Float32Array.from([0, 1, 2, 2]) } };
    const multi = new ScriptedTrainer([0, 0, 0], 1);
    hospital('kr-1', multi, { kind: 'multiclass', classes: 3 }, three).fit(
      new Float32Array(3),
      { round: 1, training },
      undefined,
      { kind: 'label-flip' },
    );
    expect(multi.lastLabels).toEqual([2, 1, 0, 0]);
  });

  it('trains from a random stream of its own: hospitals differ, rounds differ, a repeat is identical', () => {
    const draw = (id: string, round: number) => {
      const t = new ScriptedTrainer([0, 0, 0], 1);
      hospital(id, t).fit(new Float32Array(3), { round, training });
      return t.draws[0]!;
    };
    const a = draw('kr-1', 1);
    expect(draw('kr-1', 1)).toBe(a);
    expect(draw('kr-2', 1)).not.toBe(a);
    expect(draw('kr-1', 2)).not.toBe(a);
    expect(draw('kr-11', 1)).not.toBe(draw('kr-1', 11));
    expect(new Set(['a', 'b', 'c', 'd'].map((id) => draw(`cn-${id}`, 3))).size).toBe(4);
  });

  it("draws DP-SGD's sampling and noise from a stream its data keys: the seed alone does not give them", () => {
    const s = config('kr-1');
    const dpSgd = { clipNorm: 1, noiseMultiplier: 1, sampleRate: 0.5, delta: 1e-5 };
    const draw = (local: LocalData) => {
      const t = new ScriptedTrainer([0, 0, 0], 1);
      new Hospital(s.hospitals[0]!, 7, t, local, s.evaluation, { dpSgd }).fit(new Float32Array(3), {
        round: 1,
        training,
      });
      return t.draws[0]!;
    };
    const seedOnly = stream(7, 'train', 'kr-1', 'round-1').next();
    expect(draw(data)).not.toBe(seedOnly);
    expect(draw(data)).toBe(draw(data));
    const other = { ...data, test: { ...data.test, y: Float32Array.from([1, 0]) } };
    expect(draw(other)).not.toBe(draw(data));
  });
});
