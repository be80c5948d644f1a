import { dicomData } from './dcmjs-data.ts';
import type { DicomDataset, DicomElement } from 'dcmjs';

export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const IMPLICIT_VR_LE = '1.2.840.10008.1.2';

/** The DICOM elements fedmed reads, by hex tag and as an error names them. */
export const TAG = {
  transferSyntax: ['00020010', '(0002,0010) TransferSyntaxUID'],
  sex: ['00100040', '(0010,0040) PatientSex'],
  age: ['00101010', '(0010,1010) PatientAge'],
  samples: ['00280002', '(0028,0002) SamplesPerPixel'],
  photometric: ['00280004', '(0028,0004) PhotometricInterpretation'],
  planar: ['00280006', '(0028,0006) PlanarConfiguration'],
  frames: ['00280008', '(0028,0008) NumberOfFrames'],
  rows: ['00280010', '(0028,0010) Rows'],
  columns: ['00280011', '(0028,0011) Columns'],
  bitsAllocated: ['00280100', '(0028,0100) BitsAllocated'],
  bitsStored: ['00280101', '(0028,0101) BitsStored'],
  highBit: ['00280102', '(0028,0102) HighBit'],
  pixelRepresentation: ['00280103', '(0028,0103) PixelRepresentation'],
  intercept: ['00281052', '(0028,1052) RescaleIntercept'],
  slope: ['00281053', '(0028,1053) RescaleSlope'],
  pixelData: ['7FE00010', '(7FE0,0010) PixelData'],
} as const satisfies Record<string, readonly [string, string]>;
/** A tag fedmed reads. */
export type TagName = keyof typeof TAG;

/** Throws an error naming the file and, when given, the tag (as `(gggg,eeee) Keyword`); never a value. */
export type TagFail = (tag: TagName | undefined, expected: string) => never;

/** A parsed DICOM Part 10 file's elements, read through checks that name the tag and never quote a value. */
export interface DicomFields {
  readonly syntax: string;
  text(tag: TagName): string | undefined;
  /** An integer element; `fallback` when absent, else a failure naming the tag. */
  integer(tag: TagName, fallback?: number): number;
  /** A decimal string or number element; `fallback` when absent or empty. */
  decimal(tag: TagName, fallback: number): number;
  /**
   * Native pixel data of exactly `length` bytes that end the file (truncated files and trailing data are
   * refused: a parser may otherwise pad or ignore them).
   */
  pixelBytes(length: number, equation: string): DataView;
}

/** Parses a DICOM Part 10 file of uncompressed little-endian pixels; failures go to `fail`. */
export function parseDicom(bytes: Buffer, fail: TagFail): DicomFields {
  if (bytes.length < 132 || bytes.toString('latin1', 128, 132) !== 'DICM') {
    fail(undefined, "expected a DICOM Part 10 file ('DICM' after the 128-byte preamble)");
  }
  let meta: DicomDataset;
  let ds: DicomDataset;
  try {
    const parsed = dicomData().DicomMessage.readFile(new Uint8Array(bytes).buffer);
    meta = parsed.meta;
    ds = parsed.dict;
  } catch {
    // dcmjs's messages can quote element values; the file is named, its content is not.
    return fail(undefined, 'expected a well-formed DICOM Part 10 file; it could not be parsed');
  }
  const element = (tag: TagName, from: DicomDataset = ds): DicomElement | undefined => from[TAG[tag][0]];
  const textOf = (tag: TagName, from: DicomDataset = ds): string | undefined => {
    const v = element(tag, from)?.Value[0];
    return typeof v === 'string' ? v.trim() : undefined;
  };
  const syntax = textOf('transferSyntax', meta);
  if (syntax !== EXPLICIT_VR_LE && syntax !== IMPLICIT_VR_LE) {
    fail('transferSyntax', `expected uncompressed little endian (${EXPLICIT_VR_LE} or ${IMPLICIT_VR_LE})`);
  }
  return {
    syntax: syntax!,
    text: (tag) => textOf(tag),
    integer(tag, fallback) {
      const v = element(tag)?.Value[0];
      const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : undefined;
      if (x === undefined) {
        if (fallback !== undefined) return fallback;
        return fail(tag, 'expected a value; the element is missing or empty');
      }
      if (!Number.isInteger(x)) return fail(tag, 'expected an integer');
      return x;
    },
    decimal(tag, fallback) {
      const v = element(tag)?.Value[0];
      if (v === undefined || v === '') return fallback;
      const x = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      if (!Number.isFinite(x)) fail(tag, 'expected a finite decimal number');
      return x;
    },
    pixelBytes(length, equation) {
      const data = element('pixelData')?.Value[0];
      if (!(data instanceof ArrayBuffer))
        return fail('pixelData', 'expected native (uncompressed) pixel data');
      if (data.byteLength !== length) fail('pixelData', `expected ${equation} = ${length} bytes`);
      if (!pixelDataEndsFile(bytes, length, syntax === EXPLICIT_VR_LE)) {
        fail(
          'pixelData',
          `expected ${length} bytes ending the file; the file is truncated or has trailing data`,
        );
      }
      return new DataView(data);
    },
  };
}

/** Whether the file ends with a (7FE0,0010) element header declaring `length` bytes followed by those bytes. */
function pixelDataEndsFile(bytes: Buffer, length: number, explicitVr: boolean): boolean {
  const header = explicitVr ? 12 : 8;
  const at = bytes.length - length - header;
  if (at < 132) return false;
  if (bytes.readUInt16LE(at) !== 0x7fe0 || bytes.readUInt16LE(at + 2) !== 0x0010) return false;
  if (!explicitVr) return bytes.readUInt32LE(at + 4) === length;
  const vr = bytes.toString('latin1', at + 4, at + 6);
  return (
    (vr === 'OW' || vr === 'OB') && bytes.readUInt16LE(at + 6) === 0 && bytes.readUInt32LE(at + 8) === length
  );
}
