import { extname, isAbsolute, join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { SourceConfig } from '../../scenario/schema.ts';
import type { OwnDataConfig } from '../../protocol/own-data-layout.ts';
import { MAX_IMAGE_BYTES } from '../../scenario/data-paths.ts';
import { readCsv } from './csv.ts';
import { readLocalFile } from './local-files.ts';
import { EmrError } from './emr.ts';
import { TAG } from './dicom-parse.ts';
import { readDicomPixels, type DicomPixels } from './dicom-pixels.ts';
import type { EncodedTable } from './table.ts';

/** An image-folder source of the scenario. */
export type ImageFolderSource = Extract<SourceConfig, { kind: 'image-folder' }>;
/** Image-folder data of the scenario. */
export type ImageFolderConfig = Extract<OwnDataConfig, { kind: 'image-folder' }>;

/** A decoded image: its size, and a way to lay its pixels out as `channels` values in [0, 1] each. */
interface Decoded {
  readonly width: number;
  readonly height: number;
  /** Writes the image's `width × height × channels` values into `x` from `offset`. */
  fill(x: Float64Array, offset: number, channels: number): void;
}

/**
 * Reads an image folder: one row of the labels CSV per image, its file (PNG, JPEG or DICOM, inside the folder) and its
 * label (a declared class, or the hospital's code of one; a number for a continuous outcome). Each image must
 * be exactly the declared height × width; its pixels become `channels` values in [0, 1] (grey: the mean of
 * red, green and blue). Throws an {@link EmrError} naming hospital and file (and the labels row and column, or
 * both sizes), never a pixel or label value.
 */
export function readImageFolder(
  data: ImageFolderConfig,
  source: ImageFolderSource,
  where: {
    readonly hospital: string;
    readonly folder: string;
    readonly labels: string;
    /** The data root every file must lie inside (also through symbolic links). */
    readonly root?: string;
  },
): EncodedTable {
  const { hospital, folder, labels, root } = where;
  const table = readCsv(labels, { hospital, ...(root === undefined ? {} : { root }) });
  const columnOf = (name: string): number => {
    const i = table.header.indexOf(name);
    if (i < 0)
      throw new EmrError({ hospital, file: labels, row: 0, column: name, expected: 'a column of this name' });
    return i;
  };
  const fileAt = columnOf(source.fileColumn);
  const labelAt = columnOf(source.labelColumn);
  if (table.rows.length === 0)
    throw new EmrError({ hospital, file: labels, row: 1, expected: 'at least one image row' });
  const outcome = data.outcome;
  const classCodes =
    outcome.type === 'continuous'
      ? undefined
      : new Map(outcome.classes.map((c, i) => [source.codes[c] ?? c, i]));
  const { height, width, channels } = data;
  const size = height * width * channels;
  const n = table.rows.length;
  const x = new Float64Array(n * size);
  const y = new Float32Array(n);
  table.rows.forEach((cells, i) => {
    const r = i + 1;
    const name = cells[fileAt]!;
    if (name === '' || isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
      throw new EmrError({
        hospital,
        file: labels,
        row: r,
        column: source.fileColumn,
        expected: 'a file name inside the image folder (relative, without "..")',
      });
    }
    const label = cells[labelAt]!;
    const target = classCodes === undefined ? Number(label) : classCodes.get(label);
    if (
      target === undefined ||
      !Number.isFinite(target) ||
      (classCodes === undefined && label.trim() === '')
    ) {
      throw new EmrError({
        hospital,
        file: labels,
        row: r,
        column: source.labelColumn,
        expected:
          classCodes === undefined
            ? 'a number'
            : `one of the ${classCodes.size} declared classes of ${outcome.name}`,
      });
    }
    y[i] = target;
    const file = resolve(join(folder, name));
    const image = decode(file, hospital, root);
    if (image.width !== width || image.height !== height) {
      throw new EmrError({
        hospital,
        file,
        expected: `an image of ${width}×${height} pixels (width × height, as the scenario declares); this one is ${image.width}×${image.height}`,
      });
    }
    image.fill(x, i * size, channels);
  });
  return {
    n,
    width: size,
    x,
    y,
    rows: Uint32Array.from({ length: n }, (_, i) => i),
    missing: new Uint32Array(0),
    dropped: 0,
  };
}

/** Width and height of an image file (decoded whole); an {@link EmrError} names a file that is not one. */
export function imageSize(file: string, hospital: string): { width: number; height: number } {
  const { width, height } = decode(file, hospital, undefined);
  return { width, height };
}

/**
 * An image file's pixels, by its extension: .png, .jpg / .jpeg (8-bit RGBA; grey is the mean of red, green and
 * blue), or .dcm (see {@link readDicomPixels}); read as every hospital file is (a regular file inside the data
 * root, at most {@link MAX_IMAGE_BYTES}).
 */
function decode(file: string, hospital: string, root: string | undefined): Decoded {
  const fail = (expected: string): never => {
    throw new EmrError({ hospital, file, expected });
  };
  const ext = extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.jpg' && ext !== '.jpeg' && ext !== '.dcm')
    fail('a .png, .jpg, .jpeg or .dcm file');
  const bytes = readLocalFile(file, MAX_IMAGE_BYTES, fail, root);
  if (ext === '.dcm') {
    const d = readDicomPixels(bytes, (tag, expected) =>
      fail(tag === undefined ? expected : `${TAG[tag][1]}: ${expected}`),
    );
    return { width: d.width, height: d.height, fill: (x, o, channels) => fillDicom(d, x, o, channels) };
  }
  let rgba: { width: number; height: number; data: Uint8Array };
  try {
    if (ext === '.png') {
      const png = PNG.sync.read(bytes);
      rgba = { width: png.width, height: png.height, data: png.data };
    } else {
      const jpg = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 16 });
      rgba = { width: jpg.width, height: jpg.height, data: jpg.data };
    }
  } catch {
    // A decoder's message may quote the file's bytes; the file is named, its content is not.
    return fail(`a well-formed ${ext === '.png' ? 'PNG' : 'JPEG'} image; it could not be decoded`);
  }
  return { width: rgba.width, height: rgba.height, fill: (x, o, channels) => fillRgba(rgba, x, o, channels) };
}

function fillRgba(
  image: { width: number; height: number; data: Uint8Array },
  x: Float64Array,
  o: number,
  channels: number,
): void {
  const px = image.data;
  for (let p = 0; p < image.height * image.width; p++) {
    const rgba = 4 * p;
    if (channels === 1) {
      x[o + p] = (px[rgba]! + px[rgba + 1]! + px[rgba + 2]!) / (3 * 255);
    } else {
      for (let c = 0; c < channels; c++) x[o + p * channels + c] = px[rgba + c]! / 255;
    }
  }
}

/** Grey fills every colour channel; RGB averages to grey; a fourth (alpha) channel is opaque. */
function fillDicom(d: DicomPixels, x: Float64Array, o: number, channels: number): void {
  const v = d.values;
  for (let p = 0; p < d.height * d.width; p++) {
    const s = p * d.samples;
    for (let c = 0; c < channels; c++) {
      x[o + p * channels + c] =
        c === 3
          ? 1
          : d.samples === 1
            ? v[s]!
            : channels === 1
              ? (v[s]! + v[s + 1]! + v[s + 2]!) / 3
              : v[s + c]!;
    }
  }
}
