import { extname, isAbsolute, join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { SourceConfig } from '../../scenario/schema.ts';
import type { OwnDataConfig } from '../../protocol/own-data-layout.ts';
import { MAX_IMAGE_BYTES } from '../../scenario/data-paths.ts';
import { readCsv } from './csv.ts';
import { readLocalFile } from './local-files.ts';
import { EmrError } from './emr.ts';
import type { EncodedTable } from './table.ts';

/** An image-folder source of the scenario. */
export type ImageFolderSource = Extract<SourceConfig, { kind: 'image-folder' }>;
/** Image-folder data of the scenario. */
export type ImageFolderConfig = Extract<OwnDataConfig, { kind: 'image-folder' }>;

/** Decoded pixels: `height × width` RGBA bytes. */
interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * Reads an image folder: one row of the labels CSV per image, its file (PNG or JPEG, inside the folder) and its
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
    const px = image.data;
    for (let p = 0, o = i * size; p < height * width; p++) {
      const rgba = 4 * p;
      if (channels === 1) {
        x[o + p] = (px[rgba]! + px[rgba + 1]! + px[rgba + 2]!) / (3 * 255);
      } else {
        for (let c = 0; c < channels; c++) x[o + p * channels + c] = px[rgba + c]! / 255;
      }
    }
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

/** Width and height of a PNG or JPEG file (decoded whole); an {@link EmrError} names a file that is not one. */
export function imageSize(file: string, hospital: string): { width: number; height: number } {
  const { width, height } = decode(file, hospital, undefined);
  return { width, height };
}

/**
 * An image file's pixels as RGBA bytes, by its extension: .png, or .jpg / .jpeg; read as every hospital file
 * is (a regular file inside the data root, at most {@link MAX_IMAGE_BYTES}).
 */
function decode(file: string, hospital: string, root: string | undefined): Rgba {
  const fail = (expected: string): never => {
    throw new EmrError({ hospital, file, expected });
  };
  const ext = extname(file).toLowerCase();
  if (ext !== '.png' && ext !== '.jpg' && ext !== '.jpeg') fail('a .png, .jpg or .jpeg file');
  const bytes = readLocalFile(file, MAX_IMAGE_BYTES, fail, root);
  try {
    if (ext === '.png') {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: png.data };
    }
    const jpg = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: 16 });
    return { width: jpg.width, height: jpg.height, data: jpg.data };
  } catch {
    // A decoder's message may quote the file's bytes; the file is named, its content is not.
    return fail(`a well-formed ${ext === '.png' ? 'PNG' : 'JPEG'} image; it could not be decoded`);
  }
}
