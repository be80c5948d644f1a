import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { ROOT, startFedmed, type CliResult } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Moment = { readonly point: string; readonly round: number; readonly ms?: number };
const POINTS = ['fit', 'aggregate', 'round-written', 'checkpoint-written'] as const;

/**
 * Five distinct moments of a five-round run, drawn from a seeded stream: during a round's training (a kill a
 * few milliseconds after its fit requests went out), before its aggregation, after its records were written
 * but before its checkpoint, and while its checkpoint is written (flushed, not yet renamed into place).
 * Sorted, so each one falls after the checkpoint the previous kill left.
 */
function moments(seed: number): Moment[] {
  const rng = stream(seed, 'kill-test');
  const chosen = new Map<string, Moment>();
  while (chosen.size < 5) {
    const point = POINTS[rng.int(POINTS.length)]!;
    const round = 1 + rng.int(5);
    const m = point === 'fit' ? { point, round, ms: 5 + rng.int(40) } : { point, round };
    chosen.set(`${round}/${point}`, m);
  }
  const order = (m: Moment) => m.round * 10 + POINTS.indexOf(m.point as (typeof POINTS)[number]);
  return [...chosen.values()].sort((a, b) => order(a) - order(b));
}

async function run(args: readonly string[], env: Record<string, string> = {}) {
  return startFedmed([...args, '--workers', '1', '--quiet'], env).done;
}

const read = (out: string, file: string) => readFileSync(join(out, file), 'utf8');
const hashOf = (out: string) =>
  (JSON.parse(read(out, 'manifest.json')) as { finalModelSha256: string }).finalModelSha256;

/** Runs uninterrupted, then again killed at each moment and resumed after each kill; both must agree. */
async function killAndResume(strategy: string, seed: number) {
  const scenario = join(ROOT, `test/fixtures/resume/tiny-${strategy}.json`);
  const full = join(dir, `${strategy}-full`);
  const killed = join(dir, `${strategy}-killed`);
  const whole = await run(['run', scenario, '--out', full]);
  expect(whole.code, whole.stderr).toBe(0);
  const plan = moments(seed);
  const kills: string[] = [];
  let last: CliResult & { signal: NodeJS.Signals | null } = await run(['run', scenario, '--out', killed], {
    FEDMED_TEST_KILL_AT: spec(plan[0]!),
  });
  for (let i = 0; ; i++) {
    if (last.signal === 'SIGKILL') kills.push(spec(plan[i]!));
    else break;
    const next = plan[i + 1];
    last = await run(
      ['run', '--resume', killed],
      next === undefined ? {} : { FEDMED_TEST_KILL_AT: spec(next) },
    );
  }
  expect(last.code, last.stderr).toBe(0);
  expect(hashOf(killed)).toBe(hashOf(full));
  expect(read(killed, 'metrics.jsonl')).toBe(read(full, 'metrics.jsonl'));
  expect(read(killed, 'crossings.jsonl')).toBe(read(full, 'crossings.jsonl'));
  return kills;
}

const spec = (m: Moment) => `${m.point}:${m.round}${m.ms === undefined ? '' : `:${m.ms}`}`;

describe('SIGKILL at seeded moments, then --resume', () => {
  it('ends with the uninterrupted run’s final model, metrics and crossing record: FedAdam (server state) and SCAFFOLD (client state)', async () => {
    const [adam, scaffold] = await Promise.all([killAndResume('fedadam', 11), killAndResume('scaffold', 12)]);
    // Every planned moment was reached and killed the process: at least ten kills in all.
    expect(adam.length + scaffold.length).toBe(10);
    expect(new Set([...adam, ...scaffold].map((k) => k.split(':')[0])).size).toBeGreaterThanOrEqual(3);
  }, 300_000);
});
