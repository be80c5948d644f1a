import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { readOwnData } from '../../src/clients/data/own-data.ts';
import { OwnDataSetup } from '../../src/clients/own-data-setup.ts';
import type { OwnDataConfig } from '../../src/protocol/own-data-layout.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { HospitalConfig } from '../../src/scenario/schema.ts';

/** A declared table: a numeric feature in mg/dL, a categorical one, three classes. */
const table = {
  kind: 'tabular',
  features: [
    { name: 'glucose', type: 'numeric', unit: 'mg/dL', missing: 'drop' },
    { name: 'smoker', type: 'categorical', categories: ['no', 'yes'], missing: 'impute-indicator' },
  ],
  outcome: { name: 'stage', type: 'multiclass', classes: ['I', 'II', 'III'] },
  preprocessing: { scaling: 'local-standardise' },
};

function scenarioWith(data: object, source: object) {
  return parseScenario({
    name: 'own-data-unit',
    rounds: 1,
    coordinator: { site: 'KR' },
    data,
    hospitals: [{ id: 'kr-1', country: 'KR', patients: 20, source }],
    model: { kind: 'logistic' },
  });
}

function read(dir: string, data: object, source: object) {
  const s = scenarioWith(data, source);
  return readOwnData(s.hospitals[0] as HospitalConfig, s.data as OwnDataConfig, 1, dir);
}

/** The error a read throws, as text. */
function failure(dir: string, data: object, source: object): string {
  try {
    read(dir, data, source);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the read to fail');
}

const rows = (body: string) => `Glu,Smoke,Stadium\n${body}`;
const mapping = {
  kind: 'table',
  path: 'kr.csv',
  columns: { glucose: 'Glu', smoker: 'Smoke', stage: 'Stadium' },
  units: { glucose: { unit: 'mmol/L', factor: 18 } },
  codes: { smoker: { no: 'N', yes: 'J' }, stage: { I: '1', II: '2', III: '3' } },
  missing: ['', 'NA'],
};
const good = rows('5.5,N,1\n6.1,J,2\nNA,N,3\n7.0,,1\n4.9,J,2\n6.6,N,3\n5.2,J,1\n');

describe('what a hospital sends for federated scaling', () => {
  it('counts, sums and sums of squares for standardisation; the extremes (one patient each) only for min–max', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-stats-'));
    writeFileSync(join(dir, 'kr.csv'), good);
    const sent = (scaling: string) => {
      const s = scenarioWith({ ...table, preprocessing: { scaling } }, mapping);
      return OwnDataSetup.read(s.hospitals[0] as HospitalConfig, s.data as OwnDataConfig, 1, dir)
        .statistics()
        .map(([name]) => name);
    };
    expect(sent('federated-standardise')).toEqual(['count', 'sum', 'm2']);
    expect(sent('federated-min-max')).toEqual(['count', 'sum', 'm2', 'min', 'max']);
  });
});

describe("a hospital's own table is read through its mapping", () => {
  it('maps names, units and codes; counts missing cells; drops and imputes with an indicator as declared', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-own-'));
    writeFileSync(join(dir, 'kr.csv'), good);
    const d = read(dir, table, mapping);
    expect(Array.from(d.missing)).toEqual([1, 1]);
    expect(d.dropped).toBe(1);
    expect(d.train.n + d.test.n).toBe(6);
    expect(d.width).toBe(4); // glucose, smoker=no, smoker=yes, smoker_missing
    const all = [...Array.from(d.train.x), ...Array.from(d.test.x)];
    expect(all.filter((v) => Number.isNaN(v))).toHaveLength(2); // the imputed smoker's two one-hot cells
    expect(all).toContain(5.5 * 18);
  });

  it.each([
    [
      'a missing column',
      rows('5.5,N,1\n').replace('Smoke', 'Rauch'),
      /column "Smoke".*expected a column holding the declared field smoker/,
    ],
    [
      'an undeclared category',
      rows('5.5,N,1\n5.1,X-secret,2\n'),
      /row 2, column "Smoke".*expected one of the 2 declared categories of smoker/,
    ],
    [
      'a class label outside the list',
      rows('5.5,N,1\n5.1,J,IV-secret\n'),
      /row 2, column "Stadium".*expected one of the 3 declared classes of stage/,
    ],
    [
      'a non-numeric cell',
      rows('5.5,N,1\n5,1-secret,J,2\n'.replace('5,1-secret', '"5,1-secret"')),
      /row 2, column "Glu".*expected a number in mmol\/L/,
    ],
    [
      'a value too large to sum',
      rows('5.5,N,1\n1.5e308,J,2\n'),
      /row 2, column "Glu".*expected a number in mmol\/L .*at most 1e15 in size/,
    ],
  ])('%s: bad input naming hospital, file, row and column, never the value', (_, text, expected) => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-own-'));
    writeFileSync(join(dir, 'kr.csv'), text);
    const message = failure(dir, table, mapping);
    expect(message).toMatch(/^hospital kr-1, file ".*kr\.csv"/);
    expect(message).toMatch(expected);
    expect(message).not.toContain('secret');
  });

  it('a file outside the data root through a symbolic link, and a FIFO-free unreadable path, are refused by name', () => {
    const root = mkdtempSync(join(tmpdir(), 'fedmed-own-root-'));
    const outside = mkdtempSync(join(tmpdir(), 'fedmed-own-out-'));
    writeFileSync(join(outside, 'kr.csv'), good);
    symlinkSync(join(outside, 'kr.csv'), join(root, 'kr.csv'));
    expect(failure(root, table, mapping)).toMatch(
      /kr-1.*expected a path inside the data root \(a symbolic link leads out of it\)/,
    );
    expect(failure(root, table, { ...mapping, path: '../x.csv' })).toMatch(
      /expected a path inside the data root/,
    );
    expect(failure(root, table, { ...mapping, path: 'missing.csv' })).toMatch(
      /expected a readable file \(not found\)/,
    );
  });
});

describe("a hospital's own image folder", () => {
  const png = (w: number, h: number) => PNG.sync.write(Object.assign(new PNG({ width: w, height: h }), {}));
  const data = {
    kind: 'image-folder',
    height: 4,
    width: 4,
    outcome: { name: 'lesion', type: 'multiclass', classes: ['benign', 'malignant', 'other'] },
  };
  const source = { kind: 'image-folder', folder: 'img', labels: 'img/labels.csv' };
  const folder = (files: Record<string, Buffer | string>, labels: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-img-'));
    mkdirSync(join(dir, 'img'));
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, 'img', name), bytes);
    writeFileSync(join(dir, 'img', 'labels.csv'), labels);
    return dir;
  };

  it('reads PNG images of the declared size with their labels', () => {
    const dir = folder(
      { 'a.png': png(4, 4), 'b.png': png(4, 4), 'c.png': png(4, 4) },
      'file,label\na.png,benign\nb.png,malignant\nc.png,benign\n',
    );
    const d = read(dir, data, source);
    expect(d.train.n + d.test.n).toBe(3);
    expect(d.width).toBe(16);
  });

  it('an image of the wrong size names hospital, file and both sizes', () => {
    const dir = folder({ 'a.png': png(4, 4), 'b.png': png(5, 3) }, 'file,label\na.png,benign\nb.png,other\n');
    expect(failure(dir, data, source)).toMatch(
      /hospital kr-1, file ".*img\/b\.png": expected an image of 4×4 pixels .* this one is 5×3/,
    );
  });

  it('an unreadable image and a label outside the list are named, never quoted', () => {
    let dir = folder({ 'a.png': 'not a png secret' }, 'file,label\na.png,benign\n');
    const broken = failure(dir, data, source);
    expect(broken).toMatch(/file ".*a\.png".*a well-formed PNG image/);
    expect(broken).not.toContain('secret');
    dir = folder({ 'a.png': png(4, 4) }, 'file,label\na.png,secret-class\n');
    expect(failure(dir, data, source)).toMatch(
      /row 1, column "label".*one of the 3 declared classes of lesion/,
    );
    dir = folder({ 'a.png': png(4, 4) }, 'file,label\n../../etc/passwd,benign\n');
    expect(failure(dir, data, source)).toMatch(/a file name inside the image folder/);
  });
});
