import { describe, expect, it } from 'vitest';
import { encodeEnvelope, type TypedVector } from '../../src/protocol/envelope.ts';
import { MAX_METRICS } from '../../src/protocol/messages.ts';
import {
  admit,
  evaluateReplyOf,
  fitReplyOf,
  type ReplyContract,
  type Verdict,
} from '../../src/server/boundary.ts';

const fitContract: ReplyContract = {
  hospital: 'kr-seoul-1',
  kind: 'fit-reply',
  sizes: { parameters: 4, histogramBins: 0 },
  vectors: ['parameters'],
  counts: { numExamples: { min: 10, max: 10 } },
};
const params = () => new Float32Array([1, 2, 3, 4]);

/** A fit reply's envelope, with any field or vector replaced. */
function fit(
  fields: Record<string, unknown> = {},
  vectors: [string, TypedVector][] = [['parameters', params()]],
  kind = 'fit-reply',
): Uint8Array {
  return encodeEnvelope(kind, { numExamples: 10, metrics: { train_loss: 0.5 }, ...fields }, vectors);
}

function rejected(v: Verdict): { field: string; message: string; hospital: string } {
  if (v.status !== 'rejected') throw new Error(`the reply was ${v.status}`);
  return v.violation;
}

describe('the boundary admits only what the kind table and the contract declare', () => {
  it('admits a well-formed fit reply, its vectors copied out of the message', () => {
    const raw = fit();
    const v = admit(raw, fitContract);
    expect(v.status).toBe('admitted');
    if (v.status !== 'admitted') return;
    const reply = fitReplyOf(v.reply);
    expect(Array.from(reply.vectors.parameters!)).toEqual([1, 2, 3, 4]);
    expect(reply.numExamples).toBe(10);
    expect(reply.metrics).toEqual({ train_loss: 0.5 });
    expect(v.bytes).toBe(raw.byteLength);
    new Float32Array(raw.buffer, 0, 4).fill(Number.NaN);
    expect(Array.from(reply.vectors.parameters!)).toEqual([1, 2, 3, 4]);
    expect(reply.vectors.parameters!.buffer.byteLength).toBe(16);
  });

  it.each([
    [
      'NaN in parameters',
      fit({}, [['parameters', new Float32Array([1, Number.NaN, 3, 4])]]),
      'vectors.parameters[1]',
    ],
    [
      'an infinity in parameters',
      fit({}, [['parameters', new Float32Array([1, 2, 3, -Infinity])]]),
      'vectors.parameters[3]',
    ],
    ['a vector of the wrong length', fit({}, [['parameters', new Float32Array(3)]]), 'vectors.parameters'],
    ['a float64 vector', fit({}, [['parameters', new Float64Array(4)]]), 'vectors.parameters'],
    [
      'an undeclared vector',
      fit({}, [
        ['parameters', params()],
        ['gradient', params()],
      ]),
      'vectors',
    ],
    ['a missing vector', fit({}, []), 'vectors.parameters'],
    [
      'rows smuggled into metrics',
      fit({ metrics: { train_loss: 0.5, rows: [[63, 1, 27.4]] } }),
      'metrics.rows',
    ],
    ['a string metric', fit({ metrics: { auroc: 'age 63' } }), 'metrics.auroc'],
    ['a NaN metric (null in JSON)', fit({ metrics: { auroc: Number.NaN } }), 'metrics.auroc'],
    ['a metric outside the registry', fit({ metrics: { patient_age: 63 } }), 'metrics.patient_age'],
    ['a metric outside its range', fit({ metrics: { auroc: 1e308 } }), 'metrics.auroc'],
    ['a fractional step count', fit({ metrics: { local_steps: 2.5 } }), 'metrics.local_steps'],
    [
      'too many metrics',
      fit({ metrics: Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i])) }),
      'metrics',
    ],
    ['a fractional count', fit({ numExamples: 10.5 }), 'numExamples'],
    ['a count other than what the hospital holds', fit({ numExamples: 2 ** 53 - 1 }), 'numExamples'],
    ['an extra top-level field', fit({ patients: [1, 2] }), 'reply'],
    ['another kind', fit({}, undefined, 'evaluate-reply'), 'kind'],
    ['an array instead of an envelope', [1, 2, 3], 'message'],
    [
      'an object instead of an envelope',
      { vectors: { parameters: params() }, numExamples: 10, metrics: {} },
      'message',
    ],
  ])('rejects %s, naming the hospital and the field', (_what, raw, field) => {
    const e = rejected(admit(raw, fitContract));
    expect(e.hospital).toBe('kr-seoul-1');
    expect(e.field).toBe(field);
    expect(e.message).toMatch(/^hospital kr-seoul-1: /);
  });

  it('refuses shared memory and views over larger buffers without reading them', () => {
    const good = fit();
    const shared = new Uint8Array(new SharedArrayBuffer(good.byteLength));
    shared.set(good);
    expect(rejected(admit(shared, fitContract)).message).toMatch(
      /message must be bytes the sender no longer holds \(got shared memory\)/,
    );
    const larger = new Uint8Array(good.byteLength + 1024);
    larger.set(good);
    expect(rejected(admit(larger.subarray(0, good.byteLength), fitContract)).message).toMatch(
      /a view over a larger buffer/,
    );
  });

  it('rejects an oversized reply by its size, before decoding it', () => {
    const metrics = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`m${i}`, i]));
    const raw = fit({ metrics });
    const v = admit(raw, fitContract);
    expect(rejected(v).message).toMatch(
      /^hospital kr-seoul-1: message must be at most \d+ bytes \(got \d+ bytes\)/,
    );
    expect(v.bytes).toBe(raw.byteLength);
    expect('sha256' in v).toBe(false);
  });

  it('never echoes a patient value', () => {
    for (const raw of [
      fit({ metrics: { rows: [[63.25, 1, 27.4]] } }),
      fit({ metrics: { auroc: 'glucose 187.5' } }),
      fit({ metrics: { accuracy: 187.5 } }),
      fit({ numExamples: 187.5 }),
      fit({ age_63_25: 1 }),
    ]) {
      const text = rejected(admit(raw, fitContract)).message;
      for (const value of ['63.25', '27.4', '187.5', '63_25']) expect(text).not.toContain(value);
    }
  });

  it('bounds subgroup counts by the examples behind them', () => {
    const e = rejected(admit(fit({ metrics: { n__female: 11 } }), fitContract));
    expect(e.message).toBe('hospital kr-seoul-1: metrics.n__female must be at most numExamples (got more)');
    expect(admit(fit({ metrics: { n__female: 10, auroc__female: 0.7 } }), fitContract).status).toBe(
      'admitted',
    );
    expect(rejected(admit(fit({ metrics: { auroc__nobody: 0.7 } }), fitContract)).field).toBe(
      'metrics.auroc__nobody',
    );
  });

  it('rejects metrics named like the ones only the coordinator computes', () => {
    expect(rejected(admit(fit({ metrics: { global_auroc: 0.01 } }), fitContract)).message).toMatch(
      /metrics\.global_auroc must be not named global_… \(the coordinator computes those\) \(got a reserved name\)/,
    );
  });
});

describe('evaluation replies and their score histograms', () => {
  const BINS = 100;
  const contract = (bins: number): ReplyContract => ({
    hospital: 'kr-1',
    kind: 'evaluate-reply',
    sizes: { parameters: 4, histogramBins: bins },
    vectors: bins > 0 ? ['histogram'] : [],
    counts: { numExamples: { min: 5, max: 5 } },
  });
  /** `pos` cases in the top bin and `neg` controls in the bottom one. */
  const histogram = (pos: number, neg: number) => {
    const h = new Uint32Array(2 * BINS);
    h[BINS - 1] = pos;
    h[BINS] = neg;
    return h;
  };
  const reply = (h?: TypedVector, fields: Record<string, unknown> = {}) =>
    encodeEnvelope(
      'evaluate-reply',
      { numExamples: 5, metrics: { loss: 0.2, accuracy: 1 }, ...fields },
      h === undefined ? [] : [['histogram', h]],
    );

  it('admits the declared bins of counts adding up to numExamples, split by class', () => {
    const v = admit(reply(histogram(2, 3)), contract(BINS));
    if (v.status !== 'admitted') throw new Error(v.status);
    const r = evaluateReplyOf(v.reply);
    expect(r.metrics).toEqual({ loss: 0.2, accuracy: 1 });
    expect(r.histogram!.positives[BINS - 1]).toBe(2);
    expect(r.histogram!.negatives[0]).toBe(3);
  });

  it.each([
    ['no histogram when bins are declared', reply(), BINS, /vectors\.histogram must be present/],
    [
      'a histogram when none is declared',
      reply(histogram(2, 3)),
      0,
      /vectors must be absent \(got an undeclared vector\)/,
    ],
    ['the wrong number of bins', reply(new Uint32Array(6)), BINS, /vectors\.histogram must be of length 200/],
    ['float counts', reply(new Float32Array(2 * BINS)), BINS, /vectors\.histogram must be of type u32/],
    [
      'counts adding up to another total',
      reply(histogram(2, 2)),
      BINS,
      /counts adding up to numExamples \(got another total\)/,
    ],
    [
      'predictions beside the metrics',
      reply(histogram(2, 3), { predictions: [0.1] }),
      BINS,
      /reply must be only numExamples, metrics/,
    ],
  ])('rejects %s', (_what, raw, bins, message) => {
    expect(rejected(admit(raw, contract(bins))).message).toMatch(message);
  });
});

describe('error reports', () => {
  const contract: ReplyContract = { ...fitContract, files: ['/data/kr-seoul-1/records.csv'] };
  const report = (error: Record<string, unknown>) => encodeEnvelope('error', { error });

  it('admits a category, and for bad input where and what was expected', () => {
    const v = admit(
      report({
        category: 'bad-input',
        file: '/data/kr-seoul-1/records.csv',
        row: 3,
        column: 'glucose',
        expected: 'a number',
      }),
      contract,
    );
    expect(v.status).toBe('error');
    expect(admit(report({ category: 'failed' }), contract).status).toBe('error');
  });

  it.each([
    ['an unknown category', { category: 'stack-trace' }, 'error.category'],
    ['free text on a failure', { category: 'failed', expected: 'rows: [[63, 1]]' }, 'error'],
    ['a message field', { category: 'failed', message: 'patient 63' }, 'error'],
    ['a file the hospital did not declare', { category: 'bad-input', file: '/etc/passwd' }, 'error.file'],
    ['text longer than a line', { category: 'bad-input', expected: 'x'.repeat(201) }, 'error.expected'],
    ['several lines', { category: 'bad-input', expected: 'a\nb' }, 'error.expected'],
    ['a fractional row', { category: 'bad-input', row: 1.5 }, 'error.row'],
  ])('rejects %s', (_what, error, field) => {
    expect(rejected(admit(report(error), contract)).field).toBe(field);
  });
});
