import { parseDicom, type TagFail } from './dicom-parse.ts';

/** A DICOM image as an image folder reads it: each sample in [0, 1], samples of a pixel side by side. */
export interface DicomPixels {
  readonly width: number;
  readonly height: number;
  /** 1 (grey) or 3 (RGB). */
  readonly samples: 1 | 3;
  readonly values: Float64Array;
}

/**
 * Reads one DICOM Part 10 image of any size: grey (MONOCHROME1 or MONOCHROME2) or RGB (interleaved or planar),
 * 8 or 16 bits allocated, unsigned or signed, uncompressed little endian, one frame. Each stored sample maps
 * linearly from the range its BitsStored and PixelRepresentation allow onto [0, 1] — the same map for every
 * file of that encoding, so pixels keep their meaning across images (the rescale is linear, and a federated
 * standardisation may follow); MONOCHROME1 and a negative rescale slope are inverted so that 1 is brightest.
 */
export function readDicomPixels(bytes: Buffer, fail: TagFail): DicomPixels {
  const { integer, decimal, text, pixelBytes } = parseDicom(bytes, fail);
  const height = integer('rows');
  const width = integer('columns');
  if (height < 1) fail('rows', 'expected at least 1');
  if (width < 1) fail('columns', 'expected at least 1');
  const samples = integer('samples');
  if (samples !== 1 && samples !== 3) fail('samples', 'expected 1 (grey) or 3 (RGB)');
  const photometric = text('photometric');
  if (samples === 1 && photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')
    fail('photometric', 'expected MONOCHROME1 or MONOCHROME2 for one sample per pixel');
  if (samples === 3 && photometric !== 'RGB') fail('photometric', 'expected RGB for three samples per pixel');
  const planar = samples === 3 ? integer('planar', 0) : 0;
  if (planar !== 0 && planar !== 1) fail('planar', 'expected 0 (interleaved) or 1 (one plane per colour)');
  if (integer('frames', 1) !== 1) fail('frames', 'expected a single frame');
  const allocated = integer('bitsAllocated');
  if (allocated !== 8 && allocated !== 16) fail('bitsAllocated', 'expected 8 or 16');
  const stored = integer('bitsStored', allocated);
  if (stored < 1 || stored > allocated) fail('bitsStored', 'expected 1 to BitsAllocated');
  if (integer('highBit', stored - 1) !== stored - 1) fail('highBit', 'expected BitsStored − 1');
  const signed = integer('pixelRepresentation');
  if (signed !== 0 && signed !== 1) fail('pixelRepresentation', 'expected 0 (unsigned) or 1 (signed)');
  const slope = decimal('slope', 1);
  if (slope === 0) fail('slope', 'expected a non-zero slope');

  const area = width * height;
  const count = area * samples;
  const bytesPer = allocated / 8;
  const view = pixelBytes(count * bytesPer, 'Rows × Columns × SamplesPerPixel × BitsAllocated / 8');
  const shift = 32 - stored;
  const offset = signed === 1 ? 2 ** (stored - 1) : 0;
  const top = 2 ** stored - 1;
  const invert = (photometric === 'MONOCHROME1') !== slope < 0;
  const values = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const raw = bytesPer === 1 ? view.getUint8(k) : view.getUint16(2 * k, true);
    const value = signed === 1 ? (raw << shift) >> shift : (raw << shift) >>> shift;
    const unit = (value + offset) / top;
    // Planar data holds all reds, then greens, then blues; the result is interleaved.
    const at = planar === 1 ? (k % area) * 3 + Math.floor(k / area) : k;
    values[at] = invert ? 1 - unit : unit;
  }
  return { width, height, samples: samples as 1 | 3, values };
}
