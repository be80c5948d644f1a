import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { overlapsWindow, withinWindow } from '../../src/server/clock/sites.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

/**
 * cn-b computes at 20 examples/s (its ~70 training examples take 3.5 s, past the 2 s deadline: partial work),
 * cn-a is slowed 100× in round 2, the others draw their profiles; kr-b is in maintenance from 1 s to 3 s of
 * every 6 s.
 */
const windows = [{ hospital: 'kr-b', from: 1, to: 3, every: 6 }];
const scenario = smallScenario({
  rounds: 5,
  backend: 'js',
  model: { kind: 'logistic' },
  strategy: { name: 'fedprox', proximalMu: 0.1 },
  faults: [{ hospital: 'cn-a', behaviour: 'slow', factor: 100, rounds: [2] }],
  clock: {
    hospitals: {
      'kr-a': { profile: 'tertiary-fibre' },
      'cn-b': { profile: 'county-vpn', samplesPerSecond: 20 },
    },
    draw: ['regional-broadband', 'county-vpn'],
    availability: windows,
    deadlineSeconds: 2,
    late: 'partial',
  },
});

describe('stragglers and outages on the virtual clock', () => {
  it('are the same at 1, 2 and 4 threads, and no hospital is sampled and counted inside a maintenance window', async () => {
    const runs = [];
    for (const threads of [1, 2, 4]) runs.push(await runInMemory(scenario, { threads }));
    const [one, ...others] = runs;
    for (const r of others) {
      expect(r.rounds.map((x) => x.clock)).toEqual(one!.rounds.map((x) => x.clock));
      expect(r.rounds.map((x) => x.fit.admitted)).toEqual(one!.rounds.map((x) => x.fit.admitted));
      expect(sha256(r.result.parameters)).toBe(sha256(one!.result.parameters));
    }
    const rounds = one!.rounds;
    expect(rounds).toHaveLength(5);
    let total = 0;
    for (const r of rounds) {
      const c = r.clock!;
      expect(c.startSeconds).toBeCloseTo(total, 9);
      total += c.seconds;
      expect(c.seconds).toBeLessThanOrEqual(2);
      if (withinWindow(windows, c.startSeconds)) {
        expect(c.unavailable).toEqual(['kr-b']);
        expect(r.fit.sampled).not.toContain('kr-b');
        expect(Object.keys(r.evaluate.hospitals)).not.toContain('kr-b');
      }
      if (r.fit.admitted.includes('kr-b'))
        expect(overlapsWindow(windows, c.startSeconds, c.startSeconds + c.hospitals['kr-b']!)).toBe(false);
      // cn-b always needs partial work; it reports the steps it took.
      expect(c.partial['cn-b']).toBeGreaterThanOrEqual(1);
      expect(r.fit.hospitals['cn-b']!.metrics.local_steps).toBe(c.partial['cn-b']);
    }
    expect(rounds.some((r) => r.clock!.unavailable.includes('kr-b'))).toBe(true);
    expect(rounds[1]!.clock!.partial['cn-a']).toBeGreaterThanOrEqual(1);
    expect(rounds[1]!.faults).toEqual([
      expect.objectContaining({
        hospital: 'cn-a',
        kind: 'slow',
        handled: expect.stringMatching(/^admitted; .*100×/),
      }),
    ]);
    expect(one!.result.clock!.simulatedSeconds).toBeCloseTo(total, 9);
  }, 600_000);
});
