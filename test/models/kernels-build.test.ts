import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';

describe('src/models/kernels.wasm', () => {
  it('is what wasm/build.mjs compiles from wasm/kernels.ts with the pinned assemblyscript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-kernels-'));
    try {
      const out = join(dir, 'kernels.wasm');
      execFileSync(process.execPath, ['wasm/build.mjs', out], { stdio: 'pipe' });
      const rebuilt = readFileSync(out);
      const committed = readFileSync('src/models/kernels.wasm');
      expect(rebuilt.length).toBeGreaterThan(1000);
      expect(sha256(rebuilt)).toBe(sha256(committed));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
