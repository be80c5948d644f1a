import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFedmed } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-hier-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = {
  name: 'hier-interrupt',
  rounds: 30,
  coordinator: { site: 'KR' },
  topology: 'hierarchical',
  data: { kind: 'synthetic-cohort' },
  hospitals: ['kr-a', 'kr-b', 'cn-a', 'cn-b'].map((id) => ({
    id,
    country: id.slice(0, 2).toUpperCase(),
    patients: 80,
  })),
  model: { kind: 'logistic' },
  backend: 'js',
};

/** Lines of metrics.jsonl in the unfinished run's folder (beside `out`, in its store), once there is one. */
function roundsWritten(out: string): number {
  const store = join(dir, `.${out.split('/').pop()!}.fedmed`);
  if (!existsSync(store)) return 0;
  return Math.max(
    0,
    ...readdirSync(store)
      .filter((e) => e.startsWith('run-'))
      .map((r) => join(store, r, 'metrics.jsonl'))
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean).length),
  );
}

describe('Ctrl-C in a hierarchical run', () => {
  it('a first SIGINT finishes the round and writes the outputs of the rounds done (it keeps no checkpoint), exit 130', async () => {
    const file = join(dir, 'hier.json');
    writeFileSync(file, JSON.stringify(scenario));
    const out = join(dir, 'out');
    const cli = startFedmed(['run', file, '--out', out, '--workers', '1', '--quiet'], {
      FEDMED_TEST_STALL_MS: '300',
    });
    while (roundsWritten(out) < 1) await new Promise((r) => setTimeout(r, 50));
    cli.child.kill('SIGINT');
    const stopped = await cli.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('stopping after the current round');
    expect(stopped.stderr).not.toContain('continue it with');
    expect(stopped.stderr).toMatch(
      /run stopped: interrupted before round \d+; its \d+ completed rounds are in /,
    );
    expect(stopped.stderr).not.toMatch(/\n\s+at /);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      status: string;
      stopReason: string;
      roundsCompleted: number;
    };
    expect(summary.status).toBe('stopped');
    expect(summary.roundsCompleted).toBeGreaterThanOrEqual(1);
    expect(summary.roundsCompleted).toBeLessThan(scenario.rounds);
    expect(summary.stopReason).toBe(`interrupted before round ${summary.roundsCompleted + 1}`);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(summary.roundsCompleted);
    expect(existsSync(join(out, 'checkpoint.bin'))).toBe(false);
  }, 120_000);
});
