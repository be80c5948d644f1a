import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBounded } from '../../src/common/bounded-read.ts';
import { readRunText } from '../../src/report/read-json.ts';

const fail = (expected: string): never => {
  throw new Error(`expected ${expected}`);
};

describe('reading a file a hostile folder offers', () => {
  it('refuses a FIFO and a link to a device at once, without a blocking read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-bounded-'));
    execFileSync('mkfifo', [join(dir, 'crossings.jsonl')]);
    symlinkSync('/dev/zero', join(dir, 'metrics.jsonl'));
    expect(() => readRunText(join(dir, 'crossings.jsonl'))).toThrow(
      /crossings\.jsonl: expected a regular file \(this is a FIFO \(named pipe\)\)/,
    );
    expect(() => readRunText(join(dir, 'metrics.jsonl'))).toThrow(
      /metrics\.jsonl: expected a regular file \(this is a character device\)/,
    );
  });

  it('names a file over its cap, and reads one within it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-bounded-'));
    writeFileSync(join(dir, 'a.csv'), 'x'.repeat(2048));
    expect(() => readBounded(join(dir, 'a.csv'), 1024, fail)).toThrow(/at most 0\.001 MiB/);
    expect(readBounded(join(dir, 'a.csv'), 4096, fail).length).toBe(2048);
  });

  it('checks the file actually opened against the data root, so a path that leads out after a check is refused', () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'fedmed-bounded-')));
    const root = join(dir, 'root');
    mkdirSync(root);
    writeFileSync(join(dir, 'outside.csv'), 'secret\n');
    writeFileSync(join(root, 'inside.csv'), 'ok\n');
    symlinkSync(dir, join(root, 'd'));
    expect(readBounded(join(root, 'inside.csv'), 1024, fail, root).toString()).toBe('ok\n');
    expect(() => readBounded(join(root, 'd', 'outside.csv'), 1024, fail, root)).toThrow(
      /a path inside the data root/,
    );
  });
});
