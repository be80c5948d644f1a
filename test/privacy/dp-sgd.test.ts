import { describe, expect, it } from 'vitest';
import { l2Norm } from '../../src/common/dp/clip.ts';
import { stream } from '../../src/common/rng.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import { createFusedTrainer } from '../../src/models/fused-trainer.ts';
import { poissonSample } from '../../src/models/dp-sgd.ts';
import type { Examples } from '../../src/models/types.ts';
import type { ModelConfig } from '../../src/scenario/schema.ts';
import { loadScenario, parseScenario } from '../../src/scenario/load.ts';

const mlp: ModelConfig = { kind: 'mlp', hidden: [16, 8], activation: 'relu' };
const shape = [5];

/** n examples with seeded inputs, some scaled up so their gradients are far beyond any small C. */
function examples(n: number, seed: number, scale = 1): Examples {
  const r = stream(seed, 'dp-sgd-test');
  const x = new Float32Array(n * 5);
  for (let i = 0; i < x.length; i++) x[i] = r.normal() * (i % 7 === 0 ? 40 * scale : scale);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) y[i] = r.next() < 0.5 ? 1 : 0;
  return { x, y, n, inputShape: shape };
}

function row(d: Examples, i: number): Examples {
  return { x: d.x.slice(i * 5, i * 5 + 5), y: d.y.slice(i, i + 1), n: 1, inputShape: shape };
}

function trainer(model: ModelConfig = mlp) {
  const t = createFusedTrainer(model, shape);
  t.setParameters(initialParameters(t.spec, stream(3, 'init')));
  return t;
}

describe('DP-SGD in the fused trainer', () => {
  it('clips every per-example gradient to norm ≤ C exactly, and the sum is the sum of the clipped ones', () => {
    for (const model of [mlp, { kind: 'logistic' } as ModelConfig]) {
      const t = trainer(model);
      const d = examples(24, 1, 30);
      const singles: Float32Array[] = [];
      for (const c of [1e-3, 0.1, 1, 7.5]) {
        for (let i = 0; i < d.n; i++) {
          const g = t.clippedGradientSum(row(d, i), c);
          expect(l2Norm(g)).toBeLessThanOrEqual(c);
          const raw = l2Norm(t.clippedGradientSum(row(d, i), Infinity));
          // Examples within C keep their gradient; those beyond it are clipped to C (within the safety margin).
          if (raw > c) expect(l2Norm(g)).toBeGreaterThan(c * (1 - 1e-5));
          if (c === 0.1) singles.push(g);
        }
      }
      const sum = t.clippedGradientSum(d, 0.1);
      const expected = new Float64Array(sum.length);
      for (const g of singles) for (let j = 0; j < g.length; j++) expected[j]! += g[j]!;
      for (let j = 0; j < sum.length; j++) expect(sum[j]).toBeCloseTo(expected[j]!, 5);
    }
  });

  it('without noise and with C = ∞ at q = 1, a step is bit for bit the plain full-batch step', () => {
    const d = examples(40, 2);
    for (const optimizer of ['sgd', 'adam'] as const) {
      const plain = trainer();
      const dp = trainer();
      const base = { localEpochs: 1, batchSize: d.n, learningRate: 0.1, optimizer };
      plain.train(d, base, stream(1, 'plain'));
      dp.train(
        d,
        { ...base, dpSgd: { clipNorm: Infinity, noiseMultiplier: 0, sampleRate: 1 } },
        stream(1, 'dp'),
      );
      expect(Buffer.from(dp.getParameters().buffer).equals(Buffer.from(plain.getParameters().buffer))).toBe(
        true,
      );
    }
  });

  it('draws its Poisson samples and noise from the seeded stream only', () => {
    const d = examples(60, 3);
    const run = (seed: number) => {
      const t = trainer();
      const r = t.train(
        d,
        {
          localEpochs: 2,
          batchSize: 1,
          learningRate: 0.1,
          optimizer: 'sgd',
          dpSgd: { clipNorm: 1, noiseMultiplier: 1.1, sampleRate: 0.25 },
        },
        stream(seed, 'train'),
      );
      expect(r.steps).toBe(8);
      return t.getParameters();
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

describe('Poisson sampling of minibatches', () => {
  it('takes each example independently with probability q (frequencies and batch-size variance)', () => {
    const n = 50;
    const q = 0.2;
    const draws = 20_000;
    const out = new Uint32Array(n);
    const hits = new Float64Array(n);
    const r = stream(9, 'poisson-test');
    let sum = 0;
    let squares = 0;
    for (let k = 0; k < draws; k++) {
      const m = poissonSample(n, q, r, out);
      for (let i = 0; i < m; i++) hits[out[i]!]!++;
      for (let i = 1; i < m; i++) expect(out[i]!).toBeGreaterThan(out[i - 1]!);
      sum += m;
      squares += m * m;
    }
    // Each frequency within 5 standard errors (0.0028) of q; batch size mean nq = 10, variance nq(1 − q) = 8.
    for (const h of hits) expect(Math.abs(h / draws - q)).toBeLessThan(0.014);
    const mean = sum / draws;
    expect(mean).toBeCloseTo(10, 0);
    expect(squares / draws - mean * mean).toBeGreaterThan(7.2);
    expect(squares / draws - mean * mean).toBeLessThan(8.8);
  });
});

describe('DP-SGD settings', () => {
  const shipped = loadScenario('scenarios/membership-audit.json');
  const dpSgd = { clipNorm: 1, noiseMultiplier: 1, sampleRate: 0.1 };
  const issue = (changes: Record<string, unknown>) => {
    try {
      parseScenario({ ...shipped, privacy: { dpSgd }, ...changes });
      return 'valid';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses tfjs backends, conv nets and secure aggregation, naming the field', () => {
    expect(issue({})).toBe('valid');
    for (const backend of ['wasm', 'cpu', 'tensorflow'])
      expect(issue({ backend })).toMatch(/\$\.backend: expected js or js-f32 with privacy\.dpSgd/);
    expect(issue({ privacy: { dpSgd, secureAggregation: {} } })).toMatch(/privacy\.dpSgd/);
  });

  it('refuses a sample rate whose epoch would never end (round(1/q) minibatches), naming the field', () => {
    expect(issue({ privacy: { dpSgd: { ...dpSgd, sampleRate: 1e-9 } } })).toMatch(
      /privacy\.dpSgd\.sampleRate.*at least 1e-4/,
    );
  });
});
