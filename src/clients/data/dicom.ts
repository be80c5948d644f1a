import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { dicomData } from './dcmjs-data.ts';
import type { DicomDataset, DicomElement } from 'dcmjs';
import { EXPLICIT_VR_LE, parseDicom, TAG, type TagFail } from './dicom-parse.ts';
import { describeErrno, MAX_CSV_BYTES, MAX_DICOM_BYTES } from '../../scenario/data-paths.ts';
import { PIXEL_QUANTUM } from './imaging.ts';
import { readLocalFile, utf8Text } from './local-files.ts';
import type { ImageSet } from './imaging.ts';

/**
 * A DICOM folder or labels file that cannot be read or written. Names the hospital, the file and the DICOM
 * tag (or the CSV line and column) and what was expected — never a pixel or patient value.
 */
export class DicomError extends Error {
  override readonly name = 'DicomError';
  constructor(
    readonly hospital: string,
    readonly file: string,
    /** The tag as `(gggg,eeee) Keyword`, or the CSV `line N, column C`, or absent for the file as a whole. */
    readonly where: string | undefined,
    readonly expected: string,
  ) {
    super(`hospital ${hospital}: ${file}: ${where === undefined ? '' : `${where}: `}${expected}`);
  }
}

/** One image to write: `size × size` intensities on the {@link PIXEL_QUANTUM} grid, and its patient. */
export interface DicomImage {
  readonly pixels: Float32Array;
  readonly size: number;
  readonly patientId: string;
  /** 1 male, 0 female. */
  readonly sex: number;
  /** Whole years, 0–255. */
  readonly age: number;
}

/** Where an image comes from: its UIDs are derived from these alone. */
export interface DicomWriteMeta {
  readonly hospital: string;
  readonly seed: number;
  /** Position of the image in its hospital's set. */
  readonly index: number;
}

/** How {@link readDicomFolder} finds each image's file and label. */
export interface DicomReadOptions {
  readonly fileColumn: string;
  readonly labelColumn: string;
  readonly hospital: string;
  /** Also return this column's value per row (for a split recorded in the file). */
  readonly splitColumn?: string;
  /** Data root that every file's real path must lie inside (default: the folder itself for the images). */
  readonly root?: string;
}

/** An image set read from a DICOM folder, in the order of its labels file. */
export interface DicomImageSet extends ImageSet {
  /** Each image's file as the labels file names it. */
  readonly files: readonly string[];
  /** Each row's value of the requested split column, when one was requested. */
  readonly split?: readonly string[];
}

/** Secondary Capture Image Storage: the SOP class for images with no acquiring modality. */
const SC_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';
/** Stored value × slope = intensity; 2⁻¹⁰ is exact in decimal, in float64 and in float32. */
const RESCALE_SLOPE = '0.0009765625';
const IMPLEMENTATION_VERSION = 'FEDMED_0_1';

/**
 * Writes one image as a DICOM Part 10 file (Secondary Capture, explicit VR little endian, MONOCHROME2,
 * signed 16-bit, RescaleSlope 2⁻¹⁰, RescaleIntercept 0), so that reading it back reproduces the float32
 * pixels bit for bit. UIDs are derived from hospital, seed and index; no date, time or randomness enters
 * the file, so equal inputs give equal bytes. Throws a {@link DicomError} if a pixel is off the grid.
 */
export function writeDicomImage(path: string, image: DicomImage, meta: DicomWriteMeta): void {
  writeFileSync(path, new Uint8Array(encodeDicomImage(path, image, meta)));
}

/**
 * Writes one file per image (`img-00001.dcm`, …) and `labels.csv` with columns `file`, `lesion` and, when
 * `meta.split` is given, `split`. The folder is created if needed.
 */
export function writeDicomFolder(
  folder: string,
  set: ImageSet,
  meta: { readonly hospital: string; readonly seed: number; readonly split?: readonly string[] },
): void {
  const area = set.size * set.size;
  if (set.pixels.length !== set.n * area || set.labels.length !== set.n) {
    throw new DicomError(meta.hospital, folder, undefined, `expected ${area} pixels and one label per image`);
  }
  if (meta.split !== undefined && meta.split.length !== set.n) {
    throw new DicomError(meta.hospital, folder, undefined, `split: expected one value per image (${set.n})`);
  }
  mkdirSync(folder, { recursive: true });
  const digits = Math.max(5, String(set.n).length);
  const rows: string[][] = [meta.split === undefined ? ['file', 'lesion'] : ['file', 'lesion', 'split']];
  for (let i = 0; i < set.n; i++) {
    const number = String(i + 1).padStart(digits, '0');
    const file = `img-${number}.dcm`;
    writeDicomImage(
      join(folder, file),
      {
        pixels: set.pixels.subarray(i * area, (i + 1) * area),
        size: set.size,
        patientId: `${meta.hospital}-${number}`,
        sex: set.sex[i]!,
        age: set.age[i]!,
      },
      { hospital: meta.hospital, seed: meta.seed, index: i },
    );
    const row = [file, String(set.labels[i]!)];
    if (meta.split !== undefined) row.push(meta.split[i]!);
    rows.push(row);
  }
  writeFileSync(join(folder, 'labels.csv'), stringify(rows));
}

/**
 * Reads the images a labels CSV lists (paths relative to `folder`), in the CSV's order. Checks that every
 * `.dcm` file under the folder has a row, that each file is an uncompressed little-endian Part 10 file with
 * one MONOCHROME2 frame of square 16-bit pixels, all of one size, and applies RescaleSlope/Intercept in
 * float64 before rounding to float32. Sex comes from PatientSex (M or F), age from PatientAge (`nnnY`, or
 * months, weeks or days, in whole years). Any failure throws a {@link DicomError}.
 */
export function readDicomFolder(
  folder: string,
  labelsCsvPath: string,
  opts: DicomReadOptions,
): DicomImageSet {
  const { hospital } = opts;
  const csvName = basename(labelsCsvPath);
  const table = readLabels(labelsCsvPath, opts);
  const root = resolve(folder);
  const files: string[] = [];
  const listed = new Map<string, number>();
  for (const row of table) {
    const at = `line ${row.line}, column ${opts.fileColumn}`;
    if (row.file === '') throw new DicomError(hospital, labelsCsvPath, at, 'expected a file name');
    const full = resolve(root, row.file);
    const rel = relative(root, full);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
      throw new DicomError(hospital, labelsCsvPath, at, 'expected a path inside the DICOM folder');
    }
    const earlier = listed.get(full);
    if (earlier !== undefined) {
      throw new DicomError(
        hospital,
        labelsCsvPath,
        at,
        `expected each file once; line ${earlier} lists it too`,
      );
    }
    listed.set(full, row.line);
    files.push(row.file);
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new DicomError(hospital, folder, undefined, 'expected a folder of DICOM files');
  }
  let entries: string[];
  try {
    entries = readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
  } catch (e) {
    const why = describeErrno((e as NodeJS.ErrnoException).code);
    throw new DicomError(hospital, folder, undefined, `expected a readable folder of DICOM files (${why})`);
  }
  for (const entry of entries) {
    if (!entry.toLowerCase().endsWith('.dcm')) continue;
    const full = join(root, entry);
    if (listed.has(full)) continue;
    const name = full;
    let isFile: boolean;
    try {
      isFile = statSync(full).isFile();
    } catch (e) {
      const why = describeErrno((e as NodeJS.ErrnoException).code);
      throw new DicomError(hospital, name, undefined, `expected a readable file or no such entry (${why})`);
    }
    if (isFile) {
      throw new DicomError(
        hospital,
        name,
        undefined,
        `expected a row in ${csvName} (column ${opts.fileColumn}); none names this file`,
      );
    }
  }

  const n = table.length;
  let size = 0;
  let pixels = new Float32Array(0);
  const labels = new Uint8Array(n);
  const sex = new Uint8Array(n);
  const age = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const row = table[i]!;
    const full = resolve(root, row.file);
    const fail = (expected: string): never => {
      throw new DicomError(
        hospital,
        full,
        undefined,
        `expected ${expected} (listed on line ${row.line} of ${csvName})`,
      );
    };
    const bytes = readLocalFile(full, MAX_DICOM_BYTES, fail, opts.root ?? root);
    const image = readImage(bytes, hospital, full, size === 0 ? undefined : size);
    if (size === 0) {
      size = image.size;
      pixels = new Float32Array(n * size * size);
    }
    pixels.set(image.pixels, i * size * size);
    labels[i] = row.label;
    sex[i] = image.sex;
    age[i] = image.age;
  }
  const set: DicomImageSet = { n, size, pixels, labels, sex, age, files };
  return opts.splitColumn === undefined ? set : { ...set, split: table.map((r) => r.split ?? '') };
}

interface LabelRow {
  readonly line: number;
  readonly file: string;
  readonly label: number;
  readonly split?: string;
}

function readLabels(path: string, opts: DicomReadOptions): LabelRow[] {
  const { hospital } = opts;
  const name = path;
  const fail = (expected: string): never => {
    throw new DicomError(hospital, name, undefined, `expected ${expected}`);
  };
  const text = utf8Text(readLocalFile(path, MAX_CSV_BYTES, fail, opts.root), fail);
  let records: { info: { lines: number }; record: string[] }[];
  try {
    // With `info`, each record comes as {info, record}; the overloads of parse() do not model that.
    records = parse(text, { info: true, skip_empty_lines: true, trim: true }) as unknown as {
      info: { lines: number };
      record: string[];
    }[];
  } catch (e) {
    // csv-parse's own messages may quote a cell; only its code and line are passed on.
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : 'CSV_UNKNOWN_ERROR';
    const lines = typeof e === 'object' && e !== null && 'lines' in e ? Number(e.lines) : undefined;
    throw new DicomError(
      hospital,
      name,
      lines === undefined || !Number.isFinite(lines) ? undefined : `line ${lines}`,
      `expected well-formed CSV (${code})`,
    );
  }
  const header = records[0];
  if (header === undefined) throw new DicomError(hospital, name, undefined, 'expected a header row');
  const column = (wanted: string): number => {
    const k = header.record.indexOf(wanted);
    if (k < 0) throw new DicomError(hospital, name, 'line 1', `expected a column named "${wanted}"`);
    return k;
  };
  const fileK = column(opts.fileColumn);
  const labelK = column(opts.labelColumn);
  const splitK = opts.splitColumn === undefined ? undefined : column(opts.splitColumn);
  const rows: LabelRow[] = [];
  for (const { info, record } of records.slice(1)) {
    if (record.length !== header.record.length) {
      throw new DicomError(hospital, name, `line ${info.lines}`, `expected ${header.record.length} fields`);
    }
    const cell = record[labelK]!;
    if (cell !== '0' && cell !== '1') {
      throw new DicomError(
        hospital,
        name,
        `line ${info.lines}, column ${opts.labelColumn}`,
        'expected 0 or 1',
      );
    }
    const row: LabelRow = { line: info.lines, file: record[fileK]!, label: cell === '1' ? 1 : 0 };
    rows.push(splitK === undefined ? row : { ...row, split: record[splitK]! });
  }
  if (rows.length === 0) throw new DicomError(hospital, name, undefined, 'expected at least one image row');
  return rows;
}

function readImage(
  bytes: Buffer,
  hospital: string,
  file: string,
  expectedSize: number | undefined,
): { size: number; pixels: Float32Array; sex: number; age: number } {
  const fail: TagFail = (tag, expected) => {
    throw new DicomError(hospital, file, tag === undefined ? undefined : TAG[tag][1], expected);
  };
  const { integer, decimal, text, pixelBytes } = parseDicom(bytes, fail);
  const rows = integer('rows');
  const columns = integer('columns');
  if (rows < 1) fail('rows', 'expected at least 1');
  if (columns !== rows) fail('columns', 'expected a square image: Columns equal to Rows');
  if (expectedSize !== undefined && rows !== expectedSize) {
    fail('rows', `expected ${expectedSize}, the size of the first image listed`);
  }
  if (integer('samples') !== 1) fail('samples', 'expected 1 (grayscale)');
  if (text('photometric') !== 'MONOCHROME2') fail('photometric', 'expected MONOCHROME2');
  if (integer('frames', 1) !== 1) fail('frames', 'expected a single frame');
  if (integer('bitsAllocated') !== 16) fail('bitsAllocated', 'expected 16');
  const bitsStored = integer('bitsStored', 16);
  if (bitsStored < 1 || bitsStored > 16) fail('bitsStored', 'expected 1 to 16');
  if (integer('highBit', bitsStored - 1) !== bitsStored - 1) fail('highBit', 'expected BitsStored − 1');
  const representation = integer('pixelRepresentation');
  if (representation !== 0 && representation !== 1)
    fail('pixelRepresentation', 'expected 0 (unsigned) or 1 (signed)');
  const slope = decimal('slope', 1);
  const intercept = decimal('intercept', 0);
  if (slope === 0) fail('slope', 'expected a non-zero slope');

  const area = rows * columns;
  const view = pixelBytes(2 * area, 'Rows × Columns × 2');
  const pixels = new Float32Array(area);
  const unused = 16 - bitsStored;
  for (let p = 0; p < area; p++) {
    const raw = view.getUint16(2 * p, true);
    const stored = representation === 1 ? (raw << (16 + unused)) >> (16 + unused) : raw & (0xffff >>> unused);
    pixels[p] = stored * slope + intercept;
  }
  if (!pixels.every(Number.isFinite))
    fail('slope', 'expected a rescale that keeps every pixel finite in float32');

  const sexCode = text('sex');
  if (sexCode !== 'M' && sexCode !== 'F') fail('sex', 'expected M or F');
  const ageText = text('age');
  const ageMatch = ageText === undefined ? null : /^(\d{3})([DWMY])$/.exec(ageText);
  if (ageMatch === null) return fail('age', "expected nnnY, nnnM, nnnW or nnnD, such as '063Y'");
  const count = Number(ageMatch[1]);
  const years = Math.floor(count / { Y: 1, M: 12, W: 52, D: 365 }[ageMatch[2] as 'Y' | 'M' | 'W' | 'D']);
  if (years > 255) fail('age', 'expected an age below 256 years');
  return { size: rows, pixels, sex: sexCode === 'M' ? 1 : 0, age: years };
}

function encodeDicomImage(path: string, image: DicomImage, meta: DicomWriteMeta): ArrayBuffer {
  const file = basename(path);
  const { size, pixels } = image;
  const fail = (where: string | undefined, expected: string): never => {
    throw new DicomError(meta.hospital, file, where, expected);
  };
  if (!Number.isInteger(size) || size < 1 || size > 65535) fail(TAG.rows[1], 'expected a size of 1 to 65535');
  if (pixels.length !== size * size) fail(TAG.pixelData[1], `expected size × size = ${size * size} pixels`);
  const stored = new Int16Array(size * size);
  for (let p = 0; p < stored.length; p++) {
    const k = pixels[p]! / PIXEL_QUANTUM;
    if (!Number.isInteger(k) || k < -32768 || k > 32767) {
      fail(TAG.pixelData[1], `pixel ${p}: expected a multiple of 1/1024 in [-32, 32)`);
    }
    stored[p] = k;
  }
  if (image.sex !== 0 && image.sex !== 1) fail(TAG.sex[1], 'expected sex 1 (male) or 0 (female)');
  if (!Number.isInteger(image.age) || image.age < 0 || image.age > 999) {
    fail(TAG.age[1], 'expected whole years from 0 to 999');
  }
  if (!/^[\x20-\x7e]{1,64}$/.test(image.patientId) || image.patientId.includes('\\')) {
    fail('(0010,0020) PatientID', 'expected 1 to 64 printable ASCII characters without a backslash');
  }
  if (!/^[\x20-\x7e]{1,64}$/.test(meta.hospital) || meta.hospital.includes('\\')) {
    fail('(0008,0080) InstitutionName', 'expected a hospital id of 1 to 64 printable ASCII characters');
  }
  // Little-endian bytes regardless of the host's byte order.
  const pixelBytes = new ArrayBuffer(2 * stored.length);
  const view = new DataView(pixelBytes);
  for (let p = 0; p < stored.length; p++) view.setInt16(2 * p, stored[p]!, true);

  const instanceUid = uid(meta, 'instance');
  const el = (vr: string, ...values: (string | number | ArrayBuffer)[]): DicomElement => ({
    vr,
    Value: values,
  });
  const fileMeta: DicomDataset = {
    '00020001': el('OB', new Uint8Array([0, 1]).buffer),
    '00020002': el('UI', SC_IMAGE_STORAGE),
    '00020003': el('UI', instanceUid),
    '00020010': el('UI', EXPLICIT_VR_LE),
    '00020012': el('UI', uidFrom('implementation', IMPLEMENTATION_VERSION)),
    '00020013': el('SH', IMPLEMENTATION_VERSION),
  };
  const dict = new (dicomData().DicomDict)(fileMeta);
  dict.dict = {
    '00080008': el('CS', 'DERIVED', 'SECONDARY'),
    '00080016': el('UI', SC_IMAGE_STORAGE),
    '00080018': el('UI', instanceUid),
    '00080020': el('DA'),
    '00080030': el('TM'),
    '00080050': el('SH'),
    '00080060': el('CS', 'OT'),
    '00080064': el('CS', 'SYN'),
    '00080070': el('LO', 'fedmed'),
    '00080080': el('LO', meta.hospital),
    '00080090': el('PN'),
    '00100010': { vr: 'PN', Value: [{ Alphabetic: image.patientId }] },
    '00100020': el('LO', image.patientId),
    '00100030': el('DA'),
    '00100040': el('CS', image.sex === 1 ? 'M' : 'F'),
    '00101010': el('AS', `${String(image.age).padStart(3, '0')}Y`),
    '0020000D': el('UI', uid(meta, 'study')),
    '0020000E': el('UI', uid(meta, 'series')),
    '00200010': el('SH'),
    '00200011': el('IS', 1),
    '00200013': el('IS', meta.index + 1),
    '00200020': el('CS'),
    '00280002': el('US', 1),
    '00280004': el('CS', 'MONOCHROME2'),
    '00280010': el('US', size),
    '00280011': el('US', size),
    '00280100': el('US', 16),
    '00280101': el('US', 16),
    '00280102': el('US', 15),
    '00280103': el('US', 1),
    '00281052': el('DS', '0'),
    '00281053': el('DS', RESCALE_SLOPE),
    '00281054': el('LO', 'US'),
    '00282110': el('CS', '00'),
    '7FE00010': el('OW', pixelBytes),
  };
  return dict.write();
}

/** A `2.25.<decimal>` UID from the first 128 bits of SHA-256 of the image's origin and role. */
function uid(meta: DicomWriteMeta, role: 'study' | 'series' | 'instance'): string {
  return uidFrom(role, `${meta.hospital}/${meta.seed}/${meta.index}`);
}

function uidFrom(role: string, origin: string): string {
  const hex = createHash('sha256').update(`fedmed/dicom/${role}/${origin}`, 'utf8').digest('hex');
  return `2.25.${BigInt(`0x${hex.slice(0, 32)}`).toString()}`;
}
