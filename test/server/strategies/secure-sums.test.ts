import { describe, expect, it } from 'vitest';
import { secureContribution } from '../../../src/clients/privacy/secure-contribution.ts';
import { stream } from '../../../src/common/rng.ts';
import { decode, quantisationStep } from '../../../src/common/secagg/quantise.ts';
import { SCALAR_TERMS, type SecureRoundSettings } from '../../../src/protocol/secure-sums.ts';
import { FedAdam } from '../../../src/server/strategies/fedadam.ts';
import { FedAvg } from '../../../src/server/strategies/fedavg.ts';
import { FedAvgM } from '../../../src/server/strategies/fedavgm.ts';
import { FedMedian } from '../../../src/server/strategies/fedmedian.ts';
import { FedNova } from '../../../src/server/strategies/fednova.ts';
import { QFedAvg } from '../../../src/server/strategies/qfedavg.ts';
import { Scaffold } from '../../../src/server/strategies/scaffold.ts';
import type { FitResult, Strategy } from '../../../src/server/strategies/strategy.ts';
import { base } from './helpers.ts';

const P = 6;
const BITS = 24;
const RANGE = 2;

/** Four hospitals' replies to one round from `global`: parameters, control update, counts, steps and losses. */
function replies(global: Float32Array): FitResult[] {
  const rng = stream(11, 'secure-sums-test');
  return [30, 45, 12, 60].map((n, k) => {
    const parameters = Float32Array.from(global, (g) => g + (rng.next() - 0.5));
    const control = Float32Array.from({ length: P }, () => rng.next() - 0.5);
    return {
      hospital: `h${k + 1}`,
      reply: {
        vectors: { parameters, control },
        numExamples: n,
        metrics: { local_steps: 2 + k, initial_loss: 0.4 + 0.1 * k },
      },
    };
  });
}

/**
 * What the coordinator would decode from the hospitals' masked contributions: each hospital encodes its
 * terms as in its worker, and the sum of the encodings (the masks cancel) is decoded.
 */
function secureSums(strategy: Strategy, global: Float32Array, results: readonly FitResult[]) {
  const sums = strategy.sums!;
  const parts = sums.parts.map((p) => ({
    ...p,
    length: SCALAR_TERMS.includes(p.term) ? 1 : P,
    range: SCALAR_TERMS.includes(p.term) ? 100 : RANGE,
  }));
  const maxWeight = sums.weighting === 'one' ? 1 : 64;
  const total = new Uint32Array(parts.reduce((s, p) => s + p.length, 0));
  for (const r of results) {
    const settings: SecureRoundSettings = {
      index: 1,
      participants: results.length,
      threshold: 3,
      session: 'test',
      bits: BITS,
      maxWeight,
      weighting: sums.weighting,
      parts,
      ...(sums.fairness === undefined ? {} : { fairness: sums.fairness }),
    };
    const { encoded } = secureContribution(
      r.reply,
      global,
      settings,
      base.training.learningRate,
      stream(1, r.hospital),
    );
    for (let i = 0; i < total.length; i++) total[i] = (total[i]! + encoded[i]!) >>> 0;
  }
  const decoded = decode({ bits: BITS, maxWeight, parts }, total);
  const weights = results.map((r) => (sums.weighting === 'one' ? 1 : r.reply.numExamples));
  return {
    values: Object.fromEntries(parts.map((p, i) => [p.name, decoded[i]!])),
    totalWeight: weights.reduce((a, b) => a + b, 0),
    contributors: results.map((r) => ({ hospital: r.hospital, numExamples: r.reply.numExamples })),
  };
}

const make: Record<string, () => Strategy> = {
  fedavg: () => new FedAvg(base),
  fedavgm: () => new FedAvgM({ ...base, serverLearningRate: 0.7, serverMomentum: 0.9 }),
  fedadam: () => new FedAdam({ ...base, eta: 0.1 }),
  fednova: () => new FedNova(base),
  qfedavg: () => new QFedAvg({ ...base, q: 0.5 }),
  'scaffold (examples)': () => new Scaffold({ ...base, serverLearningRate: 1, hospitals: 5 }),
  'scaffold (uniform)': () =>
    new Scaffold({ ...base, serverLearningRate: 1, hospitals: 5, weighting: 'uniform' }),
};

describe('strategies that need only sums give their plain result from the secure sums', () => {
  it.each(Object.keys(make))('%s, over two rounds (server state included)', (name) => {
    const plain = make[name]!();
    const secure = make[name]!();
    let a: Float32Array = Float32Array.from({ length: P }, (_, i) => 0.1 * i - 0.2);
    let b: Float32Array = a.slice();
    for (let round = 1; round <= 2; round++) {
      const results = replies(a);
      const tolerance = 40 * quantisationStep(100, BITS);
      if (secure.broadcastVectors !== undefined) {
        const c = plain.broadcastVectors!(round, a).control!;
        secure
          .broadcastVectors(round, b)
          .control!.forEach((v, i) => expect(Math.abs(v - c[i]!)).toBeLessThan(tolerance));
      }
      a = plain.aggregateFit(round, a, results, []);
      b = secure.aggregateSums!(round, b, secureSums(secure, b, results));
      // 24-bit quantisation of ranges 2 and 100: the sums agree to a few quantisation steps.
      b.forEach((v, i) => expect(Math.abs(v - a[i]!)).toBeLessThan(tolerance));
    }
  });

  it('declares no sums for a strategy that needs each update', () => {
    expect(new FedMedian(base).sums).toBeUndefined();
  });
});
