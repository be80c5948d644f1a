import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { FedAvg, weightedAverage } from '../../src/server/strategies/fedavg.ts';
import { sampleHospitals } from '../../src/server/sampling.ts';
import { weightedMetricMeans } from '../../src/server/aggregate-metrics.ts';

const training = { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' as const };
const hospitals = ['d', 'a', 'c', 'b', 'e'].map((id) => ({ id, country: id < 'c' ? 'KR' : 'CN' }));

describe('FedAvg', () => {
  it('weights parameters by example counts', () => {
    const avg = weightedAverage(2, [
      { vector: new Float32Array([1, 10]), weight: 1 },
      { vector: new Float32Array([4, -2]), weight: 3 },
    ]);
    expect(Array.from(avg)).toEqual([(1 + 12) / 4, (10 - 6) / 4]);
  });

  it('aggregates fit results through the strategy interface', () => {
    const s = new FedAvg({ fractionFit: 1, fractionEvaluate: 1, minClients: 1, training });
    const global = new Float32Array(2);
    const next = s.aggregateFit(
      1,
      global,
      [
        {
          hospital: 'a',
          reply: { vectors: { parameters: new Float32Array([2, 2]) }, numExamples: 30, metrics: {} },
        },
        {
          hospital: 'b',
          reply: { vectors: { parameters: new Float32Array([4, 0]) }, numExamples: 10, metrics: {} },
        },
      ],
      [],
    );
    expect(Array.from(next)).toEqual([2.5, 1.5]);
  });

  it('rejects nonsense options before any training, naming the option', () => {
    expect(() => new FedAvg({ fractionFit: 0, fractionEvaluate: 1, minClients: 1, training })).toThrow(
      /fractionFit must be in \(0, 1\]/,
    );
    expect(() => new FedAvg({ fractionFit: 1, fractionEvaluate: 1, minClients: 0, training })).toThrow(
      /minClients/,
    );
  });

  it('samples reproducibly, in id order, never fewer than the minimum', () => {
    const a = sampleHospitals(hospitals, 0.4, 1, stream(3, 'sample-fit', 'round-1')).map((h) => h.id);
    const b = sampleHospitals([...hospitals].reverse(), 0.4, 1, stream(3, 'sample-fit', 'round-1')).map(
      (h) => h.id,
    );
    expect(a).toEqual(b);
    expect(a).toHaveLength(2);
    expect([...a].sort()).toEqual(a);
    expect(sampleHospitals(hospitals, 0.2, 3, stream(3, 'x'))).toHaveLength(3);
    expect(sampleHospitals(hospitals, 1, 1, stream(3, 'x')).map((h) => h.id)).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    const draws = new Set(
      Array.from({ length: 20 }, (_, r) =>
        sampleHospitals(hospitals, 0.4, 1, stream(3, 'r', r))
          .map((h) => h.id)
          .join(),
      ),
    );
    expect(draws.size).toBeGreaterThan(3);
  });

  it('averages metrics weighted by examples, leaving out a metric no hospital reports', () => {
    const m = weightedMetricMeans([
      { numExamples: 10, metrics: { loss: 1, auroc: 0.8 } },
      { numExamples: 30, metrics: { loss: 2 } },
    ]);
    expect(m.metrics).toEqual({ loss: 1.75, auroc: 0.8 });
    expect(m.numExamples).toBe(40);
    expect(weightedMetricMeans([{ numExamples: 5, metrics: { loss: 1 } }]).metrics.auroc).toBeUndefined();
  });
});
