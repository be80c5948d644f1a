import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import {
  labelHistogram,
  MIN_PER_HOSPITAL,
  PartitionError,
  partitionIndices,
} from '../../src/clients/data/partition.ts';
import type { PartitionConfig } from '../../src/scenario/schema.ts';

function syntheticLabels(n: number, prevalence: number, name: string): Uint8Array {
  const rng = stream(1, 'test', name);
  return Uint8Array.from({ length: n }, () => (rng.next() < prevalence ? 1 : 0));
}

function positiveShare(labels: Uint8Array, indices: ArrayLike<number> = labels.map((_, i) => i)): number {
  const [neg, pos] = labelHistogram(labels, indices);
  return pos / (neg + pos);
}

function expectDisjointAndComplete(parts: Uint32Array[], total: number): void {
  const seen = new Uint8Array(total);
  let unordered = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      if (i > 0 && part[i]! <= part[i - 1]!) unordered++;
      if (part[i]! < total) seen[part[i]!]!++;
      else unordered++;
    }
  }
  expect(unordered).toBe(0);
  expect(seen.every((c) => c === 1)).toBe(true);
}

const SIZES = [400, 900, 250, 1200, 750, 500];
const TOTAL = SIZES.reduce((a, b) => a + b, 0);
const LABELS = syntheticLabels(TOTAL, 0.3, 'pool');

const CONFIGS: PartitionConfig[] = [
  { kind: 'natural' },
  { kind: 'iid' },
  { kind: 'dirichlet', alpha: 0.01, minPerHospital: 2 },
  { kind: 'dirichlet', alpha: 0.5, minPerHospital: 2 },
  { kind: 'dirichlet', alpha: 1000, minPerHospital: 2 },
  { kind: 'quantity-skew', distribution: 'lognormal', sigma: 2, exponent: 1.5 },
  { kind: 'quantity-skew', distribution: 'power-law', sigma: 1, exponent: 2 },
  { kind: 'pathological', classesPerClient: 1 },
  { kind: 'pathological', classesPerClient: 2 },
];

describe('partitionIndices', () => {
  it.each(CONFIGS.map((c) => [JSON.stringify(c), c] as const))(
    '%s: disjoint, complete, ascending, at least MIN_PER_HOSPITAL each',
    (_, config) => {
      const parts = partitionIndices(LABELS, SIZES, config, stream(3, 'partition'));
      expect(parts).toHaveLength(SIZES.length);
      expectDisjointAndComplete(parts, TOTAL);
      for (const p of parts) expect(p.length).toBeGreaterThanOrEqual(MIN_PER_HOSPITAL);
    },
  );

  it.each(CONFIGS.map((c) => [JSON.stringify(c), c] as const))(
    '%s: deterministic per stream name',
    (_, config) => {
      const a = partitionIndices(LABELS, SIZES, config, stream(3, 'partition'));
      const b = partitionIndices(LABELS, SIZES, config, stream(3, 'partition'));
      expect(b).toEqual(a);
      if (config.kind !== 'natural') {
        const c = partitionIndices(LABELS, SIZES, config, stream(4, 'partition'));
        expect(c).not.toEqual(a);
      }
    },
  );

  it('natural gives each hospital its own contiguous block', () => {
    const parts = partitionIndices(LABELS, SIZES, { kind: 'natural' }, stream(1, 'partition'));
    let offset = 0;
    SIZES.forEach((s, h) => {
      expect(parts[h]![0]).toBe(offset);
      expect(parts[h]![s - 1]).toBe(offset + s - 1);
      offset += s;
    });
  });

  it('iid keeps the declared sizes exactly and label shares near the global share', () => {
    const labels = syntheticLabels(20_000, 0.2, 'iid');
    const sizes = [2000, 8000, 4000, 6000];
    const parts = partitionIndices(labels, sizes, { kind: 'iid' }, stream(5, 'partition'));
    expect(parts.map((p) => p.length)).toEqual(sizes);
    const global = positiveShare(labels);
    for (const p of parts) expect(Math.abs(positiveShare(labels, p) - global)).toBeLessThan(0.03);
    // Not the natural blocks.
    expect(parts[0]![parts[0]!.length - 1]!).toBeGreaterThan(2000);
  });

  it('dirichlet with alpha → 0 makes hospitals nearly single-class', () => {
    const labels = syntheticLabels(4000, 0.4, 'dir-small');
    const sizes = Array.from({ length: 10 }, () => 400);
    let meanMaxShare = 0;
    let runs = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const parts = partitionIndices(
        labels,
        sizes,
        { kind: 'dirichlet', alpha: 0.01, minPerHospital: 2 },
        stream(seed, 'partition'),
      );
      for (const p of parts) {
        const [neg, pos] = labelHistogram(labels, p);
        meanMaxShare += Math.max(neg, pos) / (neg + pos);
        runs++;
      }
    }
    expect(meanMaxShare / runs).toBeGreaterThan(0.9);
  });

  it('dirichlet with alpha → ∞ gives each hospital the global label share', () => {
    const labels = syntheticLabels(5000, 0.3, 'dir-large');
    const sizes = [1000, 1000, 1000, 1000, 1000];
    const parts = partitionIndices(
      labels,
      sizes,
      { kind: 'dirichlet', alpha: 1000, minPerHospital: 2 },
      stream(6, 'partition'),
    );
    const global = positiveShare(labels);
    for (const p of parts) {
      expect(Math.abs(positiveShare(labels, p) - global)).toBeLessThan(0.05);
      expect(Math.abs(p.length - 1000)).toBeLessThan(150);
    }
  });

  it('dirichlet tops up starved hospitals to MIN_PER_HOSPITAL', () => {
    const labels = syntheticLabels(400, 0.5, 'dir-starved');
    const sizes = Array.from({ length: 40 }, () => 10);
    const parts = partitionIndices(
      labels,
      sizes,
      { kind: 'dirichlet', alpha: 0.01, minPerHospital: 2 },
      stream(7, 'partition'),
    );
    expectDisjointAndComplete(parts, 400);
    expect(Math.min(...parts.map((p) => p.length))).toBe(MIN_PER_HOSPITAL);
  });

  it('dirichlet with minPerHospital draws again until every hospital holds that many, still skewed', () => {
    const labels = syntheticLabels(3000, 0.4, 'dir-min');
    const sizes = Array.from({ length: 8 }, () => 375);
    const config = { kind: 'dirichlet', alpha: 0.1, minPerHospital: 40 } as const;
    let maxShare = 0;
    for (const seed of [1, 2, 3]) {
      const parts = partitionIndices(labels, sizes, config, stream(seed, 'partition'));
      expectDisjointAndComplete(parts, 3000);
      expect(Math.min(...parts.map((p) => p.length))).toBeGreaterThanOrEqual(40);
      for (const p of parts) {
        const [neg, pos] = labelHistogram(labels, p);
        maxShare += Math.max(neg, pos) / (neg + pos) / (3 * parts.length);
      }
      const again = partitionIndices(labels, sizes, config, stream(seed, 'partition'));
      expect(again).toEqual(parts);
    }
    expect(maxShare).toBeGreaterThan(0.85);
    const unconstrained = partitionIndices(
      labels,
      sizes,
      { ...config, minPerHospital: 2 },
      stream(1, 'partition'),
    );
    expect(Math.min(...unconstrained.map((p) => p.length))).toBeLessThan(40);
  });

  it('dirichlet without a floor draws as fedmed did before minPerHospital existed (same partitions)', () => {
    // Sizes measured with the partitioner of commit 4d5d5ff on the same labels and streams.
    const rng = stream(11, 'labels');
    const labels = Uint8Array.from({ length: 600 }, () => (rng.next() < 0.3 ? 1 : 0));
    const sizes = (seed: number) =>
      partitionIndices(
        labels,
        [150, 150, 150, 150],
        { kind: 'dirichlet', alpha: 0.5, minPerHospital: 2 },
        stream(seed, 'partition'),
      )
        .map((p) => p.length)
        .join(',');
    expect(sizes(7)).toBe('160,322,22,96');
    expect(sizes(8)).toBe('360,51,184,5');
  });

  it('dirichlet rejects a minPerHospital the pool cannot meet, naming it', () => {
    const labels = syntheticLabels(100, 0.5, 'dir-min-bad');
    const sizes = [50, 50];
    expect(() =>
      partitionIndices(labels, sizes, { kind: 'dirichlet', alpha: 1, minPerHospital: 60 }, stream(1, 'p')),
    ).toThrow(/^minPerHospital: 60 records for each of 2 hospitals needs 120, the pool has 100$/);
    expect(() =>
      partitionIndices(
        labels,
        sizes,
        { kind: 'dirichlet', alpha: 0.001, minPerHospital: 50 },
        stream(1, 'p'),
      ),
    ).toThrow(/^minPerHospital: no Dirichlet\(0\.001\) draw in 10000 gave every hospital 50 records/);
  });

  it('dirichlet with an alpha below MIN_DIRICHLET_ALPHA ends with an error naming alpha instead of looping', () => {
    const labels = syntheticLabels(100, 0.5, 'dir-tiny');
    for (const alpha of [5e-324, 1e-320]) {
      expect(() =>
        partitionIndices(labels, [50, 50], { kind: 'dirichlet', alpha, minPerHospital: 2 }, stream(1, 'p')),
      ).toThrow(/^alpha: expected a number from 0\.001/);
    }
  });

  it('quantity skew (lognormal, sigma 2) spreads sizes widely and keeps the total', () => {
    const labels = syntheticLabels(50_000, 0.1, 'qs');
    const sizes = Array.from({ length: 20 }, () => 2500);
    const parts = partitionIndices(
      labels,
      sizes,
      { kind: 'quantity-skew', distribution: 'lognormal', sigma: 2, exponent: 1.5 },
      stream(8, 'partition'),
    );
    const lengths = parts.map((p) => p.length);
    expect(lengths.reduce((a, b) => a + b, 0)).toBe(50_000);
    expect(Math.max(...lengths) / Math.min(...lengths)).toBeGreaterThan(50);
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(MIN_PER_HOSPITAL);
  });

  it('quantity skew (power-law) assigns the ranked sizes in a seeded order', () => {
    const labels = syntheticLabels(10_000, 0.1, 'qs-pl');
    const sizes = [2500, 2500, 2500, 2500];
    const config: PartitionConfig = {
      kind: 'quantity-skew',
      distribution: 'power-law',
      sigma: 1,
      exponent: 1,
    };
    const lengths = partitionIndices(labels, sizes, config, stream(9, 'partition')).map((p) => p.length);
    // Weights 1, 1/2, 1/3, 1/4 → 4800, 2400, 1600, 1200 in some order.
    expect([...lengths].sort((a, b) => b - a)).toEqual([4800, 2400, 1600, 1200]);
    const orders = new Set<string>();
    for (let seed = 0; seed < 10; seed++) {
      orders.add(
        partitionIndices(labels, sizes, config, stream(seed, 'partition'))
          .map((p) => p.length)
          .join(),
      );
    }
    expect(orders.size).toBeGreaterThan(1);
  });

  it('pathological k=1 gives each hospital a single class and holds both classes', () => {
    const labels = syntheticLabels(3000, 0.25, 'path');
    const sizes = [500, 500, 500, 500, 500, 500];
    for (const seed of [1, 2, 3]) {
      const parts = partitionIndices(
        labels,
        sizes,
        { kind: 'pathological', classesPerClient: 1 },
        stream(seed, 'partition'),
      );
      expectDisjointAndComplete(parts, 3000);
      const held = new Set<number>();
      for (const p of parts) {
        const [neg, pos] = labelHistogram(labels, p);
        expect(neg === 0 || pos === 0).toBe(true);
        held.add(pos > 0 ? 1 : 0);
      }
      expect([...held].sort()).toEqual([0, 1]);
      // Each class split evenly among its holders.
      for (const cls of [0, 1]) {
        const lengths = parts.filter((p) => labels[p[0]!] === cls).map((p) => p.length);
        expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
      }
    }
  });

  it('pathological k=2 is the same as iid', () => {
    const a = partitionIndices(LABELS, SIZES, { kind: 'pathological', classesPerClient: 2 }, stream(2, 'p'));
    const b = partitionIndices(LABELS, SIZES, { kind: 'iid' }, stream(2, 'p'));
    expect(a).toEqual(b);
  });

  describe('rejects impossible inputs, naming the parameter', () => {
    const rng = (): ReturnType<typeof stream> => stream(1, 'partition');
    const labels = syntheticLabels(100, 0.3, 'bad');
    const cases: [string, () => unknown, string][] = [
      [
        'sizes not summing to the total',
        () => partitionIndices(labels, [50, 40], { kind: 'iid' }, rng()),
        'sizes',
      ],
      ['no hospitals', () => partitionIndices(labels, [], { kind: 'iid' }, rng()), 'sizes'],
      ['a fractional size', () => partitionIndices(labels, [50.5, 49.5], { kind: 'iid' }, rng()), 'sizes'],
      [
        'a size below the minimum',
        () => partitionIndices(labels, [99, 1], { kind: 'natural' }, rng()),
        'sizes',
      ],
      [
        'fewer records than 2 × hospitals',
        () =>
          partitionIndices(
            new Uint8Array(3),
            [2, 1],
            { kind: 'dirichlet', alpha: 1, minPerHospital: 2 },
            rng(),
          ),
        'labels',
      ],
      [
        'a label other than 0 or 1',
        () => partitionIndices(Uint8Array.from([0, 1, 2, 0]), [2, 2], { kind: 'iid' }, rng()),
        'labels',
      ],
      [
        'a non-positive alpha',
        () => partitionIndices(labels, [50, 50], { kind: 'dirichlet', alpha: 0, minPerHospital: 2 }, rng()),
        'alpha',
      ],
      [
        'a non-finite sigma',
        () =>
          partitionIndices(
            labels,
            [50, 50],
            { kind: 'quantity-skew', distribution: 'lognormal', sigma: Number.NaN, exponent: 1 },
            rng(),
          ),
        'sigma',
      ],
      [
        'a negative exponent',
        () =>
          partitionIndices(
            labels,
            [50, 50],
            { kind: 'quantity-skew', distribution: 'power-law', sigma: 1, exponent: -1 },
            rng(),
          ),
        'exponent',
      ],
      [
        'a single class per client with one hospital',
        () => partitionIndices(labels, [100], { kind: 'pathological', classesPerClient: 1 }, rng()),
        'classesPerClient',
      ],
      [
        'a single class per client without enough records of a class',
        () =>
          partitionIndices(
            Uint8Array.from({ length: 40 }, (_, i) => (i < 3 ? 1 : 0)),
            [10, 10, 10, 10],
            { kind: 'pathological', classesPerClient: 1 },
            rng(),
          ),
        'labels',
      ],
      [
        'three classes per client',
        () => partitionIndices(labels, [50, 50], { kind: 'pathological', classesPerClient: 3 }, rng()),
        'classesPerClient',
      ],
    ];
    it.each(cases)('%s', (_, call, parameter) => {
      expect(call).toThrow(PartitionError);
      expect(call).toThrow(new RegExp(`^${parameter}:`));
    });
  });
});

describe('labelHistogram', () => {
  it('counts negatives and positives among the given indices', () => {
    const labels = Uint8Array.from([0, 1, 1, 0, 1]);
    expect(labelHistogram(labels, [0, 1, 2])).toEqual([1, 2]);
    expect(labelHistogram(labels, new Uint32Array(0))).toEqual([0, 0]);
  });
});
