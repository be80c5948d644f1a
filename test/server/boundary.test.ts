import { describe, expect, it } from 'vitest';
import { admitEvaluateReply, admitFitReply, ProtocolViolation } from '../../src/server/boundary.ts';
import { MAX_METRICS } from '../../src/protocol/messages.ts';

const contract = { hospital: 'kr-seoul-1', parameterLength: 4, vectors: ['parameters'] as const };
const good = () => ({
  vectors: { parameters: new Float32Array([1, 2, 3, 4]) },
  numExamples: 10,
  metrics: { train_loss: 0.5 },
});

function violation(raw: unknown): ProtocolViolation {
  try {
    admitFitReply(raw, contract);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolViolation);
    return e as ProtocolViolation;
  }
  throw new Error('the reply was admitted');
}

describe('the boundary admits only what the protocol declares', () => {
  it('admits a well-formed fit reply unchanged', () => {
    const reply = admitFitReply(good(), contract);
    expect(Array.from(reply.vectors.parameters!)).toEqual([1, 2, 3, 4]);
    expect(reply.numExamples).toBe(10);
    expect(reply.metrics).toEqual({ train_loss: 0.5 });
  });

  it.each([
    [
      'NaN in parameters',
      { ...good(), vectors: { parameters: new Float32Array([1, Number.NaN, 3, 4]) } },
      'vectors.parameters[1]',
    ],
    [
      'an infinity in parameters',
      { ...good(), vectors: { parameters: new Float32Array([1, 2, 3, -Infinity]) } },
      'vectors.parameters[3]',
    ],
    [
      'a vector of the wrong length',
      { ...good(), vectors: { parameters: new Float32Array(3) } },
      'vectors.parameters',
    ],
    ['a Float64Array', { ...good(), vectors: { parameters: new Float64Array(4) } }, 'vectors.parameters'],
    [
      'an undeclared vector',
      { ...good(), vectors: { parameters: new Float32Array(4), controlVariate: new Float32Array(4) } },
      'vectors',
    ],
    ['a missing vector', { ...good(), vectors: {} }, 'vectors.parameters'],
    [
      'rows smuggled into metrics',
      { ...good(), metrics: { train_loss: 0.5, rows: [[63, 1, 27.4]] } },
      'metrics.rows',
    ],
    ['a string metric', { ...good(), metrics: { note: 'age 63' } }, 'metrics.note'],
    ['a NaN metric', { ...good(), metrics: { auroc: Number.NaN } }, 'metrics.auroc'],
    [
      'too many metrics',
      {
        ...good(),
        metrics: Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i])),
      },
      'metrics',
    ],
    ['a fractional count', { ...good(), numExamples: 10.5 }, 'numExamples'],
    ['a zero count', { ...good(), numExamples: 0 }, 'numExamples'],
    ['an extra top-level field', { ...good(), patients: [1, 2] }, 'fit reply'],
    ['an array instead of a reply', [1, 2, 3], 'fit reply'],
  ])('rejects %s, naming the hospital and the field', (_what, raw, field) => {
    const e = violation(raw);
    expect(e.hospital).toBe('kr-seoul-1');
    expect(e.field).toBe(field);
    expect(e.message).toMatch(/^hospital kr-seoul-1: /);
  });

  it('never echoes a patient value', () => {
    for (const raw of [
      { ...good(), metrics: { rows: [[63.25, 1, 27.4]] } },
      { ...good(), metrics: { note: 'glucose 187.5' } },
      { ...good(), numExamples: 187.5 },
      { ...good(), ['age_63_25']: 1 },
    ]) {
      const text = violation(raw).message;
      for (const value of ['63.25', '27.4', '187.5', '63_25']) expect(text).not.toContain(value);
    }
  });

  it('admits an evaluation reply without auroc and rejects one with extra fields', () => {
    expect(
      admitEvaluateReply(
        { numExamples: 5, metrics: { loss: 0.2, accuracy: 1 }, histogram: histogram(2, 3) },
        'cn-1',
        BINS,
      ).metrics,
    ).toEqual({
      loss: 0.2,
      accuracy: 1,
    });
    expect(() =>
      admitEvaluateReply(
        { numExamples: 5, metrics: {}, histogram: histogram(2, 3), predictions: [0.1] },
        'cn-1',
        BINS,
      ),
    ).toThrow(/hospital cn-1: evaluate reply must be only numExamples, metrics, histogram/);
  });

  it('rejects metrics named like the ones only the coordinator computes', () => {
    expect(() =>
      admitEvaluateReply({ numExamples: 5, metrics: { accuracy: 1, global_auroc: 0.01 } }, 'cn-1'),
    ).toThrow(
      /hospital cn-1: metrics\.global_auroc must be not named global_… \(the coordinator computes those\) \(got a reserved name\)/,
    );
  });

  it('admits a score histogram of the declared bins of integer counts per class adding up to numExamples, and nothing else', () => {
    const reply = (h: unknown, numExamples = 5) => ({ numExamples, metrics: {}, histogram: h });
    expect(admitEvaluateReply(reply(histogram(2, 3)), 'kr-1', BINS).histogram).toEqual(histogram(2, 3));
    const bad: [unknown, RegExp][] = [
      [undefined, /hospital kr-1: histogram must be an object \(got nothing\)/],
      [{ positives: histogram(2, 3).positives }, /histogram\.negatives must be present/],
      [{ ...histogram(2, 3), extra: [] }, /histogram must be only positives, negatives/],
      [
        { ...histogram(2, 3), positives: [2, 0, 0] },
        /histogram\.positives must be 100 counts \(got an array of 3\)/,
      ],
      [{ ...histogram(2, 3), negatives: new Float64Array(BINS) }, /histogram\.negatives must be an array/],
      [withCount(histogram(2, 3), 'positives', 7, 0.5), /histogram\.positives\[7\] must be an integer ≥ 0/],
      [withCount(histogram(2, 3), 'negatives', 9, -1), /histogram\.negatives\[9\] must be an integer ≥ 0/],
      [histogram(2, 2), /histogram must be counts adding up to numExamples \(got another total\)/],
    ];
    expect(() => admitEvaluateReply(reply(histogram(2, 3)), 'kr-1')).toThrow(
      /evaluate reply must be only numExamples, metrics \(got an undeclared field\)/,
    );
    expect(() => admitEvaluateReply({ numExamples: 0, metrics: {} }, 'kr-1', BINS)).toThrow(
      /evaluate reply\.histogram must be present/,
    );
    for (const [h, message] of bad) {
      expect(() => admitEvaluateReply(reply(h), 'kr-1', BINS)).toThrow(message);
    }
  });
});

/** Bins of the score histograms in these tests. */
const BINS = 100;

/** A histogram with `pos` cases in the top bin and `neg` controls in the bottom one. */
function histogram(pos: number, neg: number): { positives: number[]; negatives: number[] } {
  const positives = new Array<number>(BINS).fill(0);
  const negatives = new Array<number>(BINS).fill(0);
  positives[BINS - 1] = pos;
  negatives[0] = neg;
  return { positives, negatives };
}

function withCount(
  h: { positives: number[]; negatives: number[] },
  side: 'positives' | 'negatives',
  bin: number,
  value: number,
) {
  const copy = { positives: [...h.positives], negatives: [...h.negatives] };
  copy[side][bin] = value;
  return copy;
}
