import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data as dcm } from 'dcmjs';
import type { DicomDataset } from 'dcmjs';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DicomError,
  readDicomFolder,
  writeDicomFolder,
  writeDicomImage,
} from '../../src/clients/data/dicom.ts';
import { generateImages, type ImageSet } from '../../src/clients/data/imaging.ts';
import { hospitalSchema } from '../../src/scenario/schema.ts';

const HOSPITAL = 'cn-shanghai-1';
const OPTS = { fileColumn: 'file', labelColumn: 'lesion', hospital: HOSPITAL } as const;
const temps: string[] = [];

afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedmed-dicom-'));
  temps.push(d);
  return d;
}

/** The first `n` of a hospital's images (a hospital has at least 20 patients). */
function images(n: number, seed = 3): ImageSet {
  const h = hospitalSchema.parse({
    id: HOSPITAL,
    country: 'CN',
    patients: Math.max(20, n),
    imaging: { scanner: { contrast: 1.4, noise: 0.3, blur: 0.8, shift: -0.4 } },
  });
  const all = generateImages(h, { size: 32, prevalence: 0.4 }, seed);
  const area = all.size * all.size;
  return {
    n,
    size: all.size,
    pixels: all.pixels.slice(0, n * area),
    labels: all.labels.slice(0, n),
    sex: all.sex.slice(0, n),
    age: all.age.slice(0, n),
  };
}

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** A folder of 6 images and its labels; returns the folder. */
function folderOf(set = images(6)): string {
  const folder = tempDir();
  writeDicomFolder(folder, set, { hospital: HOSPITAL, seed: 3 });
  return folder;
}

/** Rewrites one DICOM file after changing its data set. */
function edit(path: string, change: (ds: DicomDataset) => void): void {
  const raw = readFileSync(path);
  const dict = dcm.DicomMessage.readFile(new Uint8Array(raw).buffer);
  change(dict.dict);
  writeFileSync(path, new Uint8Array(dict.write()));
}

function errorOf(f: () => unknown): DicomError {
  try {
    f();
  } catch (e) {
    if (e instanceof DicomError) {
      expect(e.message, 'names no patient id').not.toContain(`${HOSPITAL}-0`);
      return e;
    }
    throw e;
  }
  throw new Error('expected a DicomError');
}

describe('DICOM round trip', () => {
  it('reproduces pixels, labels, sex and age exactly', () => {
    const set = images(40);
    const folder = tempDir();
    const split = Array.from({ length: set.n }, (_, i) => (i % 4 === 0 ? 'test' : 'train'));
    writeDicomFolder(folder, set, { hospital: HOSPITAL, seed: 3, split });
    const back = readDicomFolder(folder, join(folder, 'labels.csv'), { ...OPTS, splitColumn: 'split' });
    expect(back.n).toBe(set.n);
    expect(back.size).toBe(set.size);
    expect(bytes(back.pixels).equals(bytes(set.pixels))).toBe(true);
    expect(bytes(back.labels).equals(bytes(set.labels))).toBe(true);
    expect(bytes(back.sex).equals(bytes(set.sex))).toBe(true);
    expect(bytes(back.age).equals(bytes(set.age))).toBe(true);
    expect(back.split).toEqual(split);
    expect(back.files[0]).toBe('img-00001.dcm');
    expect(readFileSync(join(folder, 'labels.csv'), 'utf8').split('\n')[0]).toBe('file,lesion,split');
  });

  it('writes a Part 10 Secondary Capture file whose bytes depend on hospital, seed and index only', () => {
    const set = images(2);
    const a = folderOf(set);
    const b = folderOf(set);
    const one = readFileSync(join(a, 'img-00001.dcm'));
    expect(one.equals(readFileSync(join(b, 'img-00001.dcm')))).toBe(true);
    expect(one.toString('latin1', 128, 132)).toBe('DICM');

    const c = tempDir();
    writeDicomFolder(c, set, { hospital: HOSPITAL, seed: 4 });
    expect(one.equals(readFileSync(join(c, 'img-00001.dcm')))).toBe(false);

    const ds = dcm.DicomMessage.readFile(new Uint8Array(one).buffer).dict;
    const value = (tag: string) => ds[tag]?.Value[0];
    expect(value('00080016')).toBe('1.2.840.10008.5.1.4.1.1.7');
    expect(value('00280004')).toBe('MONOCHROME2');
    expect(value('00101010')).toBe(`${String(set.age[0]).padStart(3, '0')}Y`);
    expect(value('00100040')).toBe(set.sex[0] === 1 ? 'M' : 'F');
    const uids = ['00080018', '0020000D', '0020000E'].map((t) => String(value(t)));
    for (const uid of uids) expect(uid).toMatch(/^2\.25\.(0|[1-9][0-9]*)$/);
    for (const uid of uids) expect(uid.length).toBeLessThanOrEqual(64);
    expect(new Set(uids).size).toBe(3);
  });

  it('rejects pixels off the 1/1024 grid when writing', () => {
    const pixels = new Float32Array(4).fill(0.1);
    const e = errorOf(() =>
      writeDicomImage(
        join(tempDir(), 'x.dcm'),
        { pixels, size: 2, patientId: 'p', sex: 1, age: 40 },
        { hospital: HOSPITAL, seed: 1, index: 0 },
      ),
    );
    expect(e.message).toContain('(7FE0,0010) PixelData');
    expect(e.message).not.toContain('0.1');
  });
});

describe('DICOM errors name hospital, file and tag or row, never a value', () => {
  const labels = (folder: string) => join(folder, 'labels.csv');

  it('a corrupt file', () => {
    const folder = folderOf();
    writeFileSync(join(folder, 'img-00002.dcm'), Buffer.from('not a dicom file at all'));
    const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(e.message).toMatch(/^hospital cn-shanghai-1: \/.*\/img-00002\.dcm: .*DICM/);
    expect(e.file).toBe(join(folder, 'img-00002.dcm'));
  });

  it('a truncated file', () => {
    const folder = folderOf();
    const path = join(folder, 'img-00003.dcm');
    const raw = readFileSync(path);
    writeFileSync(path, raw.subarray(0, raw.length - 100));
    const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(e.message).toContain('img-00003.dcm');
    expect(e.message).toContain('(7FE0,0010) PixelData');
  });

  it('a missing file', () => {
    const folder = folderOf();
    unlinkSync(join(folder, 'img-00004.dcm'));
    const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(e.message).toContain('img-00004.dcm');
    expect(e.message).toContain('line 5 of labels.csv');
  });

  it('a non-square image', () => {
    const folder = folderOf();
    edit(join(folder, 'img-00002.dcm'), (ds) => {
      ds['00280011'] = { vr: 'US', Value: [16] };
      const px = ds['7FE00010']!.Value[0] as ArrayBuffer;
      ds['7FE00010'] = { vr: 'OW', Value: [px.slice(0, 32 * 16 * 2)] };
    });
    const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(e.message).toContain('img-00002.dcm');
    expect(e.message).toContain('(0028,0011) Columns');
    expect(e.where).toBe('(0028,0011) Columns');
  });

  it('an image of another size than the first', () => {
    const folder = folderOf();
    writeDicomImage(
      join(folder, 'img-00006.dcm'),
      { pixels: new Float32Array(16 * 16), size: 16, patientId: 'x', sex: 0, age: 50 },
      { hospital: HOSPITAL, seed: 3, index: 5 },
    );
    const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(e.message).toContain('img-00006.dcm');
    expect(e.message).toContain('(0028,0010) Rows');
  });

  it('a wrong photometric interpretation, sex code or age', () => {
    const cases: [string, (ds: DicomDataset) => void, string, string][] = [
      [
        'img-00001.dcm',
        (ds) => (ds['00280004'] = { vr: 'CS', Value: ['MONOCHROME1'] }),
        '(0028,0004) PhotometricInterpretation',
        'MONOCHROME1',
      ],
      ['img-00002.dcm', (ds) => (ds['00100040'] = { vr: 'CS', Value: ['X'] }), '(0010,0040) PatientSex', 'X'],
      [
        'img-00003.dcm',
        (ds) => (ds['00101010'] = { vr: 'AS', Value: ['063X'] }),
        '(0010,1010) PatientAge',
        '063X',
      ],
      ['img-00004.dcm', (ds) => delete ds['00280100'], '(0028,0100) BitsAllocated', ''],
    ];
    for (const [file, change, tag, value] of cases) {
      const folder = folderOf();
      edit(join(folder, file), change);
      const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
      expect(e.message).toContain(file);
      expect(e.message).toContain(tag);
      if (value !== '') expect(e.message.replaceAll(folder, '<folder>')).not.toContain(value);
    }
  });

  it('a file without a label row, and a label row with a bad value', () => {
    const folder = folderOf();
    const csv = readFileSync(labels(folder), 'utf8').split('\n');
    writeFileSync(labels(folder), csv.filter((l) => !l.startsWith('img-00003.dcm')).join('\n'));
    const e = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(e.message).toContain('img-00003.dcm');
    expect(e.message).toContain('labels.csv');

    writeFileSync(
      labels(folder),
      csv.map((l) => (l.startsWith('img-00003.dcm') ? 'img-00003.dcm,maybe' : l)).join('\n'),
    );
    const bad = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(bad.message).toBe(
      `hospital cn-shanghai-1: ${labels(folder)}: line 4, column lesion: expected 0 or 1`,
    );
  });

  it('a labels file without the expected columns, or naming a path outside the folder', () => {
    const folder = folderOf();
    const e = errorOf(() => readDicomFolder(folder, labels(folder), { ...OPTS, labelColumn: 'finding' }));
    expect(e.message).toBe(
      `hospital cn-shanghai-1: ${labels(folder)}: line 1: expected a column named "finding"`,
    );

    writeFileSync(labels(folder), 'file,lesion\n../elsewhere.dcm,1\n');
    const out = errorOf(() => readDicomFolder(folder, labels(folder), OPTS));
    expect(out.message).toContain('line 2, column file');
    expect(out.message).toContain('inside the DICOM folder');
  });
});
