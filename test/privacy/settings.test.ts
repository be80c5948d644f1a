import { describe, expect, it } from 'vitest';
import { validateDpSettings, type DpSettings } from '../../src/common/dp/settings.ts';
import { computeRdp, computeTippingRdp, tippingRisk } from '../../src/common/dp/rdp.ts';
import { PrivacySettingError } from '../../src/common/privacy-setting-error.ts';
import { validateQuantisation } from '../../src/common/secagg/quantise.ts';
import { minimumNeighbours, validateSecAggSettings } from '../../src/common/secagg/settings.ts';

function settingError(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (e) {
    if (e instanceof PrivacySettingError) return [e.field, e.expected];
    throw e;
  }
  throw new Error('accepted');
}

const SA = 'privacy.secureAggregation';
const DP = 'privacy.differentialPrivacy';

describe('privacy settings', () => {
  it('secure aggregation: t ≤ n/2, t > n, too few hospitals, and a bad or too small k are refused', () => {
    expect(() => validateSecAggSettings({ participants: 10, threshold: 6 })).not.toThrow();
    expect(() => validateSecAggSettings({ participants: 10, threshold: 10 })).not.toThrow();
    expect(settingError(() => validateSecAggSettings({ participants: 10, threshold: 5 }))).toEqual([
      `${SA}.threshold`,
      "an integer in [6, 10] (more than half of each hospital's group of 10, at most all of it)",
    ]);
    expect(settingError(() => validateSecAggSettings({ participants: 10, threshold: 11 }))[0]).toBe(
      `${SA}.threshold`,
    );
    expect(settingError(() => validateSecAggSettings({ participants: 9, threshold: 4.5 }))[0]).toBe(
      `${SA}.threshold`,
    );
    expect(settingError(() => validateSecAggSettings({ participants: 2, threshold: 2 }))[1]).toBe(
      'an integer ≥ 3',
    );

    expect([minimumNeighbours(10), minimumNeighbours(50), minimumNeighbours(200)]).toEqual([4, 6, 8]);
    expect(() => validateSecAggSettings({ participants: 200, threshold: 5, neighbours: 8 })).not.toThrow();
    expect(
      settingError(() => validateSecAggSettings({ participants: 200, threshold: 4, neighbours: 6 })),
    ).toEqual([`${SA}.neighbours`, 'an even integer in [8, 199] for 200 hospitals']);
    expect(
      settingError(() => validateSecAggSettings({ participants: 200, threshold: 5, neighbours: 9 }))[0],
    ).toBe(`${SA}.neighbours`);
    expect(
      settingError(() => validateSecAggSettings({ participants: 200, threshold: 4, neighbours: 8 })),
    ).toEqual([
      `${SA}.threshold`,
      "an integer in [5, 9] (more than half of each hospital's group of 9, at most all of it)",
    ]);
    expect(() => validateSecAggSettings({ participants: 4, threshold: 2, neighbours: 2 })).not.toThrow();
    expect(
      settingError(() => validateSecAggSettings({ participants: 4, threshold: 3, neighbours: 4 })),
    ).toEqual([`${SA}.neighbours`, 'an even integer in [2, 3] for 4 hospitals']);
  });

  it('quantisation: bits that can overflow are refused, naming bits and maxWeight', () => {
    const spec = { bits: 16, maxWeight: 65_536, parts: [{ name: 'p', length: 1, range: 1 }] };
    expect(() => validateQuantisation(spec, 1)).not.toThrow();
    const [field, expected] = settingError(() => validateQuantisation(spec, 2));
    expect(field).toBe(`${SA}.bits`);
    expect(expected).toBe(
      `at most 15 for 2 hospitals with ${SA}.maxWeight = 65536 (bits + ⌈log₂(hospitals × maxWeight)⌉ ≤ 32, or the sum can overflow)`,
    );
  });

  it('differential privacy: z ≤ 0, C ≤ 0, q outside (0, 1], budget ε ≤ 0 and δ outside (0, 1) are refused', () => {
    const ok: DpSettings = {
      clipNorm: 1,
      noiseMultiplier: 1.1,
      sampleRate: 0.5,
      budget: { epsilon: 8, delta: 1e-5 },
    };
    expect(() => validateDpSettings(ok)).not.toThrow();
    const bad: [Partial<DpSettings>, string, string][] = [
      [{ noiseMultiplier: 0 }, `${DP}.noiseMultiplier`, 'a finite number > 0'],
      [{ noiseMultiplier: -1 }, `${DP}.noiseMultiplier`, 'a finite number > 0'],
      [{ clipNorm: 0 }, `${DP}.clipNorm`, 'a finite number > 0'],
      [{ clipNorm: Infinity }, `${DP}.clipNorm`, 'a finite number > 0'],
      [{ sampleRate: 0 }, `${DP}.sampleRate`, 'in (0, 1]'],
      [{ sampleRate: 1.5 }, `${DP}.sampleRate`, 'in (0, 1]'],
      [{ weightCap: 0 }, `${DP}.weightCap`, 'a finite number > 0'],
      [{ budget: { epsilon: 0, delta: 1e-5 } }, `${DP}.budget.epsilon`, 'a finite number > 0'],
      [{ budget: { epsilon: -2, delta: 1e-5 } }, `${DP}.budget.epsilon`, 'a finite number > 0'],
      [{ budget: { epsilon: 1, delta: 0 } }, `${DP}.budget.delta`, 'in (0, 1)'],
      [{ budget: { epsilon: 1, delta: 1 } }, `${DP}.budget.delta`, 'in (0, 1)'],
    ];
    for (const [change, field, expected] of bad) {
      expect(settingError(() => validateDpSettings({ ...ok, ...change }))).toEqual([field, expected]);
    }
    expect(settingError(() => computeRdp(0.1, 0, 1, [2]))).toEqual([
      'noise multiplier z',
      'a finite number > 0',
    ]);
  });

  it('the RDP accountant: steps that are not a whole number ≥ 0 are refused, with or without a tipping risk', () => {
    const risk = tippingRisk(0.1, 10, 3);
    for (const steps of [-1, 1.5, Number.NaN]) {
      expect(settingError(() => computeRdp(0.1, 1, steps, [2]))).toEqual(['steps', 'an integer ≥ 0']);
      expect(settingError(() => computeTippingRdp(0.1, 1, steps, [2], risk))).toEqual([
        'steps',
        'an integer ≥ 0',
      ]);
      expect(
        settingError(() => computeTippingRdp(0.1, 1, steps, [2], { minimum: 3, probability: 0 })),
      ).toEqual(['steps', 'an integer ≥ 0']);
    }
  });
});
