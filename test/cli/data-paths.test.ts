import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';

const HEADER = 'id,age,sex,bmi,sbp,glucose,cholesterol,smoking,risk_alleles,disease';

/** A CSV of `n` plausible patients in the common data model, half of them cases. */
function records(n: number): string {
  const rows = Array.from(
    { length: n },
    (_, i) =>
      `P${i},${40 + (i % 30)},${i % 3 ? 'M' : 'F'},${22 + (i % 7)}.0,${110 + i},${90 + 2 * i},190,never,${i % 3},${i % 2}`,
  );
  return [HEADER, ...rows].join('\n') + '\n';
}

/** A study folder: data/kr.csv and data/cn.csv beside a scenario in scenarios/ whose hospitals read `paths`. */
function study(paths: [string, string]): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedmed-cli-paths-'));
  mkdirSync(join(dir, 'data'));
  mkdirSync(join(dir, 'scenarios'));
  writeFileSync(join(dir, 'data', 'kr.csv'), records(40));
  writeFileSync(join(dir, 'data', 'cn.csv'), records(40));
  const file = join(dir, 'scenarios', 's.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 'paths',
      rounds: 1,
      backend: 'js',
      coordinator: { site: 'KR' },
      data: { kind: 'synthetic-cohort' },
      hospitals: [
        { id: 'kr-1', country: 'KR', patients: 40, source: { kind: 'csv', path: paths[0] } },
        { id: 'cn-1', country: 'CN', patients: 40, source: { kind: 'csv', path: paths[1] } },
      ],
      model: { kind: 'logistic' },
    }),
  );
  return { dir, file };
}

describe('fedmed run confines each hospital to its own files', () => {
  it('two hospitals naming one file: exit 2 naming both hospitals and JSON paths, before any work', () => {
    const { dir, file } = study(['data/kr.csv', 'data/./kr.csv']);
    const r = fedmed(['run', file, '--data-root', dir, '--out', join(dir, 'out'), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /\$\.hospitals\[1\]\.source\.path and \$\.hospitals\[0\]\.source\.path: hospitals cn-1 and kr-1 name the same file/,
    );
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it("a path leaving the scenario's folder is exit 2; --data-root makes another folder the root paths resolve in", () => {
    const outside = study(['../data/kr.csv', '../data/cn.csv']);
    const refused = fedmed(['run', outside.file, '--out', join(outside.dir, 'out'), '--quiet']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/\$\.hospitals\[0\]\.source\.path: expected a path inside the data root/);
    expect(existsSync(join(outside.dir, 'out'))).toBe(false);
    const { dir, file } = study(['data/kr.csv', 'data/cn.csv']);
    const r = fedmed([
      'run',
      file,
      '--data-root',
      dir,
      '--out',
      join(dir, 'out'),
      '--quiet',
      '--baselines',
      '',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
