import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInputFailure } from '../../src/cli/flags.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { runFederation } from '../../src/server/coordinator.ts';
import { fedmed } from '../helpers/cli.ts';

const hospitals = [
  { id: 'kr-1', country: 'KR', patients: 120 },
  { id: 'kr-2', country: 'KR', patients: 90 },
  { id: 'cn-1', country: 'CN', patients: 150 },
  { id: 'cn-2', country: 'CN', patients: 100 },
];

const base = {
  name: 'cli-privacy',
  seed: 3,
  rounds: 1,
  backend: 'js',
  coordinator: { site: 'CN' },
  data: { kind: 'synthetic-cohort' },
  hospitals,
  model: { kind: 'logistic' },
};

const dp = { clipNorm: 1, noiseMultiplier: 1, sampleRate: 1 };

/** Each case: what is wrong, the scenario's changes, and the message naming the field and its range. */
const CASES: [string, Record<string, unknown>, RegExp][] = [
  [
    't ≤ n/2',
    { privacy: { secureAggregation: { threshold: 0.5 } } },
    /\$\.privacy\.secureAggregation\.threshold: Too small: expected number to be >0\.5/,
  ],
  [
    't > n',
    { privacy: { secureAggregation: { threshold: 1.5 } } },
    /\$\.privacy\.secureAggregation\.threshold: Too big: expected number to be <=1/,
  ],
  [
    'bits that can overflow',
    { privacy: { secureAggregation: { bits: 28 } } },
    /privacy\.secureAggregation\.bits must be at most 22 for 4 hospitals with privacy\.secureAggregation\.maxWeight = 150 .*got 28/,
  ],
  [
    'an odd SecAgg+ neighbour count',
    { privacy: { secureAggregation: { neighbours: 3 } } },
    /privacy\.secureAggregation\.neighbours must be an even integer in \[2, 3\] for 4 hospitals, got 3/,
  ],
  [
    'z ≤ 0',
    { privacy: { secureAggregation: {}, differentialPrivacy: { ...dp, noiseMultiplier: 0 } } },
    /\$\.privacy\.differentialPrivacy\.noiseMultiplier: Too small: expected number to be >0/,
  ],
  [
    'a budget ≤ 0',
    {
      privacy: { secureAggregation: {}, differentialPrivacy: { ...dp, budget: { epsilon: -1 } } },
    },
    /\$\.privacy\.differentialPrivacy\.budget\.epsilon: Too small: expected number to be >0/,
  ],
  [
    'DP with fixed-size sampling',
    {
      strategy: { name: 'fedavg', fractionFit: 0.5 },
      privacy: { secureAggregation: {}, differentialPrivacy: dp },
    },
    /\$\.strategy\.fractionFit: expected 1 with privacy\.differentialPrivacy/,
  ],
  [
    'SecAgg with an individual-update strategy',
    { strategy: { name: 'fedmedian' }, privacy: { secureAggregation: {} } },
    /\$\.strategy\.name: strategy fedmedian needs each hospital's own update, which privacy\.secureAggregation hides/,
  ],
  [
    'a secure-aggregation fault without secure aggregation',
    { faults: [{ hospital: 'kr-2', behaviour: 'secagg-bad-key' }] },
    /\$\.faults\[0\]\.behaviour: secagg-bad-key acts on a secure-aggregation round: add privacy\.secureAggregation/,
  ],
  [
    'a clear-reply fault under secure aggregation',
    { privacy: { secureAggregation: {} }, faults: [{ hospital: 'kr-2', behaviour: 'nan-parameters' }] },
    /\$\.faults\[0\]\.behaviour: nan-parameters breaks a fit reply in the clear.*expected throw, hang, crash, drop, slow or a secagg- fault/,
  ],
];

/** The error a run of the scenario stops with, before any worker starts (the CLI maps it to exit 2). */
async function refusal(changes: Record<string, unknown>): Promise<Error> {
  try {
    const scenario = parseScenario({ ...base, ...changes });
    await runFederation(scenario, {
      threads: 1,
      backend: 'js',
      baseDir: process.cwd(),
      timeoutMs: 1,
      sink: { round: () => undefined, crossings: () => undefined },
    });
  } catch (e) {
    return e as Error;
  }
  throw new Error('the run started');
}

describe('bad privacy settings are refused before any training, naming the field and its valid range', () => {
  it.each(CASES)('%s', async (_what, changes, message) => {
    const e = await refusal(changes);
    expect(e.message).toMatch(message);
    expect(e.name === 'InputError' || isInputFailure(e)).toBe(true);
  });

  it.each([CASES[0]!, CASES[2]!])(
    'fedmed run exits 2 without a stack trace or an output folder: %s',
    (_what, changes, message) => {
      const d = mkdtempSync(join(tmpdir(), 'fedmed-privacy-'));
      const file = join(d, 'scenario.json');
      writeFileSync(file, JSON.stringify({ ...base, ...changes }));
      const r = fedmed(['run', file, '--out', join(d, 'out'), '--quiet']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(join(d, 'out'))).toBe(false);
    },
  );
});
