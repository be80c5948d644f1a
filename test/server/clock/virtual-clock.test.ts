import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError, parseScenario } from '../../../src/scenario/load.ts';
import type { ScenarioInput } from '../../../src/scenario/schema.ts';
import { overlapsWindow, withinWindow } from '../../../src/server/clock/sites.ts';
import { VirtualClock } from '../../../src/server/clock/virtual-clock.ts';
import { fedmed } from '../../helpers/cli.ts';

const base: ScenarioInput = {
  name: 'clock',
  rounds: 2,
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort' },
  hospitals: [
    { id: 'kr-1', country: 'KR', patients: 50 },
    { id: 'cn-1', country: 'CN', patients: 50 },
  ],
  model: { kind: 'logistic' },
  training: { localEpochs: 1, batchSize: 10, learningRate: 0.1, optimizer: 'sgd' },
};

/** kr-1: 100 samples/s, 8 Mbps (1 MB/s), no latency; cn-1 ten times faster on both. */
const clockOf = (clock: Record<string, unknown>) => {
  const s = parseScenario({
    ...base,
    clock: {
      hospitals: {
        'kr-1': { samplesPerSecond: 100, bandwidthMbps: 8, latencyMs: 0 },
        'cn-1': { samplesPerSecond: 1000, bandwidthMbps: 80, latencyMs: 0 },
      },
      ...clock,
    },
  });
  // 100 training examples each; 1 MB of fit vectors each way.
  return new VirtualClock(
    { ...s, clock: s.clock! },
    new Map([
      ['kr-1', 100],
      ['cn-1', 100],
    ]),
    1e6,
  );
};
const training = { localEpochs: 1, batchSize: 10, learningRate: 0.1, optimizer: 'sgd' as const };
const both = [
  { hospital: 'cn-1', instructions: { round: 1, training } },
  { hospital: 'kr-1', instructions: { round: 1, training } },
];

describe('the virtual clock', () => {
  it('times a round by its slowest hospital: 1 MB down and up at 1 MB/s and 100 examples at 100/s take 3 s', () => {
    const clock = clockOf({});
    const plan = clock.plan(1, both, [], false);
    expect(plan.send).toEqual(both);
    const record = plan.finish();
    expect(record.hospitals).toEqual({ 'cn-1': 0.30000000000000004, 'kr-1': 3 });
    expect(record.seconds).toBe(3);
    expect(clock.now).toBe(3);
  });

  it('a straggler past the deadline is dropped (the round waits out its deadline), or asked for the steps that fit', () => {
    const dropping = clockOf({ deadlineSeconds: 2.5 }).plan(1, both, [], false);
    expect(dropping.send.map((a) => a.hospital)).toEqual(['cn-1']);
    expect(dropping.dropped[0]!.reason).toMatch(/kr-1: would reply after 3 s .* deadline of 2.5 s/);
    expect(dropping.finish()).toMatchObject({ seconds: 2.5, late: ['kr-1'], partial: {} });
    // 2 s of transfer leave 0.5 s of the 1 s of compute: 5 of its 10 steps.
    const partial = clockOf({ deadlineSeconds: 2.5, late: 'partial' }).plan(1, both, [], false);
    expect(partial.send[1]).toEqual({ hospital: 'kr-1', instructions: { round: 1, training, maxSteps: 5 } });
    expect(partial.finish()).toMatchObject({ seconds: 2.5, late: [], partial: { 'kr-1': 5 } });
  });

  it('a hospital in a maintenance window is not offered for sampling, and one whose window opens during its work is dropped', () => {
    const clock = clockOf({ availability: [{ hospital: 'kr-1', from: 2, to: 4, every: 10 }] });
    const hospitals = [
      { id: 'kr-1', country: 'KR' },
      { id: 'cn-1', country: 'CN' },
    ];
    expect(clock.available(hospitals)).toHaveLength(2);
    const first = clock.plan(1, both, [], false);
    expect(first.send.map((a) => a.hospital)).toEqual(['cn-1']);
    expect(first.finish()).toMatchObject({ outage: ['kr-1'], seconds: 0.30000000000000004 });
    expect(withinWindow([{ from: 2, to: 4, every: 10 }], 13)).toBe(true);
    expect(withinWindow([{ from: 2, to: 4, every: 10 }], 14)).toBe(false);
    expect(overlapsWindow([{ from: 2, to: 4, every: 10 }], 4, 12)).toBe(false);
    expect(overlapsWindow([{ from: 2, to: 4, every: 10 }], 4, 12.5)).toBe(true);
  });
});

describe('bad clock and fault settings', () => {
  const rejection = (changes: Record<string, unknown>): string => {
    try {
      parseScenario({ ...base, ...changes });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as Error).message;
    }
    throw new Error('accepted');
  };

  it('name the JSON path and what was expected', () => {
    expect(rejection({ clock: { hospitals: { 'kr-9': { profile: 'county-vpn' } } } })).toMatch(
      /\$\.clock\.hospitals\["kr-9"\]: no hospital has id "kr-9"/,
    );
    expect(rejection({ clock: { draw: ['moon-link'] } })).toMatch(
      /\$\.clock\.draw\[0\]: expected one of tertiary-fibre/,
    );
    expect(rejection({ clock: {} })).toMatch(
      /\$\.clock\.hospitals\["kr-1"\]: expected a profile, or samplesPerSecond/,
    );
    expect(
      rejection({
        clock: { draw: ['county-vpn'], availability: [{ hospital: 'kr-1', from: 0, to: 5, every: 5 }] },
      }),
    ).toMatch(/\$\.clock\.availability\[0\]\.every: expected a period longer than the window/);
    expect(rejection({ clock: { draw: ['county-vpn'], deadlineSeconds: -1 } })).toMatch(
      /\$\.clock\.deadlineSeconds/,
    );
    expect(rejection({ faults: [{ hospital: 'kr-1', behaviour: 'slow' }] })).toMatch(
      /\$\.faults\[0\]\.factor: expected a factor > 1/,
    );
    expect(rejection({ faults: [{ behaviour: 'crash', rate: 1.5 }] })).toMatch(/\$\.faults\[0\]\.rate/);
  });

  it('exit 2 from the CLI, without a stack trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-clock-'));
    const file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify({ ...base, clock: { draw: ['county-vpn'], late: 'wait' } }));
    const r = fedmed(['run', file, '--out', join(dir, 'out'), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\$\.clock\.late/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
