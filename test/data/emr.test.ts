import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateCohort } from '../../src/clients/data/cohort.ts';
import type { Cohort } from '../../src/clients/data/cohort.ts';
import { readCsv, writeCsv } from '../../src/clients/data/csv.ts';
import {
  EmrError,
  harmonise,
  ingestWithoutHarmonisation,
  MG_DL_PER_MMOL_L,
  MMOL_L_DECIMALS,
  toEmrTable,
} from '../../src/clients/data/emr.ts';
import type { EmrTable } from '../../src/clients/data/emr.ts';
import { COHORT_FEATURES } from '../../src/protocol/cdm.ts';
import { hospitalSchema } from '../../src/scenario/schema.ts';
import { emrSchema } from '../../src/scenario/data-schema.ts';
import { DEFAULT_EMR } from '../../src/scenario/emr-defaults.ts';
import type { EmrConfig, HospitalConfig } from '../../src/scenario/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-emr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KR = hospitalSchema.parse({
  id: 'kr-seoul-1',
  country: 'KR',
  patients: 1500,
  emr: {
    columns: {
      id: '환자번호',
      age: '나이',
      sex: '성별',
      bmi: '체질량지수',
      sbp: '수축기혈압',
      glucose: '공복혈당',
      cholesterol: '총콜레스테롤',
      smoking: '흡연',
      risk_alleles: '위험대립유전자',
      disease: '진단',
    },
    units: { glucose: 'mmol/L', cholesterol: 'mmol/L' },
    codes: {
      sex: { male: '1', female: '2' },
      smoking: { never: '1', former: '2', current: '3' },
      disease: { yes: 'Y', no: 'N' },
    },
  },
});

const CN = hospitalSchema.parse({
  id: 'cn-shanghai-2',
  country: 'CN',
  patients: 1500,
  emr: {
    columns: {
      id: '病历号',
      age: '年龄',
      sex: '性别',
      glucose: '空腹血糖',
      cholesterol: '总胆固醇',
      smoking: '吸烟史',
      disease: '确诊',
    },
    units: { glucose: 'mmol/L' },
    codes: {
      sex: { male: '男', female: '女' },
      smoking: { never: '从不', former: '已戒', current: '吸烟' },
      disease: { yes: 'Y', no: 'N' },
    },
  },
});

const PLAIN = hospitalSchema.parse({ id: 'fr-paris-1', country: 'FR', patients: 300 });

const bytes = (a: Float32Array | Uint8Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const col = (name: string): number => COHORT_FEATURES.findIndex((f) => f.name === name);
const emrOf = (h: HospitalConfig): EmrConfig | undefined => h.emr;

function caught(f: () => unknown): EmrError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EmrError);
    return e as EmrError;
  }
  throw new Error('expected an EmrError');
}

/** The KR table with one cell replaced, written to its own file and read back. */
function withCell(table: EmrTable, row: number, column: string, value: string): EmrTable {
  const c = table.header.indexOf(column);
  expect(c).toBeGreaterThanOrEqual(0);
  return {
    header: table.header,
    rows: table.rows.map((r, i) => (i + 1 === row ? r.map((v, j) => (j === c ? value : v)) : r)),
  };
}

describe('EMR round trip', () => {
  it.each([
    ['KR-style (Korean names, mmol/L, numeric codes, Y/N)', KR],
    ['CN-style (Chinese names, glucose in mmol/L, Chinese codes)', CN],
    ['no EMR schema (CDM names, units and codes)', PLAIN],
  ])('cohort → table → CSV → table → harmonise is bit-exact: %s', (_, h) => {
    const cohort = generateCohort(h, 7);
    const split = Array.from({ length: cohort.n }, (_, i) => (i % 4 === 0 ? 'test' : 'train'));
    const table = toEmrTable(cohort, emrOf(h), [{ name: 'split', values: split }]);
    const file = join(dir, `${h.id}.csv`);
    writeCsv(file, table);
    const read = readCsv(file, { hospital: h.id });
    expect(read.header).toEqual(table.header);
    expect(read.rows).toEqual(table.rows);
    const back = harmonise(read, emrOf(h), { hospital: h.id, file });
    expect(back.n).toBe(cohort.n);
    expect(bytes(back.features).equals(bytes(cohort.features))).toBe(true);
    expect(bytes(back.labels).equals(bytes(cohort.labels))).toBe(true);
    expect(read.rows.map((r) => r[r.length - 1])).toEqual(split);
  });

  it("a site without an EMR schema uses the schema's defaults, which the worker knows without parsing", () => {
    expect(emrSchema.parse({})).toEqual(DEFAULT_EMR);
  });

  it("writes the hospital's names, units and codes in CDM field order", () => {
    const table = toEmrTable(generateCohort(KR, 3), KR.emr);
    expect(table.header).toEqual([
      '환자번호',
      '나이',
      '성별',
      '체질량지수',
      '수축기혈압',
      '공복혈당',
      '총콜레스테롤',
      '흡연',
      '위험대립유전자',
      '진단',
    ]);
    expect(table.rows[0]![0]).toBe('P000001');
    const codes = (c: number): Set<string> => new Set(table.rows.map((r) => r[c]!));
    expect(codes(2)).toEqual(new Set(['1', '2']));
    expect(codes(7)).toEqual(new Set(['1', '2', '3']));
    expect(codes(9)).toEqual(new Set(['Y', 'N']));
    for (const r of table.rows) {
      expect(Number(r[5])).toBeLessThan(30);
      expect(r[5]).toMatch(/^\d+\.\d\d$/);
    }
  });

  it('mmol/L values with the written decimals convert back to every integer mg/dL', () => {
    for (const f of [MG_DL_PER_MMOL_L.glucose, MG_DL_PER_MMOL_L.cholesterol]) {
      for (let mg = 0; mg <= 1000; mg++) {
        expect(Math.round(Number((mg / f).toFixed(MMOL_L_DECIMALS)) * f)).toBe(mg);
      }
    }
  });

  it('finds columns by name, whatever their order, and ignores unknown columns', () => {
    const cohort = generateCohort(CN, 5);
    const table = toEmrTable(cohort, CN.emr, [
      { name: '科室', values: Array<string>(cohort.n).fill('内科') },
    ]);
    const order = table.header.map((_, i) => i).reverse();
    const shuffled = {
      header: order.map((i) => table.header[i]!),
      rows: table.rows.map((r) => order.map((i) => r[i]!)),
    };
    const back = harmonise(shuffled, CN.emr, { hospital: CN.id });
    expect(bytes(back.features).equals(bytes(cohort.features))).toBe(true);
  });
});

describe('EMR errors name hospital, file, row and column, never the value', () => {
  const cohort = generateCohort({ ...KR, patients: 40 }, 11);
  const table = toEmrTable(cohort, KR.emr);
  const where = { hospital: KR.id, file: 'kr-seoul-1/records.csv' };

  function expectNamed(
    e: EmrError,
    row: number | undefined,
    column: string | undefined,
    secret?: string,
  ): void {
    expect(e.hospital).toBe(KR.id);
    expect(e.message).toContain(KR.id);
    expect(e.file).toBeDefined();
    expect(e.message).toContain(e.file!);
    expect(e.row).toBe(row);
    if (row !== undefined) expect(e.message).toContain(row === 0 ? 'row 0' : `row ${row}`);
    expect(e.column).toBe(column);
    if (column !== undefined) expect(e.message).toContain(column);
    expect(e.message).toContain(e.expected);
    if (secret !== undefined) expect(e.message).not.toContain(secret);
  }

  it('missing column', () => {
    const c = table.header.indexOf('공복혈당');
    const without = {
      header: table.header.filter((_, j) => j !== c),
      rows: table.rows.map((r) => r.filter((_, j) => j !== c)),
    };
    const e = caught(() => harmonise(without, KR.emr, where));
    expect(e.file).toBe(where.file);
    expectNamed(e, 0, '공복혈당');
    expect(e.field).toBe('glucose');
  });

  it('unknown sex code', () => {
    const e = caught(() => harmonise(withCell(table, 17, '성별', 'XQZ'), KR.emr, where));
    expectNamed(e, 17, '성별', 'XQZ');
    expect(e.message).toMatch(/"1" \(male\), "2" \(female\)/);
  });

  it('unparseable glucose', () => {
    const e = caught(() => harmonise(withCell(table, 23, '공복혈당', '5,83mmol'), KR.emr, where));
    expectNamed(e, 23, '공복혈당', '5,83mmol');
    expect(e.expected).toContain('mmol/L');
  });

  it('out-of-range age', () => {
    const e = caught(() => harmonise(withCell(table, 9, '나이', '137'), KR.emr, where));
    expectNamed(e, 9, '나이', '137');
    expect(e.expected).toContain('18 to 95');
  });

  it('out-of-range glucose in mmol/L names the range in the file unit', () => {
    const e = caught(() => harmonise(withCell(table, 4, '공복혈당', '61.04'), KR.emr, where));
    expectNamed(e, 4, '공복혈당', '61.04');
    expect(e.expected).toContain('mmol/L');
  });

  it('risk alleles outside 0, 1, 2', () => {
    const e = caught(() => harmonise(withCell(table, 31, '위험대립유전자', '1.5'), KR.emr, where));
    expectNamed(e, 31, '위험대립유전자', '1.5');
  });

  it('ragged row in a CSV file', () => {
    const file = join(dir, 'ragged.csv');
    writeFileSync(file, 'a,b,c\n1,2,3\n4,5,6\n7,8,SECRETCELL,9\n');
    const e = caught(() => readCsv(file, { hospital: KR.id }));
    expect(e.file).toBe(file);
    expectNamed(e, 3, undefined, 'SECRETCELL');
    expect(e.expected).toContain('3 cells');
  });

  it('missing file', () => {
    const file = join(dir, 'no-such-file.csv');
    const e = caught(() => readCsv(file, { hospital: KR.id }));
    expect(e.file).toBe(file);
    expectNamed(e, undefined, undefined);
    expect(e.expected).toContain('not found');
  });

  it('malformed CSV', () => {
    const file = join(dir, 'broken.csv');
    writeFileSync(file, 'a,b\n1,"unclosed SECRET\n');
    const e = caught(() => readCsv(file, { hospital: KR.id }));
    expect(e.file).toBe(file);
    expect(e.message).not.toContain('SECRET');
  });

  it('two fields mapped to one column', () => {
    const emr = { ...KR.emr!, columns: { ...KR.emr!.columns, bmi: '나이' } };
    const e = caught(() => harmonise(table, emr, where));
    expectNamed(e, 0, '나이');
  });
});

describe('ingestWithoutHarmonisation', () => {
  const cohort = generateCohort(KR, 13);
  const file = join(dir, 'naive.csv');
  writeCsv(file, toEmrTable(cohort, KR.emr));
  const table = readCsv(file, { hospital: KR.id });
  const right = harmonise(table, KR.emr, { hospital: KR.id, file });
  const naive = ingestWithoutHarmonisation(table, { hospital: KR.id, file });
  const values = (c: Cohort, name: string): number[] =>
    Array.from({ length: c.n }, (_, i) => c.features[i * COHORT_FEATURES.length + col(name)]!);

  it('reads mmol/L as if mg/dL: glucose about 18 times smaller', () => {
    const ratio = (name: string): number => {
      const a = values(right, name).reduce((s, x) => s + x, 0);
      const b = values(naive, name).reduce((s, x) => s + x, 0);
      return a / b;
    };
    expect(ratio('glucose')).toBeGreaterThan(17.9);
    expect(ratio('glucose')).toBeLessThan(18.1);
    expect(ratio('cholesterol')).toBeGreaterThan(38.5);
    expect(ratio('cholesterol')).toBeLessThan(38.8);
    expect(values(naive, 'age')).toEqual(values(right, 'age'));
  });

  it('takes numeric codes at face value and text codes as 0', () => {
    const male = values(right, 'sex_male');
    expect(values(naive, 'sex_male')).toEqual(male.map((m) => (m === 1 ? 1 : 2)));
    // KR codes smoking never=1, former=2, current=3: read as the ordinal 0/1/2 they shift by one.
    const former = values(right, 'smoking_former');
    const current = values(right, 'smoking_current');
    expect(values(naive, 'smoking_former')).toEqual(
      former.map((f, i) => (f === 0 && current[i] === 0 ? 1 : 0)),
    );
    expect(values(naive, 'smoking_current')).toEqual(former);
    // 'Y'/'N' are not numbers: every label becomes 0.
    expect(naive.labels.every((y) => y === 0)).toBe(true);
    expect(right.labels.some((y) => y === 1)).toBe(true);
  });

  it('matches harmonise on a file already in CDM units with numeric codes', () => {
    const emr = emrOf(
      hospitalSchema.parse({
        id: 'x',
        country: 'KR',
        patients: 20,
        emr: {
          codes: { sex: { male: '1', female: '0' }, smoking: { never: '0', former: '1', current: '2' } },
        },
      }),
    );
    const c = generateCohort(PLAIN, 2);
    const t = toEmrTable(c, emr);
    const n = ingestWithoutHarmonisation(t, { hospital: PLAIN.id });
    expect(bytes(n.features).equals(bytes(c.features))).toBe(true);
    expect(bytes(n.labels).equals(bytes(c.labels))).toBe(true);
  });

  it('does not throw on unit or code mismatches, only on unparseable numbers', () => {
    const cn = toEmrTable(generateCohort(CN, 1), CN.emr);
    expect(() => ingestWithoutHarmonisation(cn, { hospital: CN.id })).not.toThrow();
    const bad = withCell(cn, 5, '空腹血糖', 'HIGHVALUE');
    const e = caught(() => ingestWithoutHarmonisation(bad, { hospital: CN.id, file: 'cn.csv' }));
    expect(e.row).toBe(5);
    expect(e.column).toBe('空腹血糖');
    expect(e.message).toContain('cn.csv');
    expect(e.message).not.toContain('HIGHVALUE');
  });
});
