import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataPaths } from '../../src/scenario/data-paths.ts';
import { hospitalSchema } from '../../src/scenario/schema.ts';

const csv = (id: string, path: string) =>
  hospitalSchema.parse({ id, country: 'KR', patients: 20, source: { kind: 'csv', path } });
const dicom = (id: string, folder: string, labels: string) =>
  hospitalSchema.parse({ id, country: 'CN', patients: 20, source: { kind: 'dicom', folder, labels } });

/** The message checkDataPaths gives for these hospitals under `root`. */
function refusal(hospitals: ReturnType<typeof csv>[], root: string): string {
  try {
    checkDataPaths(hospitals, root, (m) => {
      throw new Error(m);
    });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
}

function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedmed-paths-'));
  mkdirSync(join(d, 'kr'));
  writeFileSync(join(d, 'kr', 'a.csv'), 'x\n');
  writeFileSync(join(d, 'kr', 'b.csv'), 'x\n');
  return d;
}

describe('data paths are checked before any worker starts', () => {
  it('own files inside the root pass', () => {
    const d = root();
    expect(() =>
      checkDataPaths([csv('kr-1', 'kr/a.csv'), csv('kr-2', 'kr/b.csv')], d, (m) => {
        throw new Error(m);
      }),
    ).not.toThrow();
  });

  it('two hospitals naming one file, however spelled or linked, are refused naming both and their JSON paths', () => {
    const d = root();
    expect(refusal([csv('kr-1', 'kr/a.csv'), csv('kr-2', './kr/../kr/a.csv')], d)).toBe(
      '$.hospitals[1].source.path and $.hospitals[0].source.path: hospitals kr-2 and kr-1 name the same file; ' +
        "expected each hospital's own files",
    );
    symlinkSync('a.csv', join(d, 'kr', 'alias.csv'));
    expect(refusal([csv('kr-1', 'kr/a.csv'), csv('kr-2', 'kr/alias.csv')], d)).toMatch(
      /hospitals kr-2 and kr-1 name the same file/,
    );
  });

  it("a file inside another hospital's DICOM folder is shared too", () => {
    const d = root();
    expect(refusal([dicom('cn-1', 'kr', 'kr/b.csv'), csv('kr-1', 'kr/a.csv')], d)).toMatch(
      /^\$\.hospitals\[1\]\.source\.path and \$\.hospitals\[0\]\.source\.folder: hospitals kr-1 and cn-1 name the same files/,
    );
  });

  it('an absolute path, a path out of the root and a link out of it are refused with the JSON path', () => {
    const d = root();
    const outside = root();
    expect(refusal([csv('kr-1', join(d, 'kr/a.csv'))], d)).toMatch(
      /^\$\.hospitals\[0\]\.source\.path: expected a path relative to the data root \(an absolute path is refused; see --data-root\)/,
    );
    expect(refusal([csv('kr-1', '../x.csv')], d)).toMatch(
      /^\$\.hospitals\[0\]\.source\.path: .*leaves it through "\.\."/,
    );
    symlinkSync(join(outside, 'kr', 'a.csv'), join(d, 'out.csv'));
    expect(refusal([csv('kr-1', 'out.csv')], d)).toMatch(/a symbolic link leads out of it/);
  });

  it('a missing file, a FIFO or a folder in place of a file is refused without opening it', () => {
    const d = root();
    execFileSync('mkfifo', [join(d, 'pipe.csv')]);
    expect(refusal([csv('kr-1', 'nope.csv')], d)).toMatch(
      /^\$\.hospitals\[0\]\.source\.path: expected an existing file \(not found/,
    );
    expect(refusal([csv('kr-1', 'pipe.csv')], d)).toMatch(/expected a regular file \(this is a FIFO/);
    expect(refusal([csv('kr-1', 'kr')], d)).toMatch(/expected a regular file \(this is a folder\)/);
  });
});
