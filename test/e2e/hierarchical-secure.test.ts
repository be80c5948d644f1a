import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { quantisationStep } from '../../src/common/secagg/quantise.ts';
import type { ScenarioInput } from '../../src/scenario/schema.ts';
import { runFederation, type RoundRecord } from '../../src/server/coordinator.ts';
import { fedmed } from '../helpers/cli.ts';
import { runInMemory, smallScenario, type MemoryRun } from '../helpers/run.ts';

const HOSPITALS = [
  { id: 'kr-a', country: 'KR', patients: 160, cohort: { prevalence: 0.2 } },
  { id: 'kr-b', country: 'KR', patients: 120, cohort: { prevalence: 0.25 } },
  { id: 'kr-c', country: 'KR', patients: 100, cohort: { prevalence: 0.2 } },
  { id: 'cn-a', country: 'CN', patients: 180, cohort: { prevalence: 0.2 } },
  { id: 'cn-b', country: 'CN', patients: 100, cohort: { prevalence: 0.3 } },
  { id: 'cn-c', country: 'CN', patients: 140, cohort: { prevalence: 0.25 } },
];

/** A fourth Korean hospital: a Korean round that loses one hospital still sums three. */
const FOUR_IN_KOREA = [
  ...HOSPITALS,
  { id: 'kr-d', country: 'KR', patients: 110, cohort: { prevalence: 0.2 } },
];

/** Two countries of three hospitals each, logistic regression: the smallest federation SecAgg runs in per country. */
function sixHospitals(changes: Partial<ScenarioInput> = {}) {
  return smallScenario({
    backend: 'js',
    topology: 'hierarchical',
    coordinator: { site: 'neutral' },
    minClients: 2,
    hospitals: HOSPITALS,
    model: { kind: 'logistic' },
    ...changes,
  });
}

/** One unit in the last place of a Float32 value (its spacing at that magnitude). */
function ulp32(x: number): number {
  const f = new Float32Array([Math.abs(x)]);
  const u = new Uint32Array(f.buffer);
  u[0]! += 1;
  return f[0]! - Math.abs(x);
}

/** `scenario` at 2 threads with the test aggregator `fixture` (given `data`) in every country's thread. */
function withAggregator(
  scenario: ReturnType<typeof sixHospitals>,
  fixture: string,
  data: unknown,
  round: (r: RoundRecord) => void = () => undefined,
) {
  return runFederation(scenario, {
    threads: 2,
    backend: scenario.backend,
    baseDir: process.cwd(),
    timeoutMs: 120_000,
    sink: { round, crossings: () => undefined },
    aggregatorEntry: { url: new URL(`../fixtures/${fixture}`, import.meta.url).href, data },
  });
}

const RANGE = 1;
const BITS = 16;
const SECURE = { privacy: { secureAggregation: { range: RANGE, bits: BITS } } } as const;

/** One secure round at 2 threads, run once and shared by the tests that compare against it. */
let shared: Promise<MemoryRun> | undefined;
const secureOneRound = () => (shared ??= runInMemory(sixHospitals({ rounds: 1, ...SECURE }), { threads: 2 }));

describe('hierarchical topology under secure aggregation', () => {
  it('equals the plain hierarchical round within the quantisation step, bit for bit at 1 and 2 threads, and no clear update crosses anything', async () => {
    const plain = await runInMemory(sixHospitals({ rounds: 1 }), { threads: 2 });
    const one = await runInMemory(sixHospitals({ rounds: 1, ...SECURE }), { threads: 1 });
    const two = await secureOneRound();
    expect(one.result.status).toBe('completed');
    // Each country's decoded sum is within Δ·Σw of its exact one, so the mean is within Δ; then one Float32 rounding.
    const step = quantisationStep(RANGE, BITS);
    const p = plain.result.parameters;
    const s = one.result.parameters;
    for (let i = 0; i < p.length; i++)
      expect(Math.abs(s[i]! - p[i]!)).toBeLessThanOrEqual(step + 2 * Math.fround(Math.abs(p[i]!)) * 2 ** -23);
    expect(sha256(two.result.parameters)).toBe(sha256(s));
    expect(JSON.stringify(two.crossings)).toBe(JSON.stringify(one.crossings));
    expect(JSON.stringify(two.rounds)).toBe(JSON.stringify(one.rounds));

    const r = one.rounds[0]!;
    expect(r.fit.admitted).toEqual(['cn-a', 'cn-b', 'cn-c', 'kr-a', 'kr-b', 'kr-c']);
    expect(r.fit.metrics).toEqual({});
    expect(r.privacy?.countries?.KR).toEqual({
      participants: ['kr-a', 'kr-b', 'kr-c'],
      threshold: 2,
      survivors: ['kr-a', 'kr-b', 'kr-c'],
      dropouts: [],
      step,
    });
    expect(one.result.privacy?.secureAggregation.parts).toEqual([
      { name: 'update', term: 'update', range: RANGE, step },
    ]);
    const federation = one.crossings.filter((c) => c.purpose === 'federation');
    // No hospital's model leaves it in the clear: no fit reply, nothing of class parameters-clear, anywhere.
    expect(
      federation.filter((c) => c.kind === 'fit-reply' || c.classes.includes('parameters-clear')),
    ).toEqual([]);
    const masked = federation.filter((c) => c.kind === 'secagg-masked');
    expect(masked).toHaveLength(6);
    for (const c of federation.filter((x) => !x.hospital.startsWith('aggregator-'))) {
      expect(c.peer).toEqual({ party: `aggregator-${c.country}`, country: c.country });
      expect(c.crossesBorder).toBe(false);
    }
    const across = federation.filter((c) => c.crossesBorder);
    expect(new Set(across.map((c) => c.kind))).toEqual(
      new Set(['country-fit-request', 'country-aggregate', 'country-evaluate-request', 'country-evaluation']),
    );
    const aggregates = across.filter((c) => c.kind === 'country-aggregate');
    expect(aggregates.map((c) => c.hospital)).toEqual(['aggregator-CN', 'aggregator-KR']);
    expect(aggregates.every((c) => c.classes.every((k) => k === 'aggregate-model'))).toBe(true);
  }, 240_000);

  it('a dropout inside a country is unmasked away; a country below its threshold contributes nothing that round', async () => {
    const run = await runInMemory(
      sixHospitals({
        rounds: 2,
        ...SECURE,
        hospitals: FOUR_IN_KOREA,
        faults: [
          { hospital: 'kr-b', behaviour: 'secagg-drop-after-sharing' },
          { hospital: 'kr-a', behaviour: 'secagg-drop-after-sharing', rounds: [2] },
        ],
      }),
      { threads: 2 },
    );
    expect(run.result.status).toBe('completed');
    const [first, second] = run.rounds;
    expect(first!.privacy?.countries?.KR).toMatchObject({
      survivors: ['kr-a', 'kr-c', 'kr-d'],
      dropouts: ['kr-b'],
    });
    expect(first!.fit.admitted).toEqual(['cn-a', 'cn-b', 'cn-c', 'kr-a', 'kr-c', 'kr-d']);
    const kr = second!.privacy?.countries?.KR;
    expect(kr?.survivors).toEqual([]);
    expect(kr?.failed).toMatch(
      /secure aggregation failed: 2 hospitals answered at masked-input, threshold t = 3 of 4/,
    );
    expect(second!.privacy?.countries?.CN?.survivors).toEqual(['cn-a', 'cn-b', 'cn-c']);
    expect(second!.fit.admitted).toEqual(['cn-a', 'cn-b', 'cn-c']);
    const aggregates = run.crossings.filter((c) => c.kind === 'country-aggregate' && c.round === 2);
    expect(aggregates.map((c) => c.hospital)).toEqual(['aggregator-CN']);
  }, 240_000);

  it('a country whose sum would hold only two hospitals sits the round out: no one’s update crosses its border', async () => {
    const run = await runInMemory(
      sixHospitals({
        rounds: 1,
        ...SECURE,
        faults: [{ hospital: 'kr-b', behaviour: 'secagg-drop-after-sharing' }],
      }),
      { threads: 2 },
    );
    expect(run.result.status).toBe('completed');
    const kr = run.rounds[0]!.privacy?.countries?.KR;
    expect(kr?.survivors).toEqual([]);
    expect(kr?.failed).toMatch(
      /2 masked inputs arrived, a secure sum needs at least 3: no shares were asked for/,
    );
    expect(run.rounds[0]!.fit.admitted).toEqual(['cn-a', 'cn-b', 'cn-c']);
    const aggregates = run.crossings.filter((c) => c.kind === 'country-aggregate');
    expect(aggregates.map((c) => c.hospital)).toEqual(['aggregator-CN']);
    expect(run.crossings.some((c) => c.crossesBorder && c.classes.includes('parameters-clear'))).toBe(false);
  }, 240_000);

  it('a hospital whose thread crashes drops out of its country’s secure round; the thread is replaced and the round goes on', async () => {
    const run = await runInMemory(
      sixHospitals({
        rounds: 2,
        ...SECURE,
        hospitals: FOUR_IN_KOREA,
        faults: [{ hospital: 'kr-b', behaviour: 'crash', rounds: [1] }],
      }),
      { threads: 2 },
    );
    expect(run.result.status).toBe('completed');
    const [first, second] = run.rounds;
    expect(first!.fit.admitted).toEqual(['cn-a', 'cn-b', 'cn-c', 'kr-a', 'kr-c', 'kr-d']);
    expect(first!.privacy?.countries?.KR).toMatchObject({
      participants: ['kr-a', 'kr-b', 'kr-c', 'kr-d'],
      survivors: ['kr-a', 'kr-c', 'kr-d'],
    });
    expect(first!.faults).toEqual([
      expect.objectContaining({
        hospital: 'kr-b',
        kind: 'crash',
        handled: expect.stringMatching(/replaced/),
      }),
    ]);
    expect(second!.fit.admitted).toEqual(['cn-a', 'cn-b', 'cn-c', 'kr-a', 'kr-b', 'kr-c', 'kr-d']);
    expect(run.result.faults?.threadsReplaced).toBe(1);
  }, 240_000);

  it('an aggregator thread that dies is replaced and asked again: the same model as without the crash', async () => {
    const scenario = sixHospitals({ rounds: 1, ...SECURE });
    const honest = await secureOneRound();
    const rounds: RoundRecord[] = [];
    const result = await withAggregator(
      scenario,
      'crashing-aggregator.ts',
      { country: 'KR', marker: join(mkdtempSync(join(tmpdir(), 'fedmed-agg-crash-')), 'crashed') },
      (r) => rounds.push(r),
    );
    expect(result.status).toBe('completed');
    expect(sha256(result.parameters)).toBe(sha256(honest.result.parameters));
    expect(result.faults?.threadsReplaced).toBe(1);
    expect(rounds[0]!.faults).toEqual([
      expect.objectContaining({
        hospital: 'aggregator-KR',
        kind: 'thread-failure',
        handled: expect.stringMatching(/country aggregator thread replaced; aggregator-KR asked again/),
      }),
    ]);
  }, 240_000);

  it('an aggregator whose country sum is not what its transcript unmasks to stops the run, naming it', async () => {
    const scenario = sixHospitals({ rounds: 2, ...SECURE });
    const result = await withAggregator(scenario, 'lying-aggregator.ts', { country: 'KR' });
    expect(result.status).toBe('stopped');
    expect(result.roundsCompleted).toBe(0);
    expect(result.stopReason).toMatch(
      /round 1: country aggregator aggregator-KR: its sum is not the sum that the masked inputs and shares it was sent unmask to/,
    );
  }, 240_000);

  it("an aggregator that knows the run's seed and the session cannot derive its hospitals' mask keys", async () => {
    const scenario = sixHospitals({ rounds: 1, ...SECURE });
    const log = join(mkdtempSync(join(tmpdir(), 'fedmed-agg-keys-')), 'keys.log');
    writeFileSync(log, '');
    const result = await withAggregator(scenario, 'key-deriving-aggregator.ts', {
      log,
      hospitals: { KR: ['kr-a', 'kr-b', 'kr-c'], CN: ['cn-a', 'cn-b', 'cn-c'] },
    });
    expect(result.status).toBe('completed');
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.endsWith(' derived'))).toEqual([]);
  }, 240_000);

  it('DP-SGD runs inside each hospital whatever the topology: the same model as flat to one Float32 ulp, the same ε', async () => {
    const dpSgd = { privacy: { dpSgd: { clipNorm: 1, noiseMultiplier: 1, sampleRate: 0.1 } } } as const;
    const flat = await runInMemory(sixHospitals({ rounds: 1, topology: 'flat', ...dpSgd }), { threads: 2 });
    const hier = await runInMemory(sixHospitals({ rounds: 1, ...dpSgd }), { threads: 2 });
    expect(hier.result.status).toBe('completed');
    const f = flat.result.parameters;
    const h = hier.result.parameters;
    for (let i = 0; i < f.length; i++) expect(Math.abs(h[i]! - f[i]!)).toBeLessThanOrEqual(ulp32(f[i]!));
    const epsilon = hier.rounds[0]!.fit.hospitals['kr-a']!.metrics.dpsgd_epsilon;
    expect(epsilon).toBeGreaterThan(0);
    expect(epsilon).toBe(flat.rounds[0]!.fit.hospitals['kr-a']!.metrics.dpsgd_epsilon);
  }, 240_000);

  it('refuses what it cannot run per country with exit 2 naming the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-hier-secure-'));
    const base = {
      name: 'hier-secure',
      rounds: 1,
      coordinator: { site: 'KR' },
      topology: 'hierarchical',
      data: { kind: 'synthetic-cohort' },
      hospitals: HOSPITALS.map(({ id, country, patients }) => ({ id, country, patients })),
      model: { kind: 'logistic' },
      backend: 'js',
    };
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'dp',
        {
          privacy: {
            secureAggregation: {},
            differentialPrivacy: { clipNorm: 1, noiseMultiplier: 1, sampleRate: 1 },
          },
        },
        /privacy\.differentialPrivacy is not supported with topology: "hierarchical".*clipNorm/,
      ],
      [
        'two-in-a-country',
        { privacy: { secureAggregation: {} }, hospitals: base.hospitals.filter((h) => h.id !== 'kr-c') },
        /privacy\.secureAggregation .* at least 3 hospitals in each .* country KR has 2/,
      ],
      [
        'audit',
        { audit: {} },
        /audit is not run with topology: "hierarchical" yet.*expected topology "flat" or no audit/,
      ],
    ];
    for (const [name, change, message] of cases) {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify({ ...base, ...change }));
      const r = fedmed(['run', file, '--out', join(dir, name), '--quiet', '--workers', '1']);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.code).toBe(2);
    }
  }, 120_000);
});
