import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presetRuleIds } from '../../src/protocol/jurisdiction/presets.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { runFederation } from '../../src/server/coordinator.ts';
import type { Crossing } from '../../src/server/ledger.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';

const HOSPITALS = ['kr-a', 'kr-b', 'cn-a'];

/** Three hospitals, one round, a model of a few dozen parameters: each run takes a second or two. */
function scenario(site: 'KR' | 'CN', jurisdiction: unknown, changes: Record<string, unknown> = {}): Scenario {
  return parseScenario({
    name: 'jurisdiction-rule',
    seed: 11,
    rounds: 1,
    minClients: 1,
    backend: 'js',
    baselines: [],
    coordinator: { site },
    data: { kind: 'synthetic-cohort', testFraction: 0.25 },
    hospitals: [
      { id: 'kr-a', country: 'KR', patients: 60 },
      { id: 'kr-b', country: 'KR', patients: 40 },
      { id: 'cn-a', country: 'CN', patients: 60 },
    ],
    model: { kind: 'mlp', hidden: [4] },
    training: { localEpochs: 1, batchSize: 64, learningRate: 0.1, optimizer: 'sgd' },
    jurisdiction,
    ...changes,
  });
}

const KR_ALL = [{ basis: 'entrusted-processing' }, { basis: 'separate-consent' }];
const CN_HOME = [{ basis: 'separate-consent' }, { basis: 'entrusted-processing' }];
const CN_TO_KR = { from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] };

/** One case: the policies missing exactly one basis, the rule that stops the run, and the block with it. */
interface Case {
  readonly rule: string;
  readonly site: 'KR' | 'CN';
  readonly without: unknown;
  readonly with: unknown;
  /** The message held back and the kind of the hospital's reply it is about. */
  readonly hospital: string;
  readonly stopped: 'fit-request' | 'evaluate-request';
  readonly changes?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    rule: 'CN-PIPL-23',
    site: 'CN',
    without: { countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china' } } },
    with: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: [{ basis: 'entrusted-processing' }] },
      },
    },
    hospital: 'cn-a',
    stopped: 'fit-request',
  },
  {
    rule: 'CN-PIPL-38',
    site: 'KR',
    without: {
      countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china', bases: CN_HOME } },
    },
    with: {
      countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china', bases: CN_HOME } },
      transfers: [CN_TO_KR],
    },
    hospital: 'cn-a',
    stopped: 'fit-request',
  },
  {
    rule: 'CN-PIPL-39',
    site: 'KR',
    without: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: [{ basis: 'entrusted-processing' }] },
      },
      transfers: [CN_TO_KR],
    },
    with: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: [{ basis: 'entrusted-processing' }] },
      },
      transfers: [{ ...CN_TO_KR, bases: [...CN_TO_KR.bases, { basis: 'separate-consent' }] }],
    },
    hospital: 'cn-a',
    stopped: 'fit-request',
  },
  {
    rule: 'CN-CBDF-SENSITIVE-10000',
    site: 'KR',
    without: {
      countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china', bases: CN_HOME } },
      transfers: [CN_TO_KR],
    },
    with: {
      year: 2026,
      countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china', bases: CN_HOME } },
      transfers: [{ ...CN_TO_KR, bases: [{ basis: 'cac-security-assessment', granted: 2025 }] }],
    },
    hospital: 'cn-a',
    stopped: 'fit-request',
    // 13,400 patients, 10,050 of them in the training split its parameters derive from: more than 10,000.
    changes: {
      hospitals: [
        { id: 'kr-a', country: 'KR', patients: 60 },
        { id: 'kr-b', country: 'KR', patients: 40 },
        { id: 'cn-a', country: 'CN', patients: 13_400 },
      ],
    },
  },
  {
    rule: 'CN-CSL-37',
    site: 'KR',
    without: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: CN_HOME, criticalInfrastructure: ['cn-a'] },
      },
      transfers: [CN_TO_KR],
    },
    with: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: CN_HOME, criticalInfrastructure: ['cn-a'] },
      },
      transfers: [{ ...CN_TO_KR, bases: [{ basis: 'cac-security-assessment' }] }],
    },
    hospital: 'cn-a',
    stopped: 'fit-request',
  },
  {
    rule: 'CN-DSL-31',
    site: 'KR',
    without: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: CN_HOME, importantData: ['evaluation-metrics'] },
      },
      transfers: [CN_TO_KR],
    },
    with: {
      countries: {
        KR: { preset: 'korea', bases: KR_ALL },
        CN: { preset: 'china', bases: CN_HOME, importantData: ['evaluation-metrics'] },
      },
      transfers: [{ ...CN_TO_KR, bases: [...CN_TO_KR.bases, { basis: 'cac-security-assessment' }] }],
    },
    hospital: 'cn-a',
    stopped: 'evaluate-request',
  },
  {
    rule: 'KR-PIPA-17',
    site: 'KR',
    without: {
      countries: { KR: { preset: 'korea' }, CN: { preset: 'china', bases: CN_HOME } },
      transfers: [CN_TO_KR],
    },
    with: {
      countries: {
        KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
        CN: { preset: 'china', bases: CN_HOME },
      },
      transfers: [CN_TO_KR],
    },
    hospital: 'kr-a',
    stopped: 'fit-request',
  },
  {
    rule: 'KR-PIPA-28-8',
    site: 'CN',
    without: {
      countries: {
        KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
        CN: { preset: 'china', bases: CN_HOME },
      },
    },
    with: {
      countries: {
        KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
        CN: { preset: 'china', bases: CN_HOME },
      },
      transfers: [{ from: 'KR', to: 'CN', bases: [{ basis: 'law-or-treaty' }] }],
    },
    hospital: 'kr-a',
    stopped: 'fit-request',
  },
];

/** The pooled oracle's genetic information breaks only the HGR rule once every other basis is in place. */
const HGR = {
  without: {
    countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china', bases: CN_HOME } },
    transfers: [CN_TO_KR],
  },
  with: {
    countries: { KR: { preset: 'korea', bases: KR_ALL }, CN: { preset: 'china', bases: CN_HOME } },
    transfers: [{ ...CN_TO_KR, bases: [...CN_TO_KR.bases, { basis: 'hgr-filing' }] }],
  },
};

let pool: WorkerPool;
beforeAll(async () => {
  pool = await WorkerPool.start(HOSPITALS, 1, { timeoutMs: 120_000 });
});
afterAll(async () => {
  await pool.close();
});

async function run(
  s: Scenario,
): Promise<{ result: Awaited<ReturnType<typeof runFederation>>; crossings: Crossing[] }> {
  const crossings: Crossing[] = [];
  const result = await runFederation(s, {
    threads: 1,
    backend: s.backend,
    baseDir: process.cwd(),
    timeoutMs: 120_000,
    pool,
    sink: { round: (_r, c) => crossings.push(...c), crossings: (c) => crossings.push(...c) },
  });
  return { result, crossings };
}

const rulesOf = (c: Crossing) => (c.violations ?? []).map((v) => v.rule);

describe('every rule of every preset stops the run that breaks it alone, and lets it through once its basis is declared', () => {
  it('the cases cover every rule of the China and Korea presets', () => {
    expect([...cases.map((c) => c.rule), 'CN-HGR'].sort()).toEqual(
      [...presetRuleIds('china'), ...presetRuleIds('korea')].sort(),
    );
  });

  it.each(cases)('$rule', async (c) => {
    const stopped = await run(scenario(c.site, c.without, c.changes));
    expect(stopped.result.status).toBe('stopped');
    expect(stopped.result.violation).toMatchObject({
      round: 1,
      hospital: c.hospital,
      enforcement: 'not sent',
      violation: { rule: c.rule },
    });
    expect(stopped.result.stopReason).toContain(c.rule);
    expect(stopped.result.roundsCompleted).toBe(0);
    // The record shows the attempt, breaking that rule and no other; the hospital never got it nor answered.
    const attempt = stopped.crossings.filter((x) => x.sent === false);
    expect(attempt).toHaveLength(1);
    expect(attempt[0]).toMatchObject({ hospital: c.hospital, kind: c.stopped, admitted: false, round: 1 });
    expect(attempt[0]!.sha256).toBeUndefined();
    expect(rulesOf(attempt[0]!)).toEqual([c.rule]);
    const reply = c.stopped === 'fit-request' ? 'fit-reply' : 'evaluate-reply';
    expect(stopped.crossings.filter((x) => x.hospital === c.hospital && x.kind === reply)).toEqual([]);
    expect(stopped.result.compliance.violations).toHaveLength(1);

    const admitted = await run(scenario(c.site, c.with, c.changes));
    expect(admitted.result.status, admitted.result.stopReason).toBe('completed');
    expect(admitted.result.compliance.violations).toEqual([]);
    const relied = admitted.crossings.flatMap((x) => (x.relied ?? []).map((r) => r.rule));
    expect(relied).toContain(c.rule);
    expect(admitted.crossings.some((x) => x.hospital === c.hospital && x.kind === reply && x.admitted)).toBe(
      true,
    );
  });

  it('CN-HGR: the pooled oracle exporting genotypes is flagged, never stopping the run; with a filing only the oracle itself remains a violation', async () => {
    const pooled = { baselines: ['pooled'] };
    const flagged = await run(scenario('KR', HGR.without, pooled));
    expect(flagged.result.status).toBe('completed');
    const records = flagged.crossings.filter((x) => x.kind === 'pooled-records');
    expect(records.map((x) => [x.hospital, rulesOf(x)])).toEqual([
      ['cn-a', ['CN-HGR']],
      ['kr-a', []],
      ['kr-b', []],
    ]);
    expect(records.every((x) => x.sovereigntyViolation === true)).toBe(true);
    expect(flagged.result.compliance.violations).toEqual([]);

    const filed = await run(scenario('KR', HGR.with, pooled));
    const cn = filed.crossings.find((x) => x.kind === 'pooled-records' && x.hospital === 'cn-a')!;
    expect(rulesOf(cn)).toEqual([]);
    expect((cn.relied ?? []).map((r) => `${r.rule}:${r.basis}`)).toContain('CN-HGR:hgr-filing');
    expect(cn.sovereigntyViolation).toBe(true);
  });
});
