import { describe, expect, it } from 'vitest';
import {
  computeRdp,
  computeTippingRdp,
  DEFAULT_RDP_ORDERS,
  rdpToEpsilon,
  RdpAccountant,
  tippingRisk,
} from '../../src/common/dp/rdp.ts';

describe('the RDP accountant for the sampled Gaussian mechanism', () => {
  it("matches TensorFlow Privacy's compute_rdp known answers to 1e-5", () => {
    // tensorflow_privacy/privacy/analysis/rdp_accountant_test.py: test_compute_rdp_scalar and the sequence.
    expect(Math.abs(computeRdp(0.1, 2, 10, [5])[0]! - 0.07737)).toBeLessThan(1e-5);
    const expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
    computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100]).forEach((r, i) => {
      expect(Math.abs(r - expected[i]!)).toBeLessThan(1e-5);
    });
    expect(computeRdp(0, 10, 1, [20])).toEqual([0]);
    expect(computeRdp(1, 10, 1, [20])).toEqual([0.1]);
  });

  it("gives Opacus's ε: z = 1.5, q = 0.04, 2250 steps, δ = 1e-5 → 7.32911117143 with its default orders", () => {
    // opacus/tests/accountants_test.py, AccountingTest.test_rdp_accountant (steps = int(90 / 0.04)).
    expect(DEFAULT_RDP_ORDERS).toHaveLength(151);
    expect(DEFAULT_RDP_ORDERS.slice(0, 3)).toEqual([1.1, 1.2, 1.3]);
    expect(DEFAULT_RDP_ORDERS.slice(-2)).toEqual([62, 63]);
    const accountant = new RdpAccountant();
    accountant.compose(0.04, 1.5, Math.trunc(90 / 0.04));
    expect(accountant.rounds).toBe(2250);
    expect(accountant.epsilon(1e-5).epsilon).toBeCloseTo(7.32911117143, 7);
  });

  it("converts RDP to (ε, δ) as TensorFlow Privacy's get_privacy_spent tests pin", () => {
    // rdp_accountant_test.py, test_get_privacy_spent_check_target_delta: constant RDP 1.1 at orders 2…32.
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const pure = rdpToEpsilon(
      orders,
      orders.map(() => 1.1),
      1e-5,
    );
    expect(pure.order).toBe(32);
    expect(pure.epsilon).toBeCloseTo(1.32783806176, 10);
    // Gaussian without sampling, z = 4.530877117 chosen to give exactly (1, 1e-6)-DP; the test's orders run
    // from 1.000 in steps of 0.001, and orders ≤ 1.01 never give the minimum, so they are left out here.
    const fine = Array.from({ length: 98_989 }, (_, k) => 0.001 * (k + 1011));
    expect(rdpToEpsilon(fine, computeRdp(1, 4.530877117, 1, fine), 1e-6).epsilon).toBeCloseTo(1, 7);
  });

  it('composes rounds additively and can look ahead without spending', () => {
    const a = new RdpAccountant();
    const ahead = a.epsilonAfter(0.1, 1.1, 30, 1e-5);
    expect(a.rounds).toBe(0);
    expect(a.epsilon(1e-5).epsilon).toBe(0);
    for (let r = 0; r < 30; r++) a.compose(0.1, 1.1);
    expect(a.epsilon(1e-5).epsilon).toBeCloseTo(ahead.epsilon, 10);
    const b = new RdpAccountant();
    b.compose(0.1, 1.1, 30);
    expect(b.epsilon(1e-5)).toEqual(ahead);
  });
});

describe('rounds that release noise alone below secure aggregation’s 3 hospitals', () => {
  /**
   * The exact Rényi divergence of order α, both ways, between one round without and with one more hospital,
   * in one dimension with every update at +C (C = 1): `others` hospitals each sampled with probability q, the
   * sum released only when at least 3 are sampled, plus N(0, z²). Integrated numerically on a fine grid.
   */
  function exactRdp(q: number, z: number, others: number, alpha: number): number {
    const binom = (k: number) => {
      let c = 1;
      for (let i = 0; i < k; i++) c = (c * (others - i)) / (i + 1);
      return c * q ** k * (1 - q) ** (others - k);
    };
    const released = (k: number) => (k >= 3 ? k : 0);
    const density = (x: number, mean: number) => Math.exp(-((x - mean) ** 2) / (2 * z * z));
    const without = (x: number) => {
      let s = 0;
      for (let k = 0; k <= others; k++) s += binom(k) * density(x, released(k));
      return s;
    };
    const withOne = (x: number) => {
      let s = 0;
      for (let k = 0; k <= others; k++)
        s += binom(k) * ((1 - q) * density(x, released(k)) + q * density(x, released(k + 1)));
      return s;
    };
    const divergence = (a: (x: number) => number, b: (x: number) => number) => {
      let s = 0;
      const h = 0.001;
      for (let x = -12 * z; x < others + 1 + 12 * z; x += h) s += a(x) ** alpha * b(x) ** (1 - alpha) * h;
      return Math.log(s / (z * Math.sqrt(2 * Math.PI))) / (alpha - 1);
    };
    return Math.max(divergence(withOne, without), divergence(without, withOne));
  }

  it('a hospital that tips a round adds three updates at once: the plain bound is exceeded, the tipping bound holds', () => {
    for (const [q, z, others] of [
      [0.5, 1.2, 2],
      [0.3, 1.2, 3],
      [0.75, 2, 5],
    ] as const) {
      for (const alpha of [2, 4]) {
        const exact = exactRdp(q, z, others, alpha);
        const risk = tippingRisk(q, others + 1, 3);
        expect(exact, `q ${q}, z ${z}, ${others} others, α ${alpha}`).toBeLessThanOrEqual(
          computeTippingRdp(q, z, 1, [alpha], risk)[0]!,
        );
        if (others === 2)
          expect(exact, 'the sampled Gaussian alone under-reports').toBeGreaterThan(
            computeRdp(q, z, 1, [alpha])[0]!,
          );
      }
    }
  });

  it('the risk is the chance that exactly two others are sampled, in a federation one smaller or larger', () => {
    // 6 hospitals, q = 0.75: C(5,2)·0.75²·0.25³ = 0.087890625 > C(6,2)·0.75²·0.25⁴.
    expect(tippingRisk(0.75, 6, 3).probability).toBeCloseTo(0.087890625, 12);
    expect(tippingRisk(0.5, 3, 3).probability).toBe(0.375); // 3·0.5²·0.5 (a fourth hospital) > 0.5²
    const orders = [2, 8, 32];
    const plain = computeRdp(0.3, 1.1, 5, orders);
    expect(computeTippingRdp(0.3, 1.1, 5, orders, { minimum: 3, probability: 0 })).toEqual(plain);
    const all = computeTippingRdp(0.3, 1.1, 5, orders, { minimum: 3, probability: 1 });
    all.forEach((r, i) => expect(r).toBeCloseTo(computeRdp(0.3, 1.1 / 3, 5, orders)[i]!, 9));
    const a = new RdpAccountant();
    a.compose(0.3, 1.1, 5, tippingRisk(0.3, 10, 3));
    const b = new RdpAccountant();
    b.compose(0.3, 1.1, 5);
    expect(a.epsilon(1e-5).epsilon).toBeGreaterThan(b.epsilon(1e-5).epsilon);
  });
});
