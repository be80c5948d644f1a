import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFedmed } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-hier-interrupt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = {
  name: 'hier-interrupt',
  rounds: 6,
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

const read = (out: string, f: string) => readFileSync(join(out, f), 'utf8');

describe('Ctrl-C in a hierarchical run', () => {
  it('a first SIGINT finishes the round and keeps the run resumable (exit 130); --resume ends as the uninterrupted run', async () => {
    const file = join(dir, 'hier.json');
    writeFileSync(file, JSON.stringify(scenario));
    const full = join(dir, 'full');
    const whole = await startFedmed(['run', file, '--out', full, '--workers', '1', '--quiet']).done;
    expect(whole.code, whole.stderr).toBe(0);
    const out = join(dir, 'out');
    const cli = startFedmed(['run', file, '--out', out, '--workers', '1', '--quiet'], {
      FEDMED_TEST_STALL_MS: '300',
    });
    while (roundsWritten(out) < 1) await new Promise((r) => setTimeout(r, 50));
    cli.child.kill('SIGINT');
    const stopped = await cli.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('stopping after the current round');
    expect(stopped.stderr).toMatch(/run stopped after \d+ rounds; continue it with: fedmed run --resume /);
    expect(stopped.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    const done = roundsWritten(out);
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(scenario.rounds);

    const resumed = await startFedmed(['run', '--resume', out, '--workers', '2', '--quiet']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(read(out, 'summary.json')) as { status: string; roundsCompleted: number };
    expect(summary).toMatchObject({ status: 'completed', roundsCompleted: scenario.rounds });
    expect(read(out, 'metrics.jsonl')).toBe(read(full, 'metrics.jsonl'));
    expect(read(out, 'crossings.jsonl')).toBe(read(full, 'crossings.jsonl'));
    const hash = (o: string) =>
      (JSON.parse(read(o, 'manifest.json')) as { finalModelSha256: string }).finalModelSha256;
    expect(hash(out)).toBe(hash(full));
    expect(existsSync(join(out, 'checkpoint.bin'))).toBe(false);
  }, 120_000);
});
