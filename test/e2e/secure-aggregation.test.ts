import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { quantisationStep } from '../../src/common/secagg/quantise.ts';
import type { Scenario, ScenarioInput } from '../../src/scenario/schema.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';
import { expandSources } from '../../src/server/jurisdiction/lineage.ts';
import { runInMemory, smallScenario, type MemoryRun } from '../helpers/run.ts';

const RANGE = 4;
const BITS = 16;

/** The small four-hospital scenario on backend js, logistic, under secure aggregation unless told. */
function secure(changes: Partial<ScenarioInput> = {}, privacy = true): Scenario {
  return smallScenario({
    rounds: 1,
    backend: 'js',
    model: { kind: 'logistic' },
    ...(privacy ? { privacy: { secureAggregation: { range: RANGE, bits: BITS } } } : {}),
    ...changes,
  });
}

const ids = ['kr-a', 'kr-b', 'cn-a', 'cn-b'];

describe('secure aggregation in real runs (worker threads, backend js)', () => {
  let pool: WorkerPool;
  beforeAll(async () => {
    pool = await WorkerPool.start(ids, 2, { timeoutMs: 120_000 });
  });
  afterAll(async () => pool.close());

  it('equals plain FedAvg within the quantisation step, bit for bit across worker counts, and records no plaintext update', async () => {
    const plain = await runInMemory(secure({}, false), { pool });
    const two = await runInMemory(secure(), { pool });
    const one = await runInMemory(secure(), { threads: 1 });
    expect(sha256(one.result.parameters)).toBe(sha256(two.result.parameters));

    // One round from the same start: |Σ n_k q_k Δ / Σ n_k − Σ n_k x_k / Σ n_k| < Δ, plus float32 rounding.
    const step = quantisationStep(RANGE, BITS);
    let worst = 0;
    plain.result.parameters.forEach((p, i) => {
      const diff = Math.abs(two.result.parameters[i]! - p);
      worst = Math.max(worst, diff);
      expect(diff).toBeLessThanOrEqual(step + 2 * Math.fround(Math.abs(p)) * 2 ** -23);
    });
    expect(worst).toBeGreaterThan(0);

    const kinds = new Set(two.crossings.map((c) => c.kind));
    expect([...kinds].filter((k) => k.startsWith('secagg-')).sort()).toEqual([
      'secagg-delivery',
      'secagg-fit-request',
      'secagg-keys',
      'secagg-masked',
      'secagg-reveal',
      'secagg-roster',
      'secagg-shares',
      'secagg-unmask',
    ]);
    expect(kinds.has('fit-reply')).toBe(false);
    expect(two.crossings.some((c) => c.classes.includes('parameters-clear'))).toBe(false);
    const masked = two.crossings.filter((c) => c.kind === 'secagg-masked');
    expect(masked.map((c) => [c.hospital, c.classes])).toEqual(
      ['cn-a', 'cn-b', 'kr-a', 'kr-b'].map((h) => [h, ['parameters-masked']]),
    );
    expect(masked.every((c) => c.admitted && c.sha256 !== undefined)).toBe(true);
    const r = two.rounds[0]!;
    expect(r.fit.admitted).toEqual(['cn-a', 'cn-b', 'kr-a', 'kr-b']);
    expect(r.fit.metrics).toEqual({});
    expect(r.privacy?.secureAggregation?.threshold).toBe(3);
    expect(r.privacy?.secureAggregation?.steps).toEqual({ update: step });
  });

  it('dropouts at any stage leave the exact sum of the others; a malformed key, share or masked vector is rejected and dropped', async () => {
    const behaviours = [
      'secagg-drop-after-advertising',
      'secagg-drop-after-sharing',
      'secagg-bad-key',
      'secagg-bad-shares',
      'secagg-bad-masked',
      'secagg-drop-after-masking',
      'throw',
    ] as const;
    const runs: MemoryRun[] = [];
    for (const behaviour of behaviours) {
      runs.push(await runInMemory(secure({ faults: [{ hospital: 'kr-b', behaviour }] }), { pool }));
    }
    const whole = await runInMemory(secure(), { pool });
    const hash = (r: MemoryRun) => sha256(r.result.parameters);
    for (const run of runs.slice(0, 5)) {
      expect(run.result.status).toBe('completed');
      expect(run.rounds[0]!.fit.admitted).toEqual(['cn-a', 'cn-b', 'kr-a']);
      // The others' encoded inputs do not depend on kr-b: wherever it drops, their unmasked sum is the same.
      expect(hash(run)).toBe(hash(runs[0]!));
    }
    // Dropping after its masked input arrived still leaves its input in the sum (its self mask is rebuilt).
    const late = runs[5]!;
    expect(late.rounds[0]!.fit.admitted).toEqual(['cn-a', 'cn-b', 'kr-a', 'kr-b']);
    expect(hash(late)).toBe(hash(whole));
    expect(hash(whole)).not.toBe(hash(runs[0]!));
    const dropouts = runs.map((r) => r.rounds[0]!.privacy?.secureAggregation?.dropouts);
    expect(dropouts).toEqual([[], ['kr-b'], [], [], ['kr-b'], [], []]);
    // A hospital that throws while training is dropped at advertising, like one that never answers.
    const threw = runs[6]!;
    expect(threw.rounds[0]!.fit.admitted).toEqual(['cn-a', 'cn-b', 'kr-a']);
    expect(hash(threw)).toBe(hash(runs[0]!));

    const reasons = runs.slice(2, 5).map((r) => r.rounds[0]!.fit.failures.map((f) => f.reason));
    expect(reasons[0]).toEqual([
      'hospital kr-b: vectors.mask-key must be a usable X25519 public key (not a low-order point) (got another value)',
    ]);
    expect(reasons[1]![0]).toMatch(
      /^hospital kr-b: vectors\.ciphertexts must be of length \d+ \(got length \d+\)/,
    );
    expect(reasons[2]![0]).toMatch(
      /^hospital kr-b: vectors\.masked must be of length \d+ \(got length \d+\)/,
    );
    for (const [i, kind] of (['secagg-keys', 'secagg-shares', 'secagg-masked'] as const).entries()) {
      const rejected = runs[2 + i]!.crossings.filter((c) => !c.admitted);
      expect(rejected.map((c) => [c.hospital, c.kind, c.sha256])).toEqual([['kr-b', kind, undefined]]);
    }
  });

  it("SecAgg+'s sparse graph gives the same sum as the complete graph, bit for bit", async () => {
    const sparse = await runInMemory(
      secure({ privacy: { secureAggregation: { range: RANGE, bits: BITS, neighbours: 2 } } }),
      { pool },
    );
    const complete = await runInMemory(secure(), { pool });
    expect(sha256(sparse.result.parameters)).toBe(sha256(complete.result.parameters));
    // Each hospital shares with its 2 neighbours only: 2 ciphertexts each instead of 3.
    const shares = (r: MemoryRun) =>
      r.crossings.filter((c) => c.kind === 'secagg-shares').reduce((n, c) => n + c.bytes, 0);
    expect(shares(sparse)).toBeLessThan(shares(complete));
  });

  it('takes a custom module that declares its sums, and refuses one that does not, naming both', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-secure-custom-'));
    const module = (declares: boolean) => `
      export function createStrategy({ base, toolkit }) {
        const inner = new toolkit.FedAvg(base);
        return {
          name: '${declares ? 'mean-from-sums' : 'mean-of-models'}',
          vectors: inner.vectors,
          configureFit: (...a) => inner.configureFit(...a),
          aggregateFit: (...a) => inner.aggregateFit(...a),
          configureEvaluate: (...a) => inner.configureEvaluate(...a),
          aggregateEvaluate: (...a) => inner.aggregateEvaluate(...a),
          summary: () => inner.summary(),
          ${
            declares
              ? `sums: { weighting: 'examples', parts: [{ name: 'update', term: 'update' }] },
          aggregateSums(_round, global, sums) {
            const out = new Float32Array(global.length);
            for (let i = 0; i < out.length; i++) out[i] = global[i] + sums.values.update[i] / sums.totalWeight;
            return out;
          },`
              : ''
          }
        };
      }`;
    writeFileSync(join(dir, 'declares.mjs'), module(true));
    writeFileSync(join(dir, 'plain.mjs'), module(false));
    const custom = (file: string) => secure({ strategy: { name: 'custom', module: file } });

    const declared = await runInMemory(custom('declares.mjs'), { pool, baseDir: dir });
    const fedavg = await runInMemory(secure(), { pool });
    expect(sha256(declared.result.parameters)).toBe(sha256(fedavg.result.parameters));
    await expect(runInMemory(custom('plain.mjs'), { pool, baseDir: dir })).rejects.toThrow(
      /^strategy mean-of-models needs each hospital's own update, which privacy\.secureAggregation hides/,
    );
  });

  it('n − t + 1 dropouts stop the round cleanly and keep the rounds before it', async () => {
    const run = await runInMemory(
      secure({
        rounds: 2,
        faults: [
          { hospital: 'kr-b', behaviour: 'secagg-drop-after-sharing', rounds: [2] },
          { hospital: 'cn-a', behaviour: 'secagg-drop-after-masking', rounds: [2] },
        ],
      }),
      { pool },
    );
    expect(run.result.status).toBe('stopped');
    expect(run.result.roundsCompleted).toBe(1);
    expect(run.rounds).toHaveLength(1);
    expect(run.result.stopReason).toMatch(
      /^round 2: secure aggregation failed: 2 hospitals answered at unmask-shares, threshold t = 3 of 4/,
    );
  });
  it('two survivors are never unmasked, though t = 2 of a SecAgg+ group of 3 would rebuild their masks: the round stops before any share is asked for', async () => {
    const run = await runInMemory(
      secure({
        privacy: { secureAggregation: { range: RANGE, bits: BITS, threshold: 0.51, neighbours: 2 } },
        faults: [
          { hospital: 'kr-b', behaviour: 'secagg-drop-after-sharing' },
          { hospital: 'cn-a', behaviour: 'secagg-drop-after-sharing' },
        ],
      }),
      { pool },
    );
    expect(run.result.status).toBe('stopped');
    expect(run.result.stopReason).toMatch(
      /^round 1: secure aggregation failed: 2 masked inputs arrived, a secure sum needs at least 3: no shares were asked for/,
    );
    expect(run.crossings.some((c) => c.kind === 'secagg-unmask' || c.kind === 'secagg-reveal')).toBe(false);
    expect(run.crossings.filter((c) => c.kind === 'secagg-masked').map((c) => c.hospital)).toEqual([
      'cn-b',
      'kr-a',
    ]);
  });

  it('a securely aggregated model still carries the patients it came from to the jurisdiction policies', async () => {
    const jurisdiction = {
      aggregates: { minHospitals: 3 },
      countries: {
        KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
        CN: {
          preset: 'china',
          bases: [{ basis: 'separate-consent', share: 1 }, { basis: 'entrusted-processing' }],
        },
      },
      transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
    };
    const run = await runInMemory(secure({ jurisdiction } as Partial<ScenarioInput>), { pool });
    expect(run.result.status).toBe('completed');
    const toKorea = run.crossings.findIndex((c) => c.kind === 'evaluate-request' && c.hospital === 'kr-a');
    expect(run.crossings[toKorea]?.classes).toEqual(['aggregate-model']);
    expect(run.crossings[toKorea]?.origins).toContain('CN');
    expect(expandSources(run.crossings)[toKorea]).toEqual(
      expect.arrayContaining(['cn-a:train', 'cn-b:train']),
    );
  });
});
