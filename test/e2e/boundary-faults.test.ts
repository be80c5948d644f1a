import { describe, expect, it } from 'vitest';
import { runInMemory, smallScenario } from '../helpers/run.ts';

describe('malformed replies from real workers are rejected at the boundary', () => {
  it('rejects each kind of malformed reply, naming the hospital, and the round goes on while minClients holds', async () => {
    const scenario = smallScenario({
      rounds: 4,
      minClients: 2,
      faults: [
        { hospital: 'kr-b', behaviour: 'rows-in-metrics', rounds: [1] },
        { hospital: 'cn-b', behaviour: 'nan-parameters', rounds: [1] },
        { hospital: 'kr-b', behaviour: 'too-many-metrics', rounds: [2] },
        { hospital: 'cn-b', behaviour: 'wrong-length', rounds: [2] },
        { hospital: 'kr-b', behaviour: 'infinite-parameters', rounds: [3] },
        { hospital: 'cn-b', behaviour: 'extra-vector', rounds: [3] },
        { hospital: 'kr-b', behaviour: 'fractional-count', rounds: [4] },
        { hospital: 'cn-b', behaviour: 'throw', rounds: [4] },
      ],
    });
    const { result, rounds, crossings } = await runInMemory(scenario, { threads: 2 });
    expect(result.status).toBe('completed');
    expect(rounds).toHaveLength(4);
    const reasons = rounds.map((r) => Object.fromEntries(r.fit.failures.map((f) => [f.hospital, f.reason])));
    expect(reasons[0]!['kr-b']).toMatch(
      /^hospital kr-b: metrics\.rows must be a metric of the protocol’s registry \(got an unknown name\)/,
    );
    expect(reasons[0]!['cn-b']).toMatch(
      /^hospital cn-b: vectors\.parameters\[0\] must be finite \(got NaN\)/,
    );
    expect(reasons[1]!['kr-b']).toMatch(/^hospital kr-b: metrics must be at most 64 entries/);
    expect(reasons[1]!['cn-b']).toMatch(
      /^hospital cn-b: vectors\.parameters must be of length \d+ \(got length \d+\)/,
    );
    expect(reasons[2]!['kr-b']).toMatch(
      /^hospital kr-b: vectors\.parameters\[\d+\] must be finite \(got an infinity\)/,
    );
    expect(reasons[2]!['cn-b']).toMatch(
      /^hospital cn-b: vectors must be only parameters, optionally state \(got an undeclared vector\)/,
    );
    expect(reasons[3]!['kr-b']).toMatch(
      /^hospital kr-b: numExamples must be \d+ \(got a number out of range\)/,
    );
    expect(reasons[3]!['cn-b']).toBe('hospital cn-b: failed on purpose (a test fault)');
    for (const r of rounds) {
      expect(r.fit.admitted).toEqual(['cn-a', 'kr-a']);
      expect(r.bytes.rejected).toBe(1 + (r.round === 4 ? 0 : 1));
      expect(r.bytes.errors).toBe(r.round === 4 ? 1 : 0);
    }
    const rejected = crossings.filter((c) => !c.admitted);
    expect(rejected).toHaveLength(7);
    expect(
      rejected.every(
        (c) => c.direction === 'to-coordinator' && c.reason?.startsWith(`hospital ${c.hospital}:`),
      ),
    ).toBe(true);
    expect(crossings.filter((c) => c.kind === 'error').map((c) => [c.round, c.hospital])).toEqual([
      [4, 'cn-b'],
    ]);
    const serialised = JSON.stringify({ rounds, crossings });
    expect(serialised).not.toMatch(/"rows"\s*:\s*\[/);
  });

  it('stops cleanly when fewer than minClients replies are valid, keeping the rounds before', async () => {
    const scenario = smallScenario({
      rounds: 4,
      minClients: 3,
      faults: [
        { hospital: 'kr-b', behaviour: 'nan-parameters', rounds: [3] },
        { hospital: 'cn-b', behaviour: 'throw', rounds: [3] },
      ],
    });
    const { result, rounds } = await runInMemory(scenario, { threads: 2 });
    expect(result.status).toBe('stopped');
    expect(result.roundsCompleted).toBe(2);
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(result.stopReason).toMatch(/round 3: 2 valid fit replies, fewer than minClients = 3/);
    expect(result.stopReason).toMatch(/hospital kr-b: vectors\.parameters\[0\] must be finite/);
    expect(result.stopReason).toMatch(/hospital cn-b: failed on purpose \(a test fault\)/);
  });
});
