import { describe, expect, it } from 'vitest';
import { Bulyan, bulyanSelect, closestToMedianMean } from '../../../src/server/strategies/bulyan.ts';
import { FedMedian } from '../../../src/server/strategies/fedmedian.ts';
import { FedTrimmedAvg } from '../../../src/server/strategies/fedtrimmedavg.ts';
import { Krum, krumScores, MultiKrum } from '../../../src/server/strategies/krum.ts';
import { base, expectNear, fit, fits } from './helpers.ts';

const zero = (n: number) => new Float32Array(n);

describe('FedMedian', () => {
  const s = new FedMedian(base);

  it('takes the middle value of each coordinate for an odd count, ignoring example counts', () => {
    const results = [fit('a', [1, 5, -2], 1000), fit('b', [3, 0, 4], 1), fit('c', [2, 9, 1], 1)];
    // columns: {1,3,2} → 2; {5,0,9} → 5; {-2,4,1} → 1
    expect(Array.from(s.aggregateFit(1, zero(3), results, []))).toEqual([2, 5, 1]);
  });

  it('averages the two middle values for an even count', () => {
    const results = fits([
      [1, 5, -2],
      [3, 0, 4],
      [2, 9, 1],
      [10, -1, 0],
    ]);
    // sorted columns: [1,2,3,10] → 2.5; [-1,0,5,9] → 2.5; [-2,0,1,4] → 0.5
    expect(Array.from(s.aggregateFit(1, zero(3), results, []))).toEqual([2.5, 2.5, 0.5]);
  });
});

describe('FedTrimmedAvg', () => {
  it('cuts ⌊βn⌋ values from each end: β = 0.2, n = 5 cuts one', () => {
    const s = new FedTrimmedAvg({ ...base, beta: 0.2 });
    const results = fits([
      [1, -50],
      [100, 0],
      [2, 1],
      [4, 6],
      [3, 2],
    ]);
    // [1,2,3,4,100] → mean(2,3,4) = 3; [-50,0,1,2,6] → mean(0,1,2) = 1
    expect(Array.from(s.aggregateFit(1, zero(2), results, []))).toEqual([3, 1]);
  });

  it('with an even count: β = 0.25, n = 4 cuts one from each end', () => {
    const s = new FedTrimmedAvg({ ...base, beta: 0.25 });
    const results = [fit('a', [1, 7], 50), fit('b', [2, -3]), fit('c', [3, 0]), fit('d', [10, 1])];
    // [1,2,3,10] → 2.5; [-3,0,1,7] → 0.5
    expect(Array.from(s.aggregateFit(1, zero(2), results, []))).toEqual([2.5, 0.5]);
  });

  it('defaults to β = 0.2, which cuts nothing from four values: the plain mean', () => {
    const s = new FedTrimmedAvg(base);
    expect(s.beta).toBe(0.2);
    const results = fits([[1], [2], [3], [10]]);
    expect(Array.from(s.aggregateFit(1, zero(1), results, []))).toEqual([4]);
  });
});

describe('Krum', () => {
  // Five honest hospitals near the origin and two outliers, f = 2, n = 7 = 2f + 3: each score sums the
  // n − f − 2 = 3 smallest squared distances. e = (0.5, 0.5) is 0.5 from each corner: 1.5; a corner is
  // 0.5 from e and 1 from its two neighbours: 2.5; the outliers' scores are in the thousands.
  const honestAndOutliers = [
    [100, 100],
    [0, 0],
    [1, 0],
    [0, 1],
    [0.5, 0.5],
    [1, 1],
    [-100, 50],
  ];

  it('picks the hospital at the centre of the honest cluster despite two outliers', () => {
    const s = new Krum({ ...base, f: 2, clientsPerRound: 7 });
    expect(
      Array.from(
        krumScores(
          fits(honestAndOutliers).map((r) => r.reply.vectors.parameters!),
          2,
        ),
      ).slice(1, 6),
    ).toEqual([2.5, 2.5, 2.5, 1.5, 2.5]);
    expect(Array.from(s.aggregateFit(1, zero(2), fits(honestAndOutliers), []))).toEqual([0.5, 0.5]);
  });

  it('refuses a round with fewer than 2f + 3 replies', () => {
    const s = new Krum({ ...base, f: 2, clientsPerRound: 7 });
    expect(() => s.aggregateFit(4, zero(2), fits(honestAndOutliers.slice(0, 6)), [])).toThrow(
      'krum: round 4 has 6 valid replies, f = 2 needs at least 7',
    );
  });
});

describe('Multi-Krum', () => {
  // 1-D, f = 2, n = 7, 3 neighbours. Squared distances give scores
  // 0: 1+9+36 = 46; 1: 1+4+25 = 30; 3: 4+9+9 = 22; 6: 9+16+25 = 50; 10: 16+49+81 = 146; ±100: ≥ 8100.
  const values = [[0], [100], [1], [3], [6], [-100], [10]];

  it('averages the m best-scored hospitals uniformly, ignoring example counts', () => {
    const s = new MultiKrum({ ...base, f: 2, m: 3, clientsPerRound: 7 });
    const results = fits(values).map((r, k) => ({ ...r, reply: { ...r.reply, numExamples: 10 * k + 1 } }));
    // best three: 3, 1, 0 → 4/3
    expectNear(s.aggregateFit(1, zero(1), results, []), [4 / 3]);
  });

  it('defaults m to n − f', () => {
    const s = new MultiKrum({ ...base, f: 2, clientsPerRound: 7 });
    // best five: 3, 1, 0, 6, 10 → 20 / 5
    expect(Array.from(s.aggregateFit(1, zero(1), fits(values), []))).toEqual([4]);
  });

  it('with m = 1 is Krum', () => {
    const s = new MultiKrum({ ...base, f: 2, m: 1, clientsPerRound: 7 });
    expect(Array.from(s.aggregateFit(1, zero(1), fits(values), []))).toEqual([3]);
  });
});

describe('Bulyan', () => {
  // f = 1, n = 7 = 4f + 3, θ = n − 2f = 5 picks, β = θ − 2f = 3 values kept per coordinate.
  const vectors = [
    [100, -100],
    [0, 2],
    [1, 0],
    [3, 1],
    [5, 4],
    [11, 3],
    [-100, 100],
  ];

  it('selects θ = n − 2f hospitals by repeated Krum, ties going to the earlier hospital', () => {
    // pick 1 (7 left, 4 neighbours): scores (0,2) 166, (1,0) 151, (3,1) 96, (5,4) 111, (11,3) 336 → (3,1)
    // pick 2 (6 left, 3): (0,2) 156, (1,0) 146, (5,4) 98, (11,3) 268 → (5,4)
    // pick 3 (5 left, 2): (0,2) 127, (1,0) 114, (11,3) 231 → (1,0)
    // pick 4 (4 left, 1): (0,2) 122, (11,3) 122 → tie, (0,2) comes first
    // pick 5 (3 left, 1): (100,-100) 18530, (11,3) 18530, (-100,100) 21730 → tie, (100,-100) comes first
    const picked = bulyanSelect(
      vectors.map((v) => new Float32Array(v)),
      1,
    );
    expect(picked).toEqual([3, 4, 2, 1, 0]);
  });

  it('keeps the β values closest to each coordinate median, which drops the outlier Krum let through', () => {
    const s = new Bulyan({ ...base, f: 1, clientsPerRound: 7 });
    // picked: (3,1) (5,4) (1,0) (0,2) (100,-100)
    // x: [0,1,3,5,100], median 3 → 3, 1, 5 → 3;  y: [-100,0,1,2,4], median 1 → 1, 0, 2 → 1
    expect(Array.from(s.aggregateFit(1, zero(2), fits(vectors), []))).toEqual([3, 1]);
  });

  it('breaks ties in distance to the median towards the smaller value', () => {
    // [0,1,3,6,100], median 3, β = 3: 3 (0), 1 (2), then 0 and 6 both at 3 → 0: (3+1+0)/3
    expectNear(
      closestToMedianMean(
        [[0], [1], [3], [6], [100]].map((v) => new Float32Array(v)),
        3,
      ),
      [4 / 3],
    );
  });
});
