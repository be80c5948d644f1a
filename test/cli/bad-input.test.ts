import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';

const tiny = {
  name: 'bad-input',
  rounds: 1,
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort' },
  hospitals: [
    { id: 'kr-1', country: 'KR', patients: 40 },
    { id: 'cn-1', country: 'CN', patients: 40 },
  ],
  model: { kind: 'logistic' },
};

describe('input that used to end in exit 1, a stack trace or a process that lingered is exit 2, naming the JSON path', () => {
  it.each([
    [
      'generate with two fields on one EMR column',
      'generate',
      {
        ...tiny,
        hospitals: [{ ...tiny.hospitals[0], emr: { columns: { age: 'x', sex: 'x' } } }, tiny.hospitals[1]],
      },
      /\$\.hospitals\[0\]\.emr\.columns\.sex: expected a distinct column for each field, but both age and sex map to "x"/,
    ],
    [
      'a custom strategy module that is a folder',
      'run',
      { ...tiny, strategy: { name: 'custom', module: 'folder.mjs' } },
      /\$\.strategy\.module .*folder\.mjs: expected a module file \(this is a folder\)/,
    ],
    [
      'strategy options nested 20,000 levels deep',
      'run',
      `{"name":"bad-input","rounds":1,"coordinator":{"site":"KR"},"data":{"kind":"synthetic-cohort"},"hospitals":[{"id":"kr-1","country":"KR","patients":40}],"model":{"kind":"logistic"},"strategy":{"name":"custom","module":"m.mjs","options":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}}`,
      /\$\.strategy\.options: options nested deeper than 32 levels/,
    ],
    [
      'sweep values whose folder names collide',
      'run',
      { ...tiny, description: 'd', sweep: { parameter: 'description', values: ['a b', 'a_b'] } },
      /\$\.sweep\.values\[1\]: gives the same folder name "description-a_b" as \$\.sweep\.values\[0\]/,
    ],
  ])('%s', (_what, command, content, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-bad-input-'));
    mkdirSync(join(dir, 'folder.mjs'));
    const file = join(dir, 'scenario.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    const started = Date.now();
    const r = fedmed([command, file, '--out', join(dir, 'out'), ...(command === 'run' ? ['--quiet'] : [])]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
