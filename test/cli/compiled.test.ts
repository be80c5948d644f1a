import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compiledCli } from '../../bin/compiled.mjs';
import { fedmed } from '../helpers/cli.ts';

const manifest = (out: string) =>
  JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { finalModelSha256: string };

describe('the compiled CLI (bin/compiled.mjs)', () => {
  it('gives the same model, metrics and crossing record as the TypeScript sources under tsx', async () => {
    // It compiles here (no silent fallback to tsx) and in the cache the commands use.
    expect(await compiledCli()).toMatch(/node_modules\/\.cache\/fedmed\/cli\/[0-9a-f]{16}\/cli\.js$/);
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-compiled-'));
    try {
      const args = (out: string) => [
        'run',
        'scenarios/quickstart.json',
        '--rounds',
        '2',
        '--quiet',
        '--out',
        out,
      ];
      const compiled = fedmed(args(join(dir, 'compiled')));
      const tsx = fedmed(args(join(dir, 'tsx')), { FEDMED_NO_COMPILE: '1' });
      expect(compiled.code, compiled.stderr).toBe(0);
      expect(tsx.code, tsx.stderr).toBe(0);
      expect(manifest(join(dir, 'compiled')).finalModelSha256).toBe(
        manifest(join(dir, 'tsx')).finalModelSha256,
      );
      for (const file of ['metrics.jsonl', 'crossings.jsonl']) {
        expect(readFileSync(join(dir, 'compiled', file))).toEqual(readFileSync(join(dir, 'tsx', file)));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
