import { describe, expect, it } from 'vitest';
import { stream } from '../../../src/common/rng.ts';
import { FedAdagrad } from '../../../src/server/strategies/fedadagrad.ts';
import { FedAdam } from '../../../src/server/strategies/fedadam.ts';
import { FedAvg } from '../../../src/server/strategies/fedavg.ts';
import { FedAvgM } from '../../../src/server/strategies/fedavgm.ts';
import { FedYogi } from '../../../src/server/strategies/fedyogi.ts';
import { base, expectNear, fit, plus } from './helpers.ts';

// Round 1 of every example: global x₀ = 0; hospital a (1 example) sends (0.2, −0.4, 0), b (3 examples)
// sends (0.6, 0, 0). Example-weighted mean (0.5, −0.1, 0), so Δ₁ = (0.5, −0.1, 0).
const x0 = new Float32Array(3);
const round1 = [fit('a', [0.2, -0.4, 0], 1), fit('b', [0.6, 0, 0], 3)];
/** Round 2: both hospitals send global + d, so Δ₂ = d. */
const round2 = (global: Float32Array, d: readonly number[]) => [
  fit('a', plus(global, d), 1),
  fit('b', plus(global, d), 3),
];

describe('FedAdam (Reddi et al. 2021, Algorithm 2)', () => {
  it('follows m ← β₁m + (1−β₁)Δ, v ← β₂v + (1−β₂)Δ², x ← x + η·m/(√v + τ) over two rounds', () => {
    const s = new FedAdam({ ...base, eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-9 });
    // m₁ = 0.1·Δ₁ = (0.05, −0.01, 0); v₁ = 0.99·τ² + 0.01·Δ₁² = (0.0025, 0.0001, ~1e-18)
    // x₁ = 0.1·m₁/√v₁ = (0.1·0.05/0.05, 0.1·(−0.01)/0.01, 0) = (0.1, −0.1, 0)
    const x1 = s.aggregateFit(1, x0, round1, []);
    expectNear(x1, [0.1, -0.1, 0]);
    // Δ₂ = (0.15, 0, 0.1); m₂ = 0.9·m₁ + 0.1·Δ₂ = (0.06, −0.009, 0.01)
    // v₂ = 0.99·v₁ + 0.01·Δ₂² = (0.002475 + 0.000225, 0.000099, 0.0001) = (0.0027, 0.000099, 0.0001)
    const x2 = s.aggregateFit(2, x1, round2(x1, [0.15, 0, 0.1]), []);
    expectNear(x2, [
      0.1 + (0.1 * 0.06) / Math.sqrt(0.0027),
      -0.1 + (0.1 * -0.009) / Math.sqrt(0.000099),
      0 + (0.1 * 0.01) / Math.sqrt(0.0001),
    ]);
  });

  it("uses Flower's defaults: η = 0.1, β₁ = 0.9, β₂ = 0.99, τ = 1e-9, the scenario's client learning rate", () => {
    const s = new FedAdam(base);
    expect([s.eta, s.beta1, s.beta2, s.tau, s.etaL]).toEqual([0.1, 0.9, 0.99, 1e-9, undefined]);
    const [a] = s.configureFit(1, [{ id: 'a', country: 'KR' }], stream(1, 'x'));
    expect(a!.instructions.training.learningRate).toBe(base.training.learningRate);
  });

  it('sends etaL to hospitals as their learning rate', () => {
    const s = new FedAdam({ ...base, etaL: 0.01 });
    const [a] = s.configureFit(3, [{ id: 'a', country: 'KR' }], stream(1, 'x'));
    expect(a!.instructions).toEqual({ round: 3, training: { ...base.training, learningRate: 0.01 } });
  });
});

describe('FedYogi (Reddi et al. 2021, Algorithm 2)', () => {
  it('follows v ← v − (1−β₂)Δ²·sign(v − Δ²), shrinking v where Δ² < v', () => {
    const s = new FedYogi({ ...base, eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    // v₀ = τ² = 1e-6; Δ₁² = (0.25, 0.01, 0); sign(v₀ − Δ₁²) = (−1, −1, +1)
    // v₁ = (1e-6 + 0.0025, 1e-6 + 0.0001, 1e-6) ; m₁ = (0.05, −0.01, 0)
    const x1 = s.aggregateFit(1, x0, round1, []);
    expectNear(x1, [
      (0.01 * 0.05) / (Math.sqrt(0.002501) + 1e-3),
      (0.01 * -0.01) / (Math.sqrt(0.000101) + 1e-3),
      0,
    ]);
    // Δ₂ = (0.01, 0, −0.2); Δ₂² = (0.0001, 0, 0.04); sign(v₁ − Δ₂²) = (+1, 0·, −1)
    // v₂ = (0.002501 − 0.000001, 0.000101, 1e-6 + 0.0004); m₂ = (0.046, −0.009, −0.02)
    const x2 = s.aggregateFit(2, x1, round2(x1, [0.01, 0, -0.2]), []);
    expectNear(x2, [
      x1[0]! + (0.01 * 0.046) / (Math.sqrt(0.0025) + 1e-3),
      x1[1]! + (0.01 * -0.009) / (Math.sqrt(0.000101) + 1e-3),
      x1[2]! + (0.01 * -0.02) / (Math.sqrt(0.000401) + 1e-3),
    ]);
  });

  it("uses Flower's defaults: η = 0.01, β₁ = 0.9, β₂ = 0.99, τ = 1e-3", () => {
    const s = new FedYogi(base);
    expect([s.eta, s.beta1, s.beta2, s.tau]).toEqual([0.01, 0.9, 0.99, 1e-3]);
  });
});

describe('FedAdagrad (Reddi et al. 2021, Algorithm 2)', () => {
  it('follows v ← v + Δ² with β₁ = 0 (m = Δ) over two rounds', () => {
    const s = new FedAdagrad({ ...base, eta: 0.1, tau: 1e-9 });
    expect(s.beta1).toBe(0);
    // v₁ = τ² + Δ₁² = (0.25, 0.01, ~0); x₁ = 0.1·Δ₁/|Δ₁| = (0.1, −0.1, 0)
    const x1 = s.aggregateFit(1, x0, round1, []);
    expectNear(x1, [0.1, -0.1, 0]);
    // Δ₂ = (0.5, 0, 0.3); v₂ = (0.5, 0.01, 0.09); x₂ = x₁ + 0.1·(0.5/√0.5, 0, 0.3/0.3)
    const x2 = s.aggregateFit(2, x1, round2(x1, [0.5, 0, 0.3]), []);
    expectNear(x2, [0.1 + (0.1 * 0.5) / Math.sqrt(0.5), -0.1, 0.1]);
  });
});

describe('FedAvgM (Hsu et al. 2019)', () => {
  const vectors = [
    [0.123, -4.5, 7.25, 1e-3],
    [2.5, 0.75, -1.125, 3],
    [-0.5, 9.875, 0.3, -2.2],
  ];
  const results = vectors.map((v, k) => fit(`h${k}`, v, [17, 5, 40][k]));
  const global = new Float32Array([0.5, -0.25, 1, 2]);

  it('with momentum 0 and server learning rate 1 is FedAvg', () => {
    const m = new FedAvgM(base);
    expect([m.serverLearningRate, m.serverMomentum]).toEqual([1, 0]);
    const avg = new FedAvg(base).aggregateFit(1, global, results, []);
    expectNear(m.aggregateFit(1, global, results, []), Array.from(avg));
  });

  it('with server learning rate 0.5 and no momentum moves half way to the FedAvg model', () => {
    const m = new FedAvgM({ ...base, serverLearningRate: 0.5 });
    // round-1 example: mean (0.5, −0.1, 0) from x₀ = 0
    expectNear(m.aggregateFit(1, x0, round1, []), [0.25, -0.05, 0]);
  });

  it('with momentum 0.9 keeps v ← βv + Δ across rounds and moves x ← x − η·v', () => {
    const m = new FedAvgM({ ...base, serverMomentum: 0.9 });
    // round 1: mean (1, −2) from 0: Δ = x − mean = (−1, 2), v = (−1, 2), x₁ = (1, −2)
    const x1 = m.aggregateFit(1, new Float32Array(2), [fit('a', [1, -2])], []);
    expectNear(x1, [1, -2]);
    // round 2: mean x₁ + (0.5, 0): Δ = (−0.5, 0), v = 0.9·(−1, 2) + (−0.5, 0) = (−1.4, 1.8), x₂ = (2.4, −3.8)
    const x2 = m.aggregateFit(2, x1, [fit('a', [1.5, -2])], []);
    expectNear(x2, [2.4, -3.8]);
  });
});
