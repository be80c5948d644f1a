import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv } from '../../src/clients/data/csv.ts';
import { DicomError, readDicomFolder, writeDicomFolder } from '../../src/clients/data/dicom.ts';
import { EmrError } from '../../src/clients/data/emr.ts';
import { generateImages } from '../../src/clients/data/imaging.ts';
import { buildLocalData, type DataContext } from '../../src/clients/data/index.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { hospitalSchema } from '../../src/scenario/schema.ts';

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedmed-local-files-'));
  temps.push(d);
  return d;
}

const HEADER = 'id,age,sex,bmi,sbp,glucose,cholesterol,smoking,risk_alleles,disease';
const ROW = 'P1,50,M,24.0,120,100,200,never,0,0';
const isRoot = process.getuid?.() === 0;

/** Reading `path` as a hospital's CSV, expecting an EmrError; returns its message. */
function csvRefusal(path: string, root?: string): string {
  try {
    readCsv(path, { hospital: 'kr-1', ...(root === undefined ? {} : { root }) });
  } catch (e) {
    expect(e).toBeInstanceOf(EmrError);
    return (e as Error).message;
  }
  throw new Error('the file was read');
}

describe("a hospital's CSV file", () => {
  it('a FIFO is refused at once, never opened for a blocking read', () => {
    const d = tempDir();
    execFileSync('mkfifo', [join(d, 'pipe.csv')]);
    const started = performance.now();
    expect(csvRefusal(join(d, 'pipe.csv'))).toMatch(
      /hospital kr-1, file ".*pipe\.csv": expected a regular file \(this is a FIFO/,
    );
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('a device (/dev/zero) is refused, not read without end', () => {
    expect(csvRefusal('/dev/zero')).toMatch(/expected a regular file \(this is a character device\)/);
  });

  it('a file above the size cap is refused before it is read', () => {
    const file = join(tempDir(), 'huge.csv');
    writeFileSync(file, '');
    truncateSync(file, 300 * 2 ** 20); // sparse: no disk space used
    expect(csvRefusal(file)).toMatch(/expected a file of at most 256 MiB \(this one has 300 MiB\)/);
  });

  it('UTF-16 text is named as such, not reported as a ragged row', () => {
    const file = join(tempDir(), 'utf16.csv');
    writeFileSync(
      file,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}\n${ROW}\n`, 'utf16le')]),
    );
    expect(csvRefusal(file)).toMatch(/expected UTF-8 text \(this file is UTF-16/);
    const noBom = join(tempDir(), 'utf16-no-bom.csv');
    writeFileSync(noBom, Buffer.from(`${HEADER}\n${ROW}\n`, 'utf16le'));
    expect(csvRefusal(noBom)).toMatch(/expected text without NUL characters/);
  });

  it('a dangling symbolic link is named as one', () => {
    const d = tempDir();
    symlinkSync(join(d, 'gone.csv'), join(d, 'records.csv'));
    expect(csvRefusal(join(d, 'records.csv'), d)).toMatch(
      /expected an existing file \(this is a symbolic link to nothing\)/,
    );
  });

  it.skipIf(isRoot)('an unreadable file is named, without the raw error code', () => {
    const file = join(tempDir(), 'secret.csv');
    writeFileSync(file, `${HEADER}\n${ROW}\n`);
    chmodSync(file, 0o000);
    expect(csvRefusal(file)).toMatch(/expected a readable file \(permission denied\)/);
  });

  it('a symbolic link leading out of the data root is refused', () => {
    const outside = join(tempDir(), 'elsewhere.csv');
    writeFileSync(outside, `${HEADER}\n${ROW}\n`);
    const root = tempDir();
    symlinkSync(outside, join(root, 'records.csv'));
    expect(csvRefusal(join(root, 'records.csv'), root)).toMatch(/a symbolic link leads out of it/);
  });
});

describe("a hospital's DICOM folder", () => {
  const h = hospitalSchema.parse({ id: 'cn-1', country: 'CN', patients: 20 });
  const OPTS = { fileColumn: 'file', labelColumn: 'lesion', hospital: 'cn-1' } as const;
  const folder = () => {
    const d = tempDir();
    writeDicomFolder(d, generateImages(h, { size: 8, prevalence: 0.5 }, 1), { hospital: 'cn-1', seed: 1 });
    return d;
  };
  const refusal = (d: string): string => {
    try {
      readDicomFolder(d, join(d, 'labels.csv'), OPTS);
    } catch (e) {
      expect(e).toBeInstanceOf(DicomError);
      return (e as Error).message;
    }
    throw new Error('the folder was read');
  };

  it('an unlisted dangling symbolic link named .dcm is a DicomError naming it, not a raw ENOENT', () => {
    const d = folder();
    symlinkSync(join(d, 'nowhere'), join(d, 'extra.dcm'));
    expect(refusal(d)).toMatch(
      /^hospital cn-1: .*\/extra\.dcm: expected a readable file or no such entry \(not found\)/,
    );
  });

  it('a listed image that is a dangling symbolic link or a FIFO is named with its line', () => {
    const d = folder();
    rmSync(join(d, 'img-00002.dcm'));
    symlinkSync(join(d, 'nowhere'), join(d, 'img-00002.dcm'));
    expect(refusal(d)).toMatch(
      /img-00002\.dcm: expected an existing file \(this is a symbolic link to nothing\) \(listed on line 3/,
    );
    const f = folder();
    rmSync(join(f, 'img-00003.dcm'));
    execFileSync('mkfifo', [join(f, 'img-00003.dcm')]);
    expect(refusal(f)).toMatch(/img-00003\.dcm: expected a regular file \(this is a FIFO/);
  });

  it('a UTF-16 labels file is named as such', () => {
    const d = folder();
    writeFileSync(
      join(d, 'labels.csv'),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('file,lesion\n', 'utf16le')]),
    );
    expect(refusal(d)).toMatch(/labels\.csv: expected UTF-8 text \(this file is UTF-16/);
  });
});

describe("a hospital's data is confined to the data root, checked again in the worker", () => {
  const scenario = (path: string, split?: unknown) =>
    parseScenario({
      name: 'confined',
      rounds: 1,
      coordinator: { site: 'KR' },
      data: { kind: 'synthetic-cohort' },
      hospitals: [
        {
          id: 'kr-1',
          country: 'KR',
          patients: 20,
          source: { kind: 'csv', path, ...(split === undefined ? {} : { split }) },
        },
      ],
      model: { kind: 'logistic' },
    });
  const ctx = (root: string, path: string, split?: unknown): DataContext => {
    const s = scenario(path, split);
    return { seed: 1, data: s.data, hospitals: s.hospitals, baseDir: root };
  };
  const rows = (n: number, split: (i: number) => string) =>
    [
      `${HEADER},split`,
      ...Array.from({ length: n }, (_, i) => `P${i},50,M,24.0,120,100,200,never,0,${i % 2},${split(i)}`),
    ].join('\n');

  it('an absolute path, a path leaving the root with .. and a link leading out are refused', () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(
      join(outside, 'r.csv'),
      rows(20, () => 'train'),
    );
    mkdirSync(join(root, 'kr'));
    symlinkSync(join(outside, 'r.csv'), join(root, 'kr', 'link.csv'));
    const refused = (path: string) => () => buildLocalData('kr-1', ctx(root, path));
    expect(refused(join(outside, 'r.csv'))).toThrow(
      /hospital kr-1, file ".*r\.csv": expected a path relative to the data root/,
    );
    expect(refused('../' + outside.split('/').pop() + '/r.csv')).toThrow(/leaves it through "\.\."/);
    expect(refused('kr/link.csv')).toThrow(/a symbolic link leads out of it/);
  });

  it('a hospital without held-out rows is an error like one without training rows', () => {
    const root = tempDir();
    writeFileSync(
      join(root, 'all-train.csv'),
      rows(20, () => 'train'),
    );
    writeFileSync(
      join(root, 'all-test.csv'),
      rows(20, () => 'test'),
    );
    const split = { kind: 'column', column: 'split', testValue: 'test' };
    expect(() => buildLocalData('kr-1', ctx(root, 'all-train.csv', split))).toThrow(
      /hospital kr-1, file ".*all-train\.csv", column "split": expected at least one held-out record .*a row whose split is "test"/,
    );
    expect(() => buildLocalData('kr-1', ctx(root, 'all-test.csv', split))).toThrow(
      /hospital kr-1, file ".*all-test\.csv", column "split": expected at least one training record/,
    );
  });
});
