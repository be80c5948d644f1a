import { describe, expect, it } from 'vitest';
import { dpContribution } from '../../src/clients/privacy/dp-contribution.ts';
import { cappedWeight, fixedDenominator } from '../../src/common/dp/capped-weights.ts';
import { clipToNorm, l2Norm } from '../../src/common/dp/clip.ts';
import { fillGaussian, uniform53 } from '../../src/common/dp/gaussian.ts';
import { stream } from '../../src/common/rng.ts';
import { noisyMean } from '../../src/server/privacy/dp-noise.ts';
import { poissonSample } from '../../src/server/privacy/poisson-sampling.ts';

describe('client-level DP: clipping', () => {
  it('leaves the norm ≤ C exactly, after float32 rounding, over many vectors and scales', () => {
    const rng = stream(1, 'test', 'clip');
    let shrunk = 0;
    for (let trial = 0; trial < 200; trial++) {
      const length = 1 + rng.int(1000);
      const scale = 10 ** (rng.next() * 8 - 4);
      const v = Float32Array.from({ length }, () => rng.normal() * scale);
      const clipNorm = 10 ** (rng.next() * 4 - 2);
      const { clipped, norm, factor } = clipToNorm(v, clipNorm);
      expect(norm).toBe(l2Norm(v));
      expect(l2Norm(clipped)).toBeLessThanOrEqual(clipNorm);
      if (norm > clipNorm) {
        shrunk++;
        expect(l2Norm(clipped)).toBeGreaterThan(clipNorm * (1 - 1e-6));
        expect(factor).toBeLessThan(1);
      } else {
        expect(clipped).toEqual(v);
      }
    }
    expect(shrunk).toBeGreaterThan(40);
    expect(() => clipToNorm(Float32Array.of(1, Number.NaN), 1)).toThrow(/element 1 is not finite/);
    expect(clipToNorm(Float32Array.of(3e30, 4e30), Infinity).factor).toBe(1);
  });

  it("a hospital's contribution is its clipped update times min(n/ŵ, 1), so its norm stays ≤ C", () => {
    const update = Float32Array.from({ length: 500 }, (_, i) => Math.sin(i) * 3);
    const full = dpContribution(update, 900, 0.7, 300);
    const small = dpContribution(update, 150, 0.7, 300);
    expect(full.weight).toBe(1);
    expect(small.weight).toBe(0.5);
    expect(l2Norm(full.values)).toBeLessThanOrEqual(0.7);
    expect(l2Norm(small.values)).toBeLessThanOrEqual(0.35);
    expect(full.normBeforeClipping).toBeCloseTo(l2Norm(update), 12);
    expect(cappedWeight(10, undefined)).toBe(1);
    expect(fixedDenominator([1, 0.5, 0.25, 1], 0.1)).toBeCloseTo(0.275, 15);
  });
});

describe('client-level DP: noise and sampling', () => {
  it('the Gaussian sampler has mean 0, variance σ², normal tails and 53-bit uniforms', () => {
    const n = 200_000;
    const sigma = 2.5;
    const x = fillGaussian(new Float64Array(n), sigma, stream(2, 'test', 'gauss'));
    const mean = x.reduce((a, b) => a + b, 0) / n;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
    const fourth = x.reduce((a, b) => a + (b - mean) ** 4, 0) / n / variance ** 2;
    expect(Math.abs(mean)).toBeLessThan((5 * sigma) / Math.sqrt(n));
    // Var of the sample variance is 2σ⁴/(n − 1); 5 standard errors.
    expect(Math.abs(variance - sigma ** 2)).toBeLessThan(5 * sigma ** 2 * Math.sqrt(2 / (n - 1)));
    expect(Math.abs(fourth - 3)).toBeLessThan(0.1);
    const beyond2 = x.filter((v) => Math.abs(v) > 2 * sigma).length / n;
    expect(Math.abs(beyond2 - 0.0455)).toBeLessThan(0.003);
    const u = uniform53(stream(3, 'test'));
    expect(u).toBeGreaterThan(0);
    expect(u).toBeLessThanOrEqual(1);
    expect(Number.isInteger(u * 2 ** 53)).toBe(true);
  });

  it('noise is reproducible per seed, differs between seeds, and has σ = zC before the fixed denominator', () => {
    const sum = Float64Array.from({ length: 50_000 }, (_, i) => i / 1000);
    const a = noisyMean(sum, 0.5, 1.2, 4, stream(4, 'dp-noise', 'round-1'));
    const b = noisyMean(sum, 0.5, 1.2, 4, stream(4, 'dp-noise', 'round-1'));
    const c = noisyMean(sum, 0.5, 1.2, 4, stream(5, 'dp-noise', 'round-1'));
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    let ss = 0;
    for (let i = 0; i < sum.length; i++) ss += (a[i]! * 4 - sum[i]!) ** 2;
    expect(Math.sqrt(ss / sum.length)).toBeCloseTo(0.6, 2);
  });

  it('Poisson sampling includes each hospital with probability q, independently and reproducibly', () => {
    const hospitals = Array.from({ length: 40 }, (_, i) => ({ id: `h-${String(i).padStart(2, '0')}` }));
    const rounds = 500;
    let total = 0;
    const sizes = new Set<number>();
    for (let r = 1; r <= rounds; r++) {
      const picked = poissonSample(hospitals, 0.2, stream(6, 'dp-sample', `round-${r}`));
      total += picked.length;
      sizes.add(picked.length);
      expect(picked.map((h) => h.id)).toEqual([...picked.map((h) => h.id)].sort());
    }
    // 20,000 Bernoulli(0.2) draws: mean 4,000, sd ≈ 56.6.
    expect(Math.abs(total - 0.2 * 40 * rounds)).toBeLessThan(5 * Math.sqrt(40 * rounds * 0.2 * 0.8));
    expect(sizes.size).toBeGreaterThan(5);
    const again = poissonSample([...hospitals].reverse(), 0.2, stream(6, 'dp-sample', 'round-1'));
    expect(again).toEqual(poissonSample(hospitals, 0.2, stream(6, 'dp-sample', 'round-1')));
    expect(poissonSample(hospitals, 1, stream(6, 'x'))).toHaveLength(40);
  });
});
