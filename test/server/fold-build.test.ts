import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';

describe('src/server/fold.wasm', () => {
  it('is what wasm/build.mjs --fold compiles from wasm/fold.ts with the pinned assemblyscript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-fold-'));
    try {
      const out = join(dir, 'fold.wasm');
      execFileSync(process.execPath, ['wasm/build.mjs', '--fold', out], { stdio: 'pipe' });
      const rebuilt = readFileSync(out);
      const committed = readFileSync('src/server/fold.wasm');
      expect(rebuilt.length).toBeGreaterThan(500);
      expect(sha256(rebuilt)).toBe(sha256(committed));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
