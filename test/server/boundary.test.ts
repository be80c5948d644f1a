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
      admitEvaluateReply({ numExamples: 5, metrics: { loss: 0.2, accuracy: 1 } }, 'cn-1').metrics,
    ).toEqual({
      loss: 0.2,
      accuracy: 1,
    });
    expect(() => admitEvaluateReply({ numExamples: 5, metrics: {}, predictions: [0.1] }, 'cn-1')).toThrow(
      /hospital cn-1: evaluate reply must be only numExamples, metrics/,
    );
  });
});
