import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startFedmed } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-bench-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fedmed bench after a kill', () => {
  it('resumes the unfinished run from its checkpoint and completes it', async () => {
    const out = join(dir, 'bench');
    const args = [
      'bench',
      join(ROOT, 'test/fixtures/resume/tiny-fedadam.json'),
      '--strategies',
      'fedadam',
      '--seeds',
      '1',
      '--baselines',
      '',
      '--workers',
      '1',
      '--out',
      out,
    ];
    const killed = await startFedmed(args, { FEDMED_TEST_KILL_AT: 'aggregate:3' }).done;
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const again = await startFedmed(args).done;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming .*fedadam\/seed-1 after round 2/);
    const rounds = readFileSync(join(out, 'fedadam', 'seed-1', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { round: number }).round);
    expect(rounds).toEqual([1, 2, 3, 4, 5]);
  }, 180_000);
});
