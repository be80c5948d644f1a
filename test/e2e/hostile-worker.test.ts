import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { SetupError } from '../../src/server/setup-error.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';
import type { AttackKind, Attacks } from '../fixtures/hostile-worker.ts';
import { runInMemory, type MemoryRun } from '../helpers/run.ts';

const ENTRY = new URL('../fixtures/hostile-worker.ts', import.meta.url).href;
const SECRET = 'PATIENT-ROW age=63.25 glucose=187.5';

/** Each rejected attack, and how the boundary names it. */
const REJECTED: readonly (readonly [AttackKind, RegExp])[] = [
  ['shared-reply', /message must be bytes the sender no longer holds \(got shared memory\)/],
  ['view-reply', /message must be a view of its whole buffer \(got a view over a larger buffer\)/],
  ['oversized', /message must be at most \d+ bytes \(got \d+ bytes\)/],
  ['object-reply', /message must be a Uint8Array envelope \(got an object\)/],
  ['huge-count', /numExamples must be \d+ \(got another integer\)/],
  ['huge-metric', /metrics\.train_loss must be a number from 0 to 1000000000000 \(got a value outside it\)/],
  ['wrong-kind', /kind must be fit-reply \(got another kind\)/],
  ['error-text', /error must be only a category and field for failed \(got more\)/],
  ['throw-rows', /the worker's call failed outside the protocol/],
];
const attacker = (kind: AttackKind) => `bad-${kind}`;
const HONEST = ['good-1', 'good-2'];

/** Two honest hospitals and one per attack, all alike: 2 rounds, backend js. */
const scenario = parseScenario({
  name: 'hostile',
  seed: 3,
  rounds: 2,
  minClients: 2,
  backend: 'js',
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort', testFraction: 0.3 },
  hospitals: [...HONEST, ...REJECTED.map(([k]) => attacker(k))].map((id, i) => ({
    id,
    country: i % 2 === 0 ? 'KR' : 'CN',
    patients: 60,
  })),
  model: { kind: 'logistic' },
});

async function runWith(kinds: Record<string, AttackKind>): Promise<MemoryRun> {
  const data: Attacks = { kinds, secret: SECRET };
  const pool = await WorkerPool.start(
    scenario.hospitals.map((h) => h.id),
    2,
    { timeoutMs: 120_000, entry: { url: ENTRY, data } },
  );
  try {
    return await runInMemory(scenario, { threads: 2, pool });
  } finally {
    await pool.close();
  }
}

describe('a worker whose code is hostile reaches the coordinator only through the boundary', () => {
  let clean: MemoryRun;

  it('writing over everything it was ever sent changes nothing: each recipient had its own copy', async () => {
    clean = await runInMemory(scenario, { threads: 2 });
    const r = await runWith({ [HONEST[0]!]: 'scribble' });
    expect(sha256(r.result.parameters)).toBe(sha256(clean.result.parameters));
    expect(JSON.stringify(r.rounds)).toBe(JSON.stringify(clean.rounds));
    expect(JSON.stringify(r.crossings)).toBe(JSON.stringify(clean.crossings));
  });

  it('every other attack is rejected and named, recorded by size only, and leaves honest hospitals unchanged', async () => {
    const r = await runWith(Object.fromEntries(REJECTED.map(([k]) => [attacker(k), k])));
    expect(r.result.status).toBe('completed');
    for (const round of r.rounds) expect(round.fit.admitted).toEqual(HONEST);
    for (const [kind, reason] of REJECTED) {
      const id = attacker(kind);
      for (const round of r.rounds) {
        const failure = round.fit.failures.find((f) => f.hospital === id);
        expect(failure?.reason, kind).toMatch(new RegExp(`^hospital ${id}: `));
        expect(failure?.reason, kind).toMatch(reason);
      }
      const rejected = r.crossings.filter((c) => c.hospital === id && c.kind === 'fit-reply');
      expect(rejected, kind).toHaveLength(2);
      expect(rejected.every((c) => !c.admitted && c.sha256 === undefined && c.reason !== undefined)).toBe(
        true,
      );
    }
    // Compared without their place in the hash chain (seq, prev), which the attackers' crossings shift.
    const firstReplies = (m: MemoryRun) =>
      m.crossings
        .filter((c) => c.round === 1 && c.kind === 'fit-reply' && HONEST.includes(c.hospital))
        .map(({ seq: _seq, prev: _prev, ...rest }) => rest);
    expect(firstReplies(r)).toEqual(firstReplies(clean));
    const everything = JSON.stringify({ rounds: r.rounds, crossings: r.crossings, result: r.result });
    expect(everything).not.toContain('63.25');
    expect(everything).not.toContain('PATIENT');
  });

  it('claiming more records than it holds stops the run at setup, naming the hospital', async () => {
    const error = await runWith({ [HONEST[1]!]: 'lie-setup' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetupError);
    expect((error as SetupError).message).toBe(
      'hospital good-2: train must be an integer from 1 to 60 (got another integer)',
    );
    expect((error as SetupError).badInput).toBe(false);
  });
});
