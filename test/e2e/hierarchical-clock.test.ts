import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

/**
 * Four hospitals in two countries on the virtual clock: cn-b on a county VPN misses the 0.1 s deadline and is
 * dropped every round; kr-b is in a maintenance window from 0.05 to 0.15 simulated seconds, so it is not
 * offered in round 2 (which starts at 0.1 s, the first round having waited out the deadline).
 */
const clocked = (topology: 'flat' | 'hierarchical') =>
  smallScenario({
    rounds: 3,
    backend: 'js',
    topology,
    coordinator: { site: 'neutral' },
    clock: {
      hospitals: {
        'kr-a': { profile: 'tertiary-fibre' },
        'kr-b': { profile: 'tertiary-fibre' },
        'cn-a': { profile: 'regional-broadband' },
        'cn-b': { profile: 'county-vpn' },
      },
      availability: [{ hospital: 'kr-b', from: 0.05, to: 0.15 }],
      deadlineSeconds: 0.1,
      late: 'drop',
    },
  } as Partial<ScenarioInput>);

describe('hierarchical topology on the virtual clock', () => {
  it('each country waits for its hospitals as a flat round does: the same stragglers, windows and durations; the same at 1 and 2 threads', async () => {
    const flat = await runInMemory(clocked('flat'), { threads: 1 });
    const one = await runInMemory(clocked('hierarchical'), { threads: 1 });
    const two = await runInMemory(clocked('hierarchical'), { threads: 2 });
    expect(one.result.status, one.result.stopReason).toBe('completed');

    const clocks = one.rounds.map((r) => r.clock);
    expect(clocks).toEqual(flat.rounds.map((r) => r.clock));
    expect(clocks.map((c) => c!.late)).toEqual([['cn-b'], ['cn-b'], ['cn-b']]);
    expect(clocks.map((c) => c!.unavailable)).toEqual([[], ['kr-b'], []]);
    expect(clocks.map((c) => c!.seconds)).toEqual([0.1, 0.1, 0.1]);
    expect(one.result.clock).toEqual(flat.result.clock);
    for (const [k, r] of one.rounds.entries()) {
      const f = flat.rounds[k]!.fit;
      expect([r.fit.sampled, r.fit.admitted, r.fit.failures]).toEqual([f.sampled, f.admitted, f.failures]);
    }
    expect(Object.keys(one.rounds[1]!.evaluate.hospitals)).not.toContain('kr-b');
    expect(Object.keys(one.rounds[2]!.evaluate.hospitals)).toContain('kr-b');
    // The straggler is never sent anything: no fit request reaches cn-b, and its country sums cn-a alone.
    const fits = one.crossings.filter((c) => c.kind === 'fit-request').map((c) => c.hospital);
    expect(fits).not.toContain('cn-b');
    expect(fits.filter((h) => h === 'kr-b')).toHaveLength(2);

    expect(sha256(two.result.parameters)).toBe(sha256(one.result.parameters));
    expect(JSON.stringify(two.rounds)).toBe(JSON.stringify(one.rounds));
    expect(JSON.stringify(two.crossings)).toBe(JSON.stringify(one.crossings));
  }, 180_000);
});
