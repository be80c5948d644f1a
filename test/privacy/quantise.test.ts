import { describe, expect, it } from 'vitest';
import { PrivacySettingError } from '../../src/common/privacy-setting-error.ts';
import { stream } from '../../src/common/rng.ts';
import {
  decode,
  encode,
  quantisationErrorBound,
  quantisationStep,
  validateQuantisation,
  type QuantisationSpec,
} from '../../src/common/secagg/quantise.ts';
import { plainSum, runSecAggRound } from '../helpers/secagg-round.ts';

const HOSPITALS = 8;
const MAX_WEIGHT = 1000;
// ⌈log₂(8 × 1000)⌉ = 13, so 19 bits is the most that cannot overflow: the bound itself.
const BITS = 32 - 13;
const spec: QuantisationSpec = {
  bits: BITS,
  maxWeight: MAX_WEIGHT,
  parts: [
    { name: 'weighted-parameters', length: 400, range: 0.5 },
    { name: 'weight', length: 1, range: 1 },
    { name: 'weighted-control', length: 100, range: 2 },
  ],
};

function hospitalParts(u: number): number[][] {
  const rng = stream(1, 'test', 'values', u);
  return [
    Array.from({ length: 400 }, () => (rng.next() - 0.5) * 1.2),
    [1],
    Array.from({ length: 100 }, () => rng.normal()),
  ];
}
const weights = [1000, 1, 999, 500, 1000, 37, 250, 1000];

function settingError(fn: () => unknown): PrivacySettingError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PrivacySettingError) return e;
    throw e;
  }
  throw new Error('no PrivacySettingError');
}

describe('quantisation', () => {
  it('accepts bits + ⌈log₂(n · maxWeight)⌉ = 32 and refuses one bit more, naming the fields', () => {
    expect(() => validateQuantisation(spec, HOSPITALS)).not.toThrow();
    const e = settingError(() => validateQuantisation({ ...spec, bits: BITS + 1 }, HOSPITALS));
    expect(e.field).toBe('privacy.secureAggregation.bits');
    expect(e.message).toContain('at most 19');
    expect(e.message).toContain('maxWeight');
    expect(settingError(() => validateQuantisation(spec, 9)).field).toBe('privacy.secureAggregation.bits');
    expect(settingError(() => validateQuantisation({ ...spec, bits: 1 }, 2)).expected).toBe(
      'an integer in [2, 32]',
    );
    expect(settingError(() => validateQuantisation({ ...spec, maxWeight: 0.5 }, 2)).field).toBe(
      'privacy.secureAggregation.maxWeight',
    );
    const badRange = { ...spec, parts: [{ name: 'p', length: 3, range: 0 }] };
    expect(settingError(() => validateQuantisation(badRange, 2)).field).toBe(
      'privacy.secureAggregation.parts[0].range',
    );
  });

  it('sums at the overflow bound without wrapping: every hospital at ±range with the largest weight', () => {
    for (const sign of [1, -1]) {
      const sum = new Uint32Array(501);
      for (let u = 0; u < HOSPITALS; u++) {
        const parts = spec.parts.map((p) => new Array<number>(p.length).fill(sign * p.range * 3));
        const { vector, clipped } = encode(spec, parts, MAX_WEIGHT, stream(2, 'q', u));
        expect(clipped).toBe(501);
        for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + vector[i]!) >>> 0;
      }
      const decoded = decode(spec, sum);
      decoded.forEach((part, p) => {
        const exact = sign * HOSPITALS * MAX_WEIGHT * spec.parts[p]!.range;
        for (const x of part) expect(x).toBeCloseTo(exact, 9);
      });
    }
  });

  it('decodes the sum within Δ · Σw of the float sum, the weight part exactly, and is unbiased', () => {
    const sum = new Uint32Array(501);
    const floatSum = spec.parts.map((p) => new Float64Array(p.length));
    for (let u = 0; u < HOSPITALS; u++) {
      const parts = hospitalParts(u);
      const { vector } = encode(spec, parts, weights[u]!, stream(3, 'q', u));
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + vector[i]!) >>> 0;
      spec.parts.forEach((p, k) => {
        for (let i = 0; i < p.length; i++) {
          floatSum[k]![i]! += weights[u]! * Math.max(-p.range, Math.min(p.range, parts[k]![i]!));
        }
      });
    }
    const totalWeight = weights.reduce((a, b) => a + b, 0);
    const decoded = decode(spec, sum);
    expect(decoded[1]![0]).toBe(totalWeight);
    spec.parts.forEach((p, k) => {
      const bound = quantisationErrorBound(p, BITS, totalWeight);
      let worst = 0;
      for (let i = 0; i < p.length; i++)
        worst = Math.max(worst, Math.abs(decoded[k]![i]! - floatSum[k]![i]!));
      expect(worst).toBeLessThanOrEqual(bound * (1 + 1e-12));
      if (p.length > 1) expect(worst).toBeGreaterThan(0);
    });

    const step = quantisationStep(1, 12);
    const one = { bits: 12, maxWeight: 1, parts: [{ name: 'x', length: 20_000, range: 1 }] };
    const decodedOne = decode(
      one,
      encode(one, [new Array<number>(20_000).fill(0.3 * step)], 1, stream(4, 'q')).vector,
    );
    const mean = decodedOne[0]!.reduce((a, b) => a + b, 0) / 20_000;
    // Each value rounds to 0 or Δ, up with probability 0.3: the mean is 0.3Δ ± 4 standard errors.
    expect(Math.abs(mean - 0.3 * step)).toBeLessThan(4 * step * Math.sqrt(0.21 / 20_000));
  });

  it('refuses weights and values it cannot encode', () => {
    const parts = hospitalParts(0);
    expect(() => encode(spec, parts, MAX_WEIGHT + 1, stream(5, 'q'))).toThrow(/maxWeight/);
    expect(() => encode(spec, parts, 1.5, stream(5, 'q'))).toThrow(/integer/);
    expect(() => encode(spec, [parts[0]!, [Number.NaN], parts[2]!], 1, stream(5, 'q'))).toThrow(
      /weight: value 0/,
    );
    expect(() => encode(spec, [parts[0]!, parts[2]!], 1, stream(5, 'q'))).toThrow(/3 parts/);
  });

  it('secure aggregation of encodings decodes to the float sum within the bound, survivors only', () => {
    const inputs = Array.from(
      { length: HOSPITALS },
      (_, u) =>
        encode(spec, hospitalParts(u), weights[u]!, stream(6, 'quantise', `hospital-${u + 1}`, 'round-1'))
          .vector,
    );
    const run = runSecAggRound({
      threshold: 5,
      inputs,
      seed: 6,
      round: 1,
      drops: new Map([[2, 'after-sharing']]),
    });
    expect(Array.from(run.result.survivors)).toEqual([1, 3, 4, 5, 6, 7, 8]);
    expect(run.result.sum).toEqual(plainSum(inputs, run.result.survivors));
    const decoded = decode(spec, run.result.sum);
    const survivorWeight = weights.reduce((a, w, u) => (u === 1 ? a : a + w), 0);
    expect(decoded[1]![0]).toBe(survivorWeight);
    const p = spec.parts[0]!;
    const values = Array.from({ length: HOSPITALS }, (_, u) => hospitalParts(u)[0]!);
    for (let i = 0; i < p.length; i++) {
      let exact = 0;
      for (const u of run.result.survivors) {
        exact += weights[u - 1]! * Math.max(-p.range, Math.min(p.range, values[u - 1]![i]!));
      }
      expect(Math.abs(decoded[0]![i]! - exact)).toBeLessThanOrEqual(
        quantisationErrorBound(p, BITS, survivorWeight),
      );
    }
  });
});
