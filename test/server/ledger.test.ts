import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { EnvelopeBody } from '../../src/protocol/envelope.ts';
import { byteTotals, entryHash, Ledger } from '../../src/server/ledger.ts';
import { topologyHops } from '../../src/server/topology/hops.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { replyClasses } from '../../src/protocol/jurisdiction/classes.ts';

const countries = new Map([
  ['kr-1', 'KR'],
  ['cn-1', 'CN'],
]);
const m = (bytes: number) => ({ bytes, sha256: 'x' });

describe('the crossing ledger', () => {
  it('marks border crossings from the coordinator site, and takes direction and class from the kind table', () => {
    const inKorea = new Ledger('KR', countries);
    const request = inKorea.record(1, 'kr-1', 'fit-request', m(10));
    expect(request).toMatchObject({
      crossesBorder: false,
      direction: 'to-hospital',
      classes: ['aggregate-model'],
    });
    const reply = inKorea.record(1, 'cn-1', 'fit-reply', m(10));
    expect(reply).toMatchObject({
      crossesBorder: true,
      direction: 'to-coordinator',
      classes: ['parameters-clear'],
    });
    const neutral = new Ledger('neutral', countries);
    expect(neutral.record(1, 'kr-1', 'evaluate-request', m(1)).crossesBorder).toBe(true);
    expect(() => neutral.record(1, 'us-1', 'setup', m(1))).toThrow(/unknown hospital us-1/);
  });

  it("in a hierarchical run only the federation's messages take the country aggregator's hop; a baseline's go where they really would", () => {
    const scenario = parseScenario({
      name: 'hops',
      rounds: 1,
      topology: 'hierarchical',
      coordinator: { site: 'KR' },
      data: { kind: 'synthetic-cohort' },
      hospitals: [
        { id: 'kr-1', country: 'KR', patients: 50 },
        { id: 'cn-1', country: 'CN', patients: 50 },
      ],
      model: { kind: 'logistic' },
    });
    const ledger = new Ledger('KR', countries, { hops: topologyHops(scenario)! });
    const fit = ledger.record(1, 'cn-1', 'fit-reply', m(10));
    expect(fit).toMatchObject({ crossesBorder: false });
    const pooled = ledger.record(0, 'cn-1', 'pooled-records', m(10), { admitted: true, purpose: 'pooled' });
    expect(pooled).toMatchObject({ crossesBorder: true });
    expect(replyClasses('audit-reply', { metrics: [], histogram: false })).toContain('score-histogram');
  });

  it('an error report serves the purpose of the request it answers; pooled records are violations', () => {
    const l = new Ledger('KR', countries);
    expect(l.record(0, 'kr-1', 'error', m(5), { admitted: true, purpose: 'local-only' }).purpose).toBe(
      'local-only',
    );
    expect(l.recordPooledRecords('cn-1', 400)).toMatchObject({
      kind: 'pooled-records',
      purpose: 'pooled',
      classes: ['personal-records'],
      sovereigntyViolation: true,
      bytes: 400,
    });
  });

  it('hashes what is sent: a broadcast body hashed once gives each recipient the hash of its own bytes', () => {
    const body = new EnvelopeBody([['parameters', new Float32Array([1, 2, 3])]]);
    const a = body.seal('fit-request', { hospital: 'kr-1', request: { round: 1 } });
    const b = body.seal('fit-request', { hospital: 'cn-1', request: { round: 1 } });
    expect(a.sha256).toBe(sha256(a.bytes));
    expect(b.sha256).toBe(sha256(b.bytes));
    expect(a.sha256).not.toBe(b.sha256);
    expect(a.bytes.buffer).not.toBe(b.bytes.buffer);
  });

  it('totals bytes per direction, border and round, and counts rejections and error reports', () => {
    const l = new Ledger('KR', countries);
    l.record(1, 'kr-1', 'fit-request', m(16));
    l.record(1, 'cn-1', 'fit-request', m(16));
    l.record(1, 'cn-1', 'fit-reply', { bytes: 8 }, { admitted: false, reason: 'x' });
    l.record(1, 'kr-1', 'error', m(3));
    l.record(2, 'kr-1', 'fit-reply', m(4));
    expect(l.totals(1)).toEqual({
      toHospitals: 32,
      toCoordinator: 11,
      crossBorder: 24,
      messages: 4,
      rejected: 1,
      errors: 1,
      blocked: 0,
    });
    expect(l.totals().toCoordinator).toBe(15);
    expect(l.entries[2]!.sha256).toBeUndefined();
    expect(l.takeUnflushed()).toHaveLength(5);
    expect(l.takeUnflushed()).toHaveLength(0);
  });

  it('chains its entries: each links to the hash of the one before, the first to the genesis, and is written as hashed', () => {
    const l = new Ledger('KR', countries, { genesis: 'a'.repeat(64) });
    const first = l.record(0, 'kr-1', 'setup', m(3));
    const second = l.record(0, 'kr-1', 'setup-reply', m(2));
    expect(first).toMatchObject({ seq: 1, prev: 'a'.repeat(64) });
    expect(second).toMatchObject({ seq: 2, prev: sha256(JSON.stringify(first)) });
    expect(entryHash(second)).toBe(sha256(JSON.stringify(second)));
    expect(l.chain).toEqual({ entries: 2, genesis: 'a'.repeat(64), head: entryHash(second) });
  });

  it("keeps each round's totals as it records, equal to a scan of the record, and again after resuming from it", () => {
    const l = new Ledger('KR', countries);
    l.record(0, 'cn-1', 'setup', m(7));
    l.record(1, 'kr-1', 'fit-request', m(16));
    l.record(1, 'cn-1', 'fit-reply', { bytes: 8 }, { admitted: false, reason: 'x' });
    l.record(0, 'kr-1', 'error', m(3), { admitted: true, purpose: 'local-only' });
    l.record(2, 'cn-1', 'fit-request', { bytes: 50 }, { admitted: false, sent: false, reason: 'x' });
    l.record(1, 'kr-1', 'evaluate-reply', m(4));
    const resumed = new Ledger('KR', countries);
    resumed.resumeFrom(l.entries);
    for (const ledger of [l, resumed])
      for (const purpose of ['federation', 'local-only'] as const)
        for (const round of [0, 1, 2, 3])
          expect(ledger.totals(round, purpose)).toEqual(byteTotals(l.entries, round, purpose));
    l.totals(1).messages = 99;
    expect(l.totals(1).messages).toBe(3);
  });

  it('a request a policy kept back counts as blocked, neither as bytes nor as a message', () => {
    const l = new Ledger('KR', countries);
    l.record(1, 'cn-1', 'fit-request', { bytes: 50 }, { admitted: false, sent: false, reason: 'x' });
    expect(l.totals(1)).toMatchObject({ toHospitals: 0, crossBorder: 0, messages: 0, blocked: 1 });
  });
});
