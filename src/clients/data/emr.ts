import { COHORT_FEATURES } from '../../protocol/cdm.ts';
import { CDM_FIELDS, DEFAULT_EMR } from '../../scenario/emr-defaults.ts';
import type { EmrConfig } from '../../scenario/schema.ts';
import { NUM_FEATURES, PLAUSIBLE_RANGES } from './cohort.ts';
import type { Cohort } from './cohort.ts';

/**
 * Records as a hospital stores them, before harmonisation: a header of column names and rows of text cells.
 * Every row has as many cells as the header (readers reject ragged rows).
 */
export interface EmrTable {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A field of the tabular common data model as a site records it. */
export type CdmField = (typeof CDM_FIELDS)[number];

/** Where a table came from, for error messages. */
export interface EmrSource {
  readonly hospital: string;
  readonly file?: string;
}

/**
 * A hospital record that cannot be read or harmonised. Names the hospital, file, row, column and what was
 * expected, never the offending value. `row` counts data rows from 1; the header is row 0.
 */
export class EmrError extends Error {
  override readonly name = 'EmrError';
  readonly hospital: string;
  readonly file: string | undefined;
  /** 1-based data row; 0 is the header; absent when the problem is the whole file. */
  readonly row: number | undefined;
  /** Column name as the hospital spells it. */
  readonly column: string | undefined;
  /** Common-data-model (or declared) field the column holds, when known. */
  readonly field: string | undefined;
  readonly expected: string;

  constructor(at: {
    hospital: string;
    file?: string | undefined;
    row?: number | undefined;
    column?: string | undefined;
    field?: string | undefined;
    expected: string;
  }) {
    const where = [`hospital ${at.hospital}`];
    if (at.file !== undefined) where.push(`file ${JSON.stringify(at.file)}`);
    if (at.row !== undefined) where.push(at.row === 0 ? 'row 0 (header)' : `row ${at.row}`);
    if (at.column !== undefined) {
      const field = at.field !== undefined && at.field !== at.column ? ` (${at.field})` : '';
      where.push(`column ${JSON.stringify(at.column)}${field}`);
    }
    super(`${where.join(', ')}: expected ${at.expected}`);
    this.hospital = at.hospital;
    this.file = at.file;
    this.row = at.row;
    this.column = at.column;
    this.field = at.field;
    this.expected = at.expected;
  }
}

/** mg/dL per mmol/L of each laboratory value that a site may record in either unit. */
export const MG_DL_PER_MMOL_L = { glucose: 18.016, cholesterol: 38.67 } as const;

/**
 * Decimals written for a value in mmol/L. Two suffice: the written value is off by at most 0.005 mmol/L, at
 * most 0.19 mg/dL after converting back, so rounding to the integer mg/dL recovers the original exactly.
 */
export const MMOL_L_DECIMALS = 2;

const featureIndex = (name: string): number => {
  const i = COHORT_FEATURES.findIndex((f) => f.name === name);
  if (i < 0) throw new Error(`the common data model has no feature ${name}; update src/clients/data/emr.ts`);
  return i;
};
const AGE = featureIndex('age');
const MALE = featureIndex('sex_male');
const BMI = featureIndex('bmi');
const SBP = featureIndex('sbp');
const GLUCOSE = featureIndex('glucose');
const CHOLESTEROL = featureIndex('cholesterol');
const FORMER = featureIndex('smoking_former');
const CURRENT = featureIndex('smoking_current');
const ALLELES = featureIndex('risk_alleles');

type Measure = 'age' | 'bmi' | 'sbp' | 'glucose' | 'cholesterol';
type Lab = keyof typeof MG_DL_PER_MMOL_L;

/** Measured fields: feature slot, decimals recorded in CDM units, and CDM unit. */
const MEASURES: readonly { field: Measure; index: number; decimals: 0 | 1; unit: string }[] = [
  { field: 'age', index: AGE, decimals: 0, unit: 'years' },
  { field: 'bmi', index: BMI, decimals: 1, unit: 'kg/m²' },
  { field: 'sbp', index: SBP, decimals: 0, unit: 'mmHg' },
  { field: 'glucose', index: GLUCOSE, decimals: 0, unit: 'mg/dL' },
  { field: 'cholesterol', index: CHOLESTEROL, decimals: 0, unit: 'mg/dL' },
];

const isLab = (f: Measure): f is Lab => f === 'glucose' || f === 'cholesterol';

function roundTo(x: number, decimals: 0 | 1): number {
  return decimals === 0 ? Math.round(x) : Math.round(x * 10) / 10;
}

/** Column name of each CDM field in this schema; rejects two fields sharing one column. */
function columnNames(
  emr: EmrConfig,
  fail: (column: string, expected: string) => never,
): Record<CdmField, string> {
  const names = {} as Record<CdmField, string>;
  const owner = new Map<string, CdmField>();
  for (const field of CDM_FIELDS) {
    const name = emr.columns[field] ?? field;
    const other = owner.get(name);
    if (other !== undefined)
      fail(name, `a distinct column for each field, but both ${other} and ${field} map here`);
    owner.set(name, field);
    names[field] = name;
  }
  return names;
}

/**
 * Writes a cohort as the hospital would store it: one row per patient, the CDM fields in {@link CDM_FIELDS}
 * order under the hospital's column names, an `id` column (`P000001`, …), sex, smoking and disease as the
 * hospital's codes, laboratory values in its units, then the `extra` columns in the order given. Values are
 * written at CDM recording precision (integer age, sbp and mg/dL values, bmi to 0.1; mmol/L to
 * {@link MMOL_L_DECIMALS} decimals), so {@link harmonise} gives back the cohort bit for bit. Throws a
 * RangeError for an inconsistent cohort, clashing column names or extra columns of the wrong length.
 */
export function toEmrTable(
  cohort: Cohort,
  emr: EmrConfig | undefined,
  extra: readonly { name: string; values: readonly string[] }[] = [],
): EmrTable {
  const cfg = emr ?? DEFAULT_EMR;
  const { n, features, labels } = cohort;
  if (features.length !== n * NUM_FEATURES || labels.length !== n) {
    throw new RangeError(`cohort: expected ${n} × ${NUM_FEATURES} features and ${n} labels`);
  }
  const names = columnNames(cfg, (column, expected) => {
    throw new RangeError(`EMR schema, column ${JSON.stringify(column)}: expected ${expected}`);
  });
  const header = [...CDM_FIELDS.map((f) => names[f]), ...extra.map((e) => e.name)];
  if (new Set(header).size !== header.length) {
    throw new RangeError('extra columns: expected names distinct from each other and from the EMR columns');
  }
  for (const e of extra) {
    if (e.values.length !== n) {
      throw new RangeError(`extra column ${JSON.stringify(e.name)}: expected ${n} values, one per patient`);
    }
  }
  const idWidth = Math.max(6, String(n).length);
  const rows: string[][] = [];
  for (let i = 0, o = 0; i < n; i++, o += NUM_FEATURES) {
    const bad = (feature: string, expected: string): never => {
      throw new RangeError(`cohort row ${i + 1}, feature ${feature}: expected ${expected}`);
    };
    const male = features[o + MALE]!;
    if (male !== 0 && male !== 1) bad('sex_male', '0 or 1');
    const former = features[o + FORMER]!;
    const current = features[o + CURRENT]!;
    if ((former !== 0 && former !== 1) || (current !== 0 && current !== 1) || former + current > 1) {
      bad('smoking_former/smoking_current', 'one-hot smoking status (at most one of them 1)');
    }
    const alleles = features[o + ALLELES]!;
    if (alleles !== 0 && alleles !== 1 && alleles !== 2) bad('risk_alleles', '0, 1 or 2');
    const label = labels[i]!;
    if (label !== 0 && label !== 1) bad('label', '0 or 1');

    const cell = {} as Record<CdmField, string>;
    cell.id = `P${String(i + 1).padStart(idWidth, '0')}`;
    for (const m of MEASURES) {
      const v = roundTo(features[o + m.index]!, m.decimals);
      cell[m.field] =
        isLab(m.field) && cfg.units[m.field] === 'mmol/L'
          ? (v / MG_DL_PER_MMOL_L[m.field]).toFixed(MMOL_L_DECIMALS)
          : v.toFixed(m.decimals);
    }
    cell.sex = male === 1 ? cfg.codes.sex.male : cfg.codes.sex.female;
    cell.smoking =
      current === 1
        ? cfg.codes.smoking.current
        : former === 1
          ? cfg.codes.smoking.former
          : cfg.codes.smoking.never;
    cell.risk_alleles = String(alleles);
    cell.disease = label === 1 ? cfg.codes.disease.yes : cfg.codes.disease.no;
    rows.push([...CDM_FIELDS.map((f) => cell[f]), ...extra.map((e) => e.values[i]!)]);
  }
  return { header, rows };
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A decimal number with a point (no thousands separators, no decimal comma), or undefined. */
function parseDecimal(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const x = Number(text);
  return Number.isFinite(x) ? x : undefined;
}

function checkRectangular(table: EmrTable, where: EmrSource): void {
  const width = table.header.length;
  table.rows.forEach((row, r) => {
    if (row.length !== width) {
      throw new EmrError({
        ...where,
        row: r + 1,
        expected: `${width} cells, as many as the header has columns`,
      });
    }
  });
}

function describeCodes(codes: Readonly<Record<string, string>>): string {
  return Object.entries(codes)
    .map(([meaning, code]) => `${JSON.stringify(code)} (${meaning})`)
    .join(', ');
}

/**
 * Maps a hospital's table to the common data model. Each CDM field is found by the hospital's column name
 * (`id` may be absent and is not read; other columns, such as a split column, are ignored). Numbers must be
 * plain decimals with a point; laboratory values in mmol/L are converted to mg/dL; every measurement is
 * rounded to CDM recording precision (integer age, sbp, glucose and cholesterol, bmi to 0.1) and must lie in
 * {@link PLAUSIBLE_RANGES}; risk alleles must be 0, 1 or 2; codes must match the schema exactly (after the
 * reader's trimming, case-sensitive). Smoking becomes the one-hot pair smoking_former/smoking_current.
 * Throws an {@link EmrError} at the first problem; its message never contains a cell's value.
 */
export function harmonise(table: EmrTable, emr: EmrConfig | undefined, where: EmrSource): Cohort {
  const cfg = emr ?? DEFAULT_EMR;
  const src = { hospital: where.hospital, file: where.file };
  const names = columnNames(cfg, (column, expected) => {
    throw new EmrError({ ...src, row: 0, column, expected });
  });
  const at = {} as Record<CdmField, number>;
  for (const field of CDM_FIELDS) {
    const column = names[field];
    const first = table.header.indexOf(column);
    if (first !== table.header.lastIndexOf(column)) {
      throw new EmrError({ ...src, row: 0, column, field, expected: 'exactly one column with this name' });
    }
    if (first < 0 && field !== 'id') {
      throw new EmrError({ ...src, row: 0, column, field, expected: `a column holding ${field}` });
    }
    at[field] = first;
  }
  checkRectangular(table, src);
  const n = table.rows.length;
  if (n === 0) throw new EmrError({ ...src, row: 1, expected: 'at least one patient row' });

  const features = new Float32Array(n * NUM_FEATURES);
  const labels = new Uint8Array(n);
  const fail = (row: number, field: CdmField, expected: string): never => {
    throw new EmrError({ ...src, row, column: names[field], field, expected });
  };
  const code = <K extends string>(
    row: readonly string[],
    r: number,
    field: CdmField,
    codes: Record<K, string>,
  ): K => {
    const text = row[at[field]]!;
    for (const meaning of Object.keys(codes) as K[]) if (codes[meaning] === text) return meaning;
    return fail(r, field, `one of the codes ${describeCodes(codes)}`);
  };

  for (let i = 0, o = 0; i < n; i++, o += NUM_FEATURES) {
    const row = table.rows[i]!;
    const r = i + 1;
    for (const m of MEASURES) {
      const inMmol = isLab(m.field) && cfg.units[m.field] === 'mmol/L';
      const unit = inMmol ? 'mmol/L' : m.unit;
      const x = parseDecimal(row[at[m.field]]!);
      if (x === undefined) fail(r, m.field, `a number in ${unit} (digits with an optional decimal point)`);
      const v = roundTo(isLab(m.field) && inMmol ? x! * MG_DL_PER_MMOL_L[m.field] : x!, m.decimals);
      const [lo, hi] = PLAUSIBLE_RANGES[m.field];
      if (!(v >= lo && v <= hi)) {
        const range = isLab(m.field) && inMmol ? rangeInMmol(m.field, lo, hi) : `${lo} to ${hi} ${m.unit}`;
        fail(r, m.field, `a plausible ${m.field} from ${range}`);
      }
      features[o + m.index] = v;
    }
    features[o + MALE] = code(row, r, 'sex', cfg.codes.sex) === 'male' ? 1 : 0;
    const smoking = code(row, r, 'smoking', cfg.codes.smoking);
    features[o + FORMER] = smoking === 'former' ? 1 : 0;
    features[o + CURRENT] = smoking === 'current' ? 1 : 0;
    const alleles = parseDecimal(row[at.risk_alleles]!);
    if (alleles !== 0 && alleles !== 1 && alleles !== 2)
      fail(r, 'risk_alleles', 'a count of risk alleles: 0, 1 or 2');
    features[o + ALLELES] = alleles!;
    labels[i] = code(row, r, 'disease', cfg.codes.disease) === 'yes' ? 1 : 0;
  }
  return { n, features, labels };
}

function rangeInMmol(field: Lab, lo: number, hi: number): string {
  const f = MG_DL_PER_MMOL_L[field];
  return `${(lo / f).toFixed(MMOL_L_DECIMALS)} to ${(hi / f).toFixed(MMOL_L_DECIMALS)} mmol/L (${lo} to ${hi} mg/dL)`;
}

/**
 * What a pipeline that skips harmonisation makes of a hospital's table, so a study can measure the cost.
 * It ignores column names and takes the file's columns by position as if they followed {@link CDM_FIELDS}:
 * column 0 id (not read), 1 age, 2 sex, 3 bmi, 4 sbp, 5 glucose, 6 cholesterol, 7 smoking, 8 risk_alleles,
 * 9 disease; later columns are ignored. Numbers are read at face value: no unit conversion (mmol/L read as if
 * mg/dL), no rounding, no range check. A category cell that is a number is taken at face value, any other
 * text as 0: sex_male is that number; smoking is read as the ordinal 0 never, 1 former, 2 current
 * (smoking_former = 1 iff it is 1, smoking_current = 1 iff it is 2); the label is 1 iff the disease cell is
 * the number 1. Throws an {@link EmrError} only for fewer than 10 columns, a ragged row, no rows, or a
 * numeric position (age, bmi, sbp, glucose, cholesterol, risk_alleles) that is not a number.
 */
export function ingestWithoutHarmonisation(table: EmrTable, where: EmrSource): Cohort {
  const src = { hospital: where.hospital, file: where.file };
  if (table.header.length < CDM_FIELDS.length) {
    throw new EmrError({ ...src, row: 0, expected: `at least ${CDM_FIELDS.length} columns` });
  }
  checkRectangular(table, src);
  const n = table.rows.length;
  if (n === 0) throw new EmrError({ ...src, row: 1, expected: 'at least one patient row' });
  const pos = (field: CdmField): number => CDM_FIELDS.indexOf(field);
  const numeric: readonly [CdmField, number][] = [
    ['age', AGE],
    ['bmi', BMI],
    ['sbp', SBP],
    ['glucose', GLUCOSE],
    ['cholesterol', CHOLESTEROL],
    ['risk_alleles', ALLELES],
  ];
  const features = new Float32Array(n * NUM_FEATURES);
  const labels = new Uint8Array(n);
  for (let i = 0, o = 0; i < n; i++, o += NUM_FEATURES) {
    const row = table.rows[i]!;
    for (const [field, index] of numeric) {
      const x = parseDecimal(row[pos(field)]!);
      if (x === undefined) {
        throw new EmrError({
          ...src,
          row: i + 1,
          column: table.header[pos(field)],
          field,
          expected: `a number (column ${pos(field)} is read as ${field})`,
        });
      }
      features[o + index] = x;
    }
    const category = (field: CdmField): number => parseDecimal(row[pos(field)]!) ?? 0;
    features[o + MALE] = category('sex');
    const smoking = category('smoking');
    features[o + FORMER] = smoking === 1 ? 1 : 0;
    features[o + CURRENT] = smoking === 2 ? 1 : 0;
    labels[i] = category('disease') === 1 ? 1 : 0;
  }
  return { n, features, labels };
}
