import { describe, expect, it } from 'vitest';
import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon, RdpAccountant } from '../../src/common/dp/rdp.ts';

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
