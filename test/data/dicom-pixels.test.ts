import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { data as dcm } from 'dcmjs';
import type { DicomElement } from 'dcmjs';
import { describe, expect, it } from 'vitest';
import { readDicomPixels } from '../../src/clients/data/dicom-pixels.ts';
import { TAG, type TagName } from '../../src/clients/data/dicom-parse.ts';
import { readImageFolder } from '../../src/clients/data/image-folder.ts';
import type { ImageFolderConfig, ImageFolderSource } from '../../src/clients/data/image-folder.ts';

const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';

interface Encoding {
  readonly rows: number;
  readonly columns: number;
  readonly samples?: 1 | 3;
  readonly photometric?: string;
  readonly planar?: 0 | 1;
  readonly allocated?: 8 | 16;
  readonly stored?: number;
  readonly signed?: 0 | 1;
  readonly slope?: string;
  readonly syntax?: string;
}

/** A DICOM Part 10 file (Secondary Capture) of the given encoding holding these raw stored samples. */
function dicomFile(e: Encoding, raw: readonly number[]): Buffer {
  const allocated = e.allocated ?? 16;
  const pixels = new ArrayBuffer(raw.length * (allocated / 8));
  const view = new DataView(pixels);
  raw.forEach((v, k) =>
    allocated === 8 ? view.setUint8(k, v & 0xff) : view.setUint16(2 * k, v & 0xffff, true),
  );
  const el = (vr: string, ...values: (string | number | ArrayBuffer)[]): DicomElement => ({
    vr,
    Value: values,
  });
  const dict = new dcm.DicomDict({
    '00020001': el('OB', new Uint8Array([0, 1]).buffer),
    '00020002': el('UI', '1.2.840.10008.5.1.4.1.1.7'),
    '00020003': el('UI', '2.25.1'),
    '00020010': el('UI', e.syntax ?? EXPLICIT_VR_LE),
  });
  dict.dict = {
    '00080016': el('UI', '1.2.840.10008.5.1.4.1.1.7'),
    '00080018': el('UI', '2.25.1'),
    '00100020': el('LO', 'secret-patient-id'),
    '00280002': el('US', e.samples ?? 1),
    '00280004': el('CS', e.photometric ?? 'MONOCHROME2'),
    ...(e.samples === 3 ? { '00280006': el('US', e.planar ?? 0) } : {}),
    '00280010': el('US', e.rows),
    '00280011': el('US', e.columns),
    '00280100': el('US', allocated),
    '00280101': el('US', e.stored ?? allocated),
    '00280102': el('US', (e.stored ?? allocated) - 1),
    '00280103': el('US', e.signed ?? 0),
    ...(e.slope === undefined ? {} : { '00281053': el('DS', e.slope) }),
    '7FE00010': el(allocated === 8 ? 'OB' : 'OW', pixels),
  };
  return Buffer.from(dict.write());
}

const fail = (tag: TagName | undefined, expected: string): never => {
  throw new Error(`${tag === undefined ? 'file' : TAG[tag][1]}: ${expected}`);
};

describe('DICOM images of any size and channel count', () => {
  it('a non-square 12-bit grey image maps its stored range onto [0, 1] exactly', () => {
    const raw = [0, 1, 2048, 4095, 100, 4000];
    const d = readDicomPixels(dicomFile({ rows: 2, columns: 3, stored: 12 }, raw), fail);
    expect([d.width, d.height, d.samples]).toEqual([3, 2, 1]);
    expect(Array.from(d.values)).toEqual(raw.map((v) => v / 4095));
  });

  it('signed MONOCHROME1 is shifted to its range and inverted so 1 is brightest', () => {
    const raw = [-32768, -1, 0, 32767];
    const d = readDicomPixels(
      dicomFile({ rows: 2, columns: 2, signed: 1, photometric: 'MONOCHROME1' }, raw),
      fail,
    );
    expect(Array.from(d.values)).toEqual(raw.map((v) => 1 - (v + 32768) / 65535));
  });

  it('RGB interleaved and planar give the same interleaved samples (8 bits)', () => {
    const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30];
    const planar = [0, 1, 2].flatMap((c) => [0, 1, 2, 3].map((p) => rgb[3 * p + c]!));
    const a = readDicomPixels(
      dicomFile({ rows: 2, columns: 2, samples: 3, photometric: 'RGB', allocated: 8 }, rgb),
      fail,
    );
    const b = readDicomPixels(
      dicomFile({ rows: 2, columns: 2, samples: 3, photometric: 'RGB', allocated: 8, planar: 1 }, planar),
      fail,
    );
    expect(a.samples).toBe(3);
    expect(Array.from(a.values)).toEqual(rgb.map((v) => v / 255));
    expect(Array.from(b.values)).toEqual(Array.from(a.values));
  });

  it('encodings it cannot read are named by tag, never by value', () => {
    const cases: [Encoding, RegExp][] = [
      [{ rows: 1, columns: 1, samples: 3, photometric: 'YBR_FULL' }, /\(0028,0004\).*expected RGB/],
      [
        { rows: 1, columns: 1, syntax: '1.2.840.10008.1.2.4.50' },
        /\(0002,0010\).*uncompressed little endian/,
      ],
      [{ rows: 1, columns: 1, allocated: 8, stored: 12 }, /\(0028,0101\).*1 to BitsAllocated/],
    ];
    for (const [e, message] of cases) {
      expect(() => readDicomPixels(dicomFile(e, [7, 7, 7]), fail)).toThrow(message);
    }
    const truncated = dicomFile({ rows: 2, columns: 2 }, [1, 2, 3, 4]).subarray(0, -2);
    expect(() => readDicomPixels(truncated, fail)).toThrow(/\(7FE0,0010\).*truncated/);
  });
});

describe('an image folder of DICOM files', () => {
  const folder = (files: Record<string, Buffer>, labels: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-dcm-folder-'));
    mkdirSync(join(dir, 'img'));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, 'img', name), bytes);
    writeFileSync(join(dir, 'img', 'labels.csv'), labels);
    return dir;
  };
  const source = {
    kind: 'image-folder',
    folder: 'img',
    labels: 'img/labels.csv',
    fileColumn: 'file',
    labelColumn: 'label',
    codes: {},
    split: { kind: 'fraction' },
  } as ImageFolderSource;
  const config = (channels: number) =>
    ({
      kind: 'image-folder',
      height: 1,
      width: 2,
      channels,
      outcome: { name: 'label', type: 'multiclass', classes: ['a', 'b', 'c'] },
    }) as ImageFolderConfig;
  const read = (dir: string, channels: number) =>
    readImageFolder(config(channels), source, {
      hospital: 'kr-1',
      folder: join(dir, 'img'),
      labels: join(dir, 'img', 'labels.csv'),
      root: dir,
    });

  it('mixes DICOM with PNG-free folders: grey fills every channel, RGB averages to grey', () => {
    const grey = dicomFile({ rows: 1, columns: 2, allocated: 8 }, [0, 255]);
    const colour = dicomFile(
      { rows: 1, columns: 2, samples: 3, photometric: 'RGB', allocated: 8 },
      [255, 0, 0, 30, 60, 90],
    );
    const dir = folder({ 'g.dcm': grey, 'c.dcm': colour }, 'file,label\ng.dcm,a\nc.dcm,c\n');
    expect(Array.from(read(dir, 3).x)).toEqual([0, 0, 0, 1, 1, 1, 1, 0, 0, 30 / 255, 60 / 255, 90 / 255]);
    const one = Array.from(read(dir, 1).x);
    expect(one.slice(0, 2)).toEqual([0, 1]);
    expect(one[2]).toBeCloseTo(1 / 3, 15);
    expect(one[3]).toBeCloseTo(60 / 255, 15);
    expect(Array.from(read(dir, 1).y)).toEqual([0, 2]);
  });

  it('a DICOM image of another size stops the read naming hospital, file and both sizes, no value', () => {
    const dir = folder(
      { 'big.dcm': dicomFile({ rows: 3, columns: 2 }, [1, 2, 3, 4, 5, 6]) },
      'file,label\nbig.dcm,a\n',
    );
    let message = '';
    try {
      read(dir, 1);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/hospital kr-1.*big\.dcm.*an image of 2×1 pixels .* this one is 2×3/);
    expect(message).not.toContain('secret');
  });
});
