import { describe, expect, it } from 'vitest';
import { stream } from '../../../src/common/rng.ts';
import { FedAvg } from '../../../src/server/strategies/fedavg.ts';
import { FitMetricError } from '../../../src/server/strategies/fit-metrics.ts';
import { FedNova } from '../../../src/server/strategies/fednova.ts';
import { QFedAvg } from '../../../src/server/strategies/qfedavg.ts';
import { base, expectNear, fit } from './helpers.ts';

describe('FedNova (Wang et al. 2020)', () => {
  const s = new FedNova(base);

  it('declares that fit replies must carry local_steps', () => {
    expect(s.fitMetrics).toEqual(['local_steps']);
  });

  it('with equal local steps is FedAvg', () => {
    const global = new Float32Array([0.5, -1, 2]);
    const results = [
      fit('a', [1.25, -0.5, 3], 10, { local_steps: 7 }),
      fit('b', [0.125, 2, -4], 30, { local_steps: 7 }),
      fit('c', [-3, 0.75, 1.5], 5, { local_steps: 7 }),
    ];
    const avg = new FedAvg(base).aggregateFit(1, global, results, []);
    expectNear(s.aggregateFit(1, global, results, []), Array.from(avg));
  });

  it('with unequal steps normalises each update by its τᵢ and rescales by τ_eff', () => {
    // p = (1/4, 3/4); d_a = (0 − (1, 0))/1 = (−1, 0); d_b = (0 − (0, 4))/4 = (0, −1)
    // τ_eff = 1/4·1 + 3/4·4 = 3.25; Σ pᵢdᵢ = (−0.25, −0.75); x = −3.25·(−0.25, −0.75) = (0.8125, 2.4375)
    const results = [fit('a', [1, 0], 1, { local_steps: 1 }), fit('b', [0, 4], 3, { local_steps: 4 })];
    expectNear(s.aggregateFit(1, new Float32Array(2), results, []), [0.8125, 2.4375]);
  });

  it('names the hospital and the metric when local_steps is missing or not a positive integer', () => {
    const global = new Float32Array(1);
    expect(() => s.aggregateFit(1, global, [fit('kr-a', [1])], [])).toThrow(FitMetricError);
    expect(() => s.aggregateFit(1, global, [fit('kr-a', [1], 1, { local_steps: 0 })], [])).toThrow(
      "fednova: hospital kr-a's fit reply needs metric local_steps, an integer ≥ 1",
    );
  });
});

describe('q-FedAvg (Li et al. 2020)', () => {
  it('asks every hospital for initial_loss', () => {
    const s = new QFedAvg(base);
    expect(s.q).toBe(0.2);
    expect(s.fitMetrics).toEqual(['initial_loss']);
    const [a] = s.configureFit(2, [{ id: 'a', country: 'CN' }], stream(1, 'x'));
    expect(a!.instructions).toEqual({ round: 2, training: base.training, reportInitialLoss: true });
  });

  it('with q = 0 is the unweighted mean of the client models, whatever the losses and counts', () => {
    // h_k = L, Δ_k = L(x − x_k): x − Σ L(x − x_k) / (2L) = mean(x_k)
    const s = new QFedAvg({ ...base, q: 0 });
    const results = [fit('a', [1, 2], 1, { initial_loss: 0.5 }), fit('b', [3, -2], 9, { initial_loss: 2 })];
    expectNear(s.aggregateFit(1, new Float32Array([0.4, 0.7]), results, []), [2, 0]);
  });

  it('with q = 1 follows Δ_k = F_k^q·L(x − x_k), h_k = q·F_k^(q−1)·‖L(x − x_k)‖² + L·F_k^q', () => {
    const s = new QFedAvg({ ...base, q: 1 });
    // L = 1/0.1 = 10; Δw_a = 10·(0 − (0.1, 0)) = (−1, 0), Δw_b = 10·(0 − (0, 0.2)) = (0, −2)
    // F = (1, 4): Δ_a = (−1, 0), Δ_b = (0, −8); h_a = 1 + 10 = 11, h_b = 4 + 40 = 44
    // x = 0 − ((−1, −8)) / 55 = (1/55, 8/55)
    const results = [fit('a', [0.1, 0], 1, { initial_loss: 1 }), fit('b', [0, 0.2], 1, { initial_loss: 4 })];
    expectNear(s.aggregateFit(1, new Float32Array(2), results, []), [1 / 55, 8 / 55]);
  });

  it('names the hospital when initial_loss is missing or negative', () => {
    const s = new QFedAvg(base);
    expect(() => s.aggregateFit(1, new Float32Array(1), [fit('cn-b', [1])], [])).toThrow(
      "qfedavg: hospital cn-b's fit reply needs metric initial_loss, a finite loss ≥ 0",
    );
    expect(() =>
      s.aggregateFit(1, new Float32Array(1), [fit('cn-b', [1], 1, { initial_loss: -1 })], []),
    ).toThrow(FitMetricError);
  });
});
