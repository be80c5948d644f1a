import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { Ledger, measure } from '../../src/server/ledger.ts';

const countries = new Map([
  ['kr-1', 'KR'],
  ['cn-1', 'CN'],
]);

describe('the crossing ledger', () => {
  it('marks border crossings from the coordinator site', () => {
    const inKorea = new Ledger('KR', countries);
    expect(inKorea.record(1, 'kr-1', 'to-hospital', 'fit-instructions', { round: 1 }).crossesBorder).toBe(
      false,
    );
    expect(inKorea.record(1, 'cn-1', 'to-coordinator', 'fit-reply', { round: 1 }).crossesBorder).toBe(true);
    const neutral = new Ledger('neutral', countries);
    expect(neutral.record(1, 'kr-1', 'to-hospital', 'fit-instructions', {}).crossesBorder).toBe(true);
    expect(() => neutral.record(1, 'us-1', 'to-hospital', 'setup', {})).toThrow(/unknown hospital us-1/);
  });

  it('measures vectors by their bytes and the rest by its canonical JSON', () => {
    const v = new Float32Array([1, 2, 3]);
    expect(measure(v)).toEqual({ bytes: 12, sha256: sha256(v) });
    const reply = { vectors: { parameters: v }, numExamples: 7, metrics: { loss: 0.5 } };
    const json = '{"metrics":{"loss":0.5},"numExamples":7,"vectors":{}}';
    expect(measure(reply).bytes).toBe(12 + json.length);
    expect(measure({ numExamples: 7, metrics: { loss: 0.5 }, vectors: { parameters: v } })).toEqual(
      measure(reply),
    );
  });

  it('totals bytes per direction, border and round, and counts rejections', () => {
    const l = new Ledger('KR', countries);
    l.record(1, 'kr-1', 'to-hospital', 'global-model', new Float32Array(4));
    l.record(1, 'cn-1', 'to-hospital', 'global-model', new Float32Array(4));
    l.record(1, 'cn-1', 'to-coordinator', 'fit-reply', new Float32Array(2), { admitted: false, reason: 'x' });
    l.record(2, 'kr-1', 'to-coordinator', 'fit-reply', new Float32Array(1));
    expect(l.totals(1)).toEqual({
      toHospitals: 32,
      toCoordinator: 8,
      crossBorder: 24,
      messages: 3,
      rejected: 1,
    });
    expect(l.totals().toCoordinator).toBe(12);
    expect(l.takeUnflushed()).toHaveLength(4);
    expect(l.takeUnflushed()).toHaveLength(0);
  });
});
