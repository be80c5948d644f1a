import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/scenario/load.ts';
import { verifyRun } from '../../../src/server/compliance/verify.ts';

describe('fedmed verify on a folder that lies', () => {
  it('a manifest that is JSON but not an object is bad input naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-verify-'));
    writeFileSync(join(dir, 'manifest.json'), 'null');
    await expect(verifyRun(dir)).rejects.toThrow(InputError);
    await expect(verifyRun(dir)).rejects.toThrow(/manifest\.json: expected a JSON object/);
  });

  it('a FIFO in place of the manifest is named at once, never read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-verify-'));
    execFileSync('mkfifo', [join(dir, 'manifest.json')]);
    await expect(verifyRun(dir)).rejects.toThrow(/manifest\.json: expected a regular file \(this is a FIFO/);
  });
});
