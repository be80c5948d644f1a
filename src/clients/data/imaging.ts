import { permutation, stream } from '../../common/rng.ts';
import type { Rng } from '../../common/rng.ts';
import type { Examples } from '../../models/types.ts';
import type { DataConfig, HospitalConfig, ScannerConfig } from '../../scenario/schema.ts';

/** The data settings of a synthetic-imaging scenario. */
export type ImagingDataConfig = Extract<DataConfig, { kind: 'synthetic-imaging' }>;

/** One hospital's grayscale scans with lesion labels and patient demographics. */
export interface ImageSet {
  readonly n: number;
  /** Side of each square image, in pixels. */
  readonly size: number;
  /** `n × size × size` intensities, row-major, each a multiple of {@link PIXEL_QUANTUM} in [{@link PIXEL_MIN}, {@link PIXEL_MAX}]. */
  readonly pixels: Float32Array;
  /** `n` labels: 1 when the scan shows a lesion. */
  readonly labels: Uint8Array;
  /** `n` flags: 1 male, 0 female. */
  readonly sex: Uint8Array;
  /** `n` ages in whole years. */
  readonly age: Uint8Array;
}

/** An image set that cannot be generated or converted; names the hospital and field, never a pixel or patient value. */
export class ImagingError extends Error {
  override readonly name = 'ImagingError';
  constructor(
    readonly hospital: string | undefined,
    readonly field: string,
    message: string,
  ) {
    super(hospital === undefined ? message : `hospital ${hospital}: ${message}`);
  }
}

/**
 * Grid of generated intensities. Every pixel is `k / 1024` for an integer `k` in [-32768, 32767], so it is
 * exactly a signed 16-bit stored value times RescaleSlope 1/1024 (intercept 0): a DICOM round trip, and the
 * float32 ↔ float64 conversions on the way, reproduce it bit for bit.
 */
export const PIXEL_QUANTUM = 1 / 1024;
/** Smallest representable intensity: the most negative int16 times {@link PIXEL_QUANTUM}. */
export const PIXEL_MIN = -32768 * PIXEL_QUANTUM;
/** Largest representable intensity: the largest int16 times {@link PIXEL_QUANTUM}. */
export const PIXEL_MAX = 32767 * PIXEL_QUANTUM;

/**
 * Fixed reference centre and scale for standardizing intensities (the mean and standard deviation of images
 * from a default scanner), the same at every site so that a site's scanner shift stays visible to the model.
 */
export const PIXEL_REFERENCE = { centre: 0.26, scale: 0.32 } as const;

/** Largest number of pixels one hospital may generate (1 GiB of float32). */
const MAX_PIXELS = 1 << 28;
const TEXTURE_WAVES = 3;

/**
 * One hospital's synthetic scans, from the stream `seed/images/<hospital id>` only. Each scan shows a body
 * outline and a bright elliptical organ with soft edges and low-frequency texture that vary per patient;
 * exactly `round(patients × prevalence)` scans, at seeded positions, add a lesion: a small irregular bright
 * or dark blob inside the organ, radius 2–5 px at size 32 (scaled with size). The site's scanner then
 * multiplies the lesion's contrast, blurs (separable Gaussian, edges clamped), adds Gaussian noise and
 * shifts intensities; values are finally rounded to {@link PIXEL_QUANTUM} and clamped to the int16 grid.
 * Anatomy, labels and demographics are drawn before any scanner noise and with a fixed number of draws per
 * scan, so changing a scanner setting or the prevalence leaves the other patients' anatomy unchanged.
 */
export function generateImages(
  hospital: HospitalConfig,
  data: Pick<ImagingDataConfig, 'size' | 'prevalence'>,
  seed: number,
): ImageSet {
  const { id } = hospital;
  const n = hospital.patients;
  const size = data.size;
  if (!Number.isInteger(size) || size < 4) {
    throw new ImagingError(id, 'size', 'size: expected an integer of at least 4 pixels');
  }
  if (!Number.isInteger(n) || n < 1) {
    throw new ImagingError(id, 'patients', 'patients: expected a positive integer');
  }
  if (n * size * size > MAX_PIXELS) {
    throw new ImagingError(
      id,
      'patients',
      `patients × size²: expected at most ${MAX_PIXELS} pixels; use fewer patients or smaller images`,
    );
  }
  const prevalence = hospital.imaging.prevalence ?? data.prevalence;
  if (!(prevalence >= 0 && prevalence <= 1)) {
    throw new ImagingError(id, 'prevalence', 'prevalence: expected a share between 0 and 1');
  }
  const scanner = hospital.imaging.scanner;
  checkScanner(id, scanner);

  const rng = stream(seed, 'images', id);
  const labels = new Uint8Array(n);
  const positives = Math.round(n * prevalence);
  const order = permutation(n, rng);
  for (let k = 0; k < positives; k++) labels[order[k]!] = 1;

  const area = size * size;
  const pixels = new Float32Array(n * area);
  const sex = new Uint8Array(n);
  const age = new Uint8Array(n);
  const work = new Float64Array(area);
  const painter = new AnatomyPainter(size);
  const blur = scanner.blur > 0 ? new GaussianBlur(size, scanner.blur) : undefined;
  for (let i = 0; i < n; i++) {
    sex[i] = rng.next() < 0.5 ? 1 : 0;
    age[i] = Math.round(clamp(58 + 12 * rng.normal(), 30, 85));
    painter.paint(work, rng, labels[i] === 1 ? scanner.contrast : 0);
    blur?.apply(work);
    pixels.set(work, i * area);
  }

  const { noise, shift } = scanner;
  for (let p = 0; p < pixels.length; p++) {
    const v = noise > 0 ? pixels[p]! + noise * rng.normal() + shift : pixels[p]! + shift;
    pixels[p] = quantize(v);
  }
  return { n, size, pixels, labels, sex, age };
}

/** The given rows of an image set as Examples of shape `[size, size, 1]`, standardized by {@link PIXEL_REFERENCE}. */
export function imagesToExamples(set: ImageSet, rows: Uint32Array): Examples {
  const area = set.size * set.size;
  if (set.pixels.length !== set.n * area || set.labels.length !== set.n) {
    throw new ImagingError(undefined, 'images', `images: expected ${area} pixels and one label per image`);
  }
  const x = new Float32Array(rows.length * area);
  const y = new Float32Array(rows.length);
  const { centre, scale } = PIXEL_REFERENCE;
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    if (r >= set.n) {
      throw new ImagingError(undefined, 'rows', `row ${r}: expected an index below ${set.n}`);
    }
    const src = r * area;
    const dst = k * area;
    for (let p = 0; p < area; p++) x[dst + p] = (set.pixels[src + p]! - centre) / scale;
    y[k] = set.labels[r]!;
  }
  return { x, y, n: rows.length, inputShape: [set.size, set.size, 1] };
}

/** Rounds to the {@link PIXEL_QUANTUM} grid and clamps to the int16 range it maps to; never returns -0. */
export function quantize(v: number): number {
  const k = Math.round(v / PIXEL_QUANTUM);
  // `| 0` also turns -0 into 0, which a 16-bit integer cannot tell apart.
  return ((k < -32768 ? -32768 : k > 32767 ? 32767 : k) | 0) * PIXEL_QUANTUM;
}

function checkScanner(id: string, s: ScannerConfig): void {
  const bad = (field: keyof ScannerConfig, expected: string): never => {
    throw new ImagingError(id, `imaging.scanner.${field}`, `imaging.scanner.${field}: expected ${expected}`);
  };
  if (!(s.contrast >= 0 && Number.isFinite(s.contrast))) bad('contrast', 'a finite number ≥ 0');
  if (!(s.noise >= 0 && Number.isFinite(s.noise))) bad('noise', 'a finite number ≥ 0');
  if (!(s.blur >= 0 && s.blur <= 16)) bad('blur', 'a sigma between 0 and 16 pixels');
  if (!Number.isFinite(s.shift)) bad('shift', 'a finite number');
}

/**
 * Paints scans of one size: body, organ, texture, and a lesion scaled by `lesionGain` (0 for a scan without
 * one). Each scan takes the same number of draws from `rng`, lesion or not. Buffers are reused across scans.
 */
class AnatomyPainter {
  readonly #size: number;
  readonly #edge: number;
  /** Per wave and coordinate: cos and sin of the wave's phase along x and along y (the texture is separable). */
  readonly #cosX: Float64Array;
  readonly #sinX: Float64Array;
  readonly #cosY: Float64Array;
  readonly #sinY: Float64Array;
  readonly #amp = new Float64Array(TEXTURE_WAVES);

  constructor(size: number) {
    this.#size = size;
    this.#edge = Math.max(0.6, size / 32);
    this.#cosX = new Float64Array(TEXTURE_WAVES * size);
    this.#sinX = new Float64Array(TEXTURE_WAVES * size);
    this.#cosY = new Float64Array(TEXTURE_WAVES * size);
    this.#sinY = new Float64Array(TEXTURE_WAVES * size);
  }

  paint(out: Float64Array, rng: Rng, lesionGain: number): void {
    const s = this.#size;
    const edge = this.#edge;
    const bodyX = s * (0.5 + 0.06 * (rng.next() - 0.5));
    const bodyY = s * (0.5 + 0.06 * (rng.next() - 0.5));
    const bodyA = s * (0.42 + 0.05 * rng.next());
    const bodyB = s * (0.36 + 0.05 * rng.next());
    const bodyLevel = 0.25 + 0.1 * rng.next();

    const organX = bodyX + s * 0.1 * (rng.next() - 0.5);
    const organY = bodyY + s * 0.1 * (rng.next() - 0.5);
    const organA = s * (0.22 + 0.08 * rng.next());
    const organB = s * (0.18 + 0.07 * rng.next());
    const organAngle = 0.8 * (rng.next() - 0.5);
    const organLevel = 0.75 + 0.2 * rng.next();
    const cosO = Math.cos(organAngle);
    const sinO = Math.sin(organAngle);

    const cosX = this.#cosX;
    const sinX = this.#sinX;
    const cosY = this.#cosY;
    const sinY = this.#sinY;
    const amp = this.#amp;
    for (let w = 0; w < TEXTURE_WAVES; w++) {
      const k = (2 * Math.PI * (0.5 + 2 * rng.next())) / s;
      const dir = 2 * Math.PI * rng.next();
      const kx = k * Math.cos(dir);
      const ky = k * Math.sin(dir);
      const phase = 2 * Math.PI * rng.next();
      amp[w] = 0.05 * rng.next();
      for (let c = 0; c < s; c++) {
        cosX[w * s + c] = Math.cos(kx * (c + 0.5) + phase);
        sinX[w * s + c] = Math.sin(kx * (c + 0.5) + phase);
        cosY[w * s + c] = Math.cos(ky * (c + 0.5));
        sinY[w * s + c] = Math.sin(ky * (c + 0.5));
      }
    }

    const bodySharp = Math.min(bodyA, bodyB) / edge;
    const organSharp = Math.min(organA, organB) / edge;
    for (let yy = 0; yy < s; yy++) {
      const py = yy + 0.5;
      for (let xx = 0; xx < s; xx++) {
        const px = xx + 0.5;
        const bx = (px - bodyX) / bodyA;
        const by = (py - bodyY) / bodyB;
        const body = softStep((1 - Math.sqrt(bx * bx + by * by)) * bodySharp);
        const dx = px - organX;
        const dy = py - organY;
        const ox = (cosO * dx + sinO * dy) / organA;
        const oy = (-sinO * dx + cosO * dy) / organB;
        const organ = softStep((1 - Math.sqrt(ox * ox + oy * oy)) * organSharp);
        let texture = 0;
        for (let w = 0; w < TEXTURE_WAVES; w++) {
          const i = w * s;
          texture += amp[w]! * (cosX[i + xx]! * cosY[i + yy]! - sinX[i + xx]! * sinY[i + yy]!);
        }
        out[yy * s + xx] = body * (bodyLevel + texture) + organ * (organLevel - bodyLevel + texture);
      }
    }

    // Lesion: position in the organ's own frame, irregular outline from two harmonics of the radius.
    const where = 2 * Math.PI * rng.next();
    const depth = 0.6 * Math.sqrt(rng.next());
    const lx = depth * organA * Math.cos(where);
    const ly = depth * organB * Math.sin(where);
    const lesionX = organX + cosO * lx - sinO * ly;
    const lesionY = organY + sinO * lx + cosO * ly;
    const radius = ((2 + 3 * rng.next()) * s) / 32;
    const h1 = 0.25 * rng.next();
    const p1 = 2 * Math.PI * rng.next();
    const h2 = 0.15 * rng.next();
    const p2 = 2 * Math.PI * rng.next();
    const polarity = rng.next() < 0.65 ? 1 : -1;
    const strength = 0.5 + 0.3 * rng.next();
    if (lesionGain === 0) return;

    const gain = lesionGain * polarity * strength;
    const reach = radius * (1 + h1 + h2) + 2 * edge;
    const x0 = Math.max(0, Math.floor(lesionX - reach));
    const x1 = Math.min(s - 1, Math.ceil(lesionX + reach));
    const y0 = Math.max(0, Math.floor(lesionY - reach));
    const y1 = Math.min(s - 1, Math.ceil(lesionY + reach));
    const lesionSharp = 2 / edge;
    for (let yy = y0; yy <= y1; yy++) {
      const dy = yy + 0.5 - lesionY;
      for (let xx = x0; xx <= x1; xx++) {
        const dx = xx + 0.5 - lesionX;
        const d = Math.sqrt(dx * dx + dy * dy);
        const theta = Math.atan2(dy, dx);
        const r = radius * (1 + h1 * Math.cos(theta + p1) + h2 * Math.cos(2 * theta + p2));
        out[yy * s + xx] = out[yy * s + xx]! + gain * softStep((r - d) * lesionSharp);
      }
    }
  }
}

/** A logistic-like step from 0 (t ≤ -2) to 1 (t ≥ 2), a cubic smoothstep: cheaper than `exp` per pixel. */
function softStep(t: number): number {
  if (t <= -2) return 0;
  if (t >= 2) return 1;
  const u = 0.25 * (t + 2);
  return u * u * (3 - 2 * u);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** A separable Gaussian blur of square images, edges clamped, buffers reused across images. */
class GaussianBlur {
  readonly #size: number;
  readonly #kernel: Float64Array;
  readonly #radius: number;
  readonly #tmp: Float64Array;

  constructor(size: number, sigma: number) {
    this.#size = size;
    this.#radius = Math.max(1, Math.ceil(3 * sigma));
    this.#kernel = new Float64Array(2 * this.#radius + 1);
    let sum = 0;
    for (let k = -this.#radius; k <= this.#radius; k++) {
      const w = Math.exp(-(k * k) / (2 * sigma * sigma));
      this.#kernel[k + this.#radius] = w;
      sum += w;
    }
    for (let k = 0; k < this.#kernel.length; k++) this.#kernel[k] = this.#kernel[k]! / sum;
    this.#tmp = new Float64Array(size * size);
  }

  apply(img: Float64Array): void {
    const s = this.#size;
    const r = this.#radius;
    const kern = this.#kernel;
    const tmp = this.#tmp;
    for (let y = 0; y < s; y++) {
      const row = y * s;
      for (let x = 0; x < s; x++) {
        let acc = 0;
        for (let k = -r; k <= r; k++) {
          const xi = x + k < 0 ? 0 : x + k >= s ? s - 1 : x + k;
          acc += kern[k + r]! * img[row + xi]!;
        }
        tmp[row + x] = acc;
      }
    }
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        let acc = 0;
        for (let k = -r; k <= r; k++) {
          const yi = y + k < 0 ? 0 : y + k >= s ? s - 1 : y + k;
          acc += kern[k + r]! * tmp[yi * s + x]!;
        }
        img[y * s + x] = acc;
      }
    }
  }
}
