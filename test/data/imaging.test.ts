import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import {
  generateImages,
  imagesToExamples,
  PIXEL_QUANTUM,
  type ImageSet,
} from '../../src/clients/data/imaging.ts';
import { splitTrainTest } from '../../src/clients/data/split.ts';
import { binaryMetrics } from '../../src/clients/metrics.ts';
import { initialParameters } from '../../src/models/architecture.ts';
import { selectBackend } from '../../src/models/backend.ts';
import { createTfjsTrainer } from '../../src/models/tfjs-trainer.ts';
import { hospitalSchema, modelSchema, type HospitalConfig } from '../../src/scenario/schema.ts';

type Scanner = Partial<HospitalConfig['imaging']['scanner']>;

function site(id: string, patients: number, scanner: Scanner = {}, prevalence?: number): HospitalConfig {
  return hospitalSchema.parse({
    id,
    country: id.startsWith('cn') ? 'CN' : 'KR',
    patients,
    imaging: { scanner, ...(prevalence === undefined ? {} : { prevalence }) },
  });
}

const DATA = { size: 32, prevalence: 0.5 };

function bytes(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function meanVar(a: Float32Array): { mean: number; variance: number } {
  let s = 0;
  let q = 0;
  for (const v of a) {
    s += v;
    q += v * v;
  }
  const mean = s / a.length;
  return { mean, variance: q / a.length - mean * mean };
}

/** Mean squared difference between horizontally and vertically adjacent pixels: high-frequency energy. */
function highFrequency(set: ImageSet): number {
  const s = set.size;
  let e = 0;
  let count = 0;
  for (let i = 0; i < set.n; i++) {
    const o = i * s * s;
    for (let y = 0; y < s - 1; y++) {
      for (let x = 0; x < s - 1; x++) {
        const v = set.pixels[o + y * s + x]!;
        e += (set.pixels[o + y * s + x + 1]! - v) ** 2 + (set.pixels[o + (y + 1) * s + x]! - v) ** 2;
        count += 2;
      }
    }
  }
  return e / count;
}

function sameSet(a: ImageSet, b: ImageSet): boolean {
  return (
    bytes(a.pixels).equals(bytes(b.pixels)) &&
    bytes(a.labels).equals(bytes(b.labels)) &&
    bytes(a.sex).equals(bytes(b.sex)) &&
    bytes(a.age).equals(bytes(b.age))
  );
}

describe('generateImages', () => {
  it('is a function of (seed, hospital) only', () => {
    const a = generateImages(site('kr-seoul-1', 60), DATA, 11);
    expect(sameSet(a, generateImages(site('kr-seoul-1', 60), DATA, 11))).toBe(true);
    expect(sameSet(a, generateImages(site('kr-seoul-1', 60), DATA, 12))).toBe(false);
    expect(sameSet(a, generateImages(site('kr-busan-1', 60), DATA, 11))).toBe(false);
    expect(a.pixels.length).toBe(60 * 32 * 32);
    expect(a.n).toBe(60);
    expect(a.size).toBe(32);
  });

  it("is unaffected by another hospital's settings, and its own scanner leaves patients unchanged", () => {
    const alone = generateImages(site('kr-seoul-1', 80), DATA, 5);
    generateImages(site('cn-shanghai-1', 80, { noise: 1.5, blur: 3, shift: 1, contrast: 3 }, 0.9), DATA, 5);
    expect(sameSet(alone, generateImages(site('kr-seoul-1', 80), DATA, 5))).toBe(true);

    const clean = generateImages(site('kr-seoul-1', 80, { noise: 0 }), DATA, 5);
    const noisy = generateImages(site('kr-seoul-1', 80, { noise: 0.3 }), DATA, 5);
    expect(bytes(noisy.labels).equals(bytes(clean.labels))).toBe(true);
    expect(bytes(noisy.sex).equals(bytes(clean.sex))).toBe(true);
    expect(bytes(noisy.age).equals(bytes(clean.age))).toBe(true);
    const diff = noisy.pixels.map((v, p) => v - clean.pixels[p]!);
    const { mean, variance } = meanVar(diff);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.sqrt(variance)).toBeCloseTo(0.3, 1);
  });

  it('has exactly round(n × prevalence) positives, the hospital overriding the data setting', () => {
    const count = (s: ImageSet) => s.labels.reduce((a, b) => a + b, 0);
    expect(count(generateImages(site('kr-seoul-1', 101), { size: 16, prevalence: 0.3 }, 1))).toBe(30);
    expect(count(generateImages(site('kr-seoul-1', 101, {}, 0.1), { size: 16, prevalence: 0.3 }, 1))).toBe(
      10,
    );
    expect(count(generateImages(site('kr-seoul-1', 37, {}, 0.5), { size: 16, prevalence: 0.3 }, 1))).toBe(19);
    const s = generateImages(site('cn-beijing-1', 500), { size: 16, prevalence: 0.2 }, 3);
    expect(count(s)).toBe(100);
    // Seeded positions, not the first rows.
    expect(s.labels.subarray(0, 100).reduce((a, b) => a + b, 0)).toBeLessThan(60);
  });

  it('draws plausible demographics and quantized pixels', () => {
    const s = generateImages(site('kr-seoul-1', 400, { noise: 0.2, blur: 0.7, shift: 0.3 }), DATA, 9);
    expect(Math.min(...s.age)).toBeGreaterThanOrEqual(30);
    expect(Math.max(...s.age)).toBeLessThanOrEqual(85);
    const males = s.sex.reduce((a, b) => a + b, 0);
    expect(males).toBeGreaterThan(150);
    expect(males).toBeLessThan(250);
    expect(s.pixels.every((v) => Number.isInteger(v / PIXEL_QUANTUM))).toBe(true);
  });

  it('scanner effects are measurable: noise raises variance, shift the mean, blur removes high frequencies', () => {
    const base = generateImages(site('kr-seoul-1', 100, { noise: 0.05 }), DATA, 4);
    const noisy = generateImages(site('kr-seoul-1', 100, { noise: 0.4 }), DATA, 4);
    const shifted = generateImages(site('kr-seoul-1', 100, { noise: 0.05, shift: 0.5 }), DATA, 4);
    // Blur acts on the acquired image, before the noise is added: compare them without noise.
    const sharp = generateImages(site('kr-seoul-1', 100, { noise: 0 }), DATA, 4);
    const blurred = generateImages(site('kr-seoul-1', 100, { noise: 0, blur: 1.5 }), DATA, 4);
    const b = meanVar(base.pixels);
    expect(meanVar(noisy.pixels).variance).toBeGreaterThan(b.variance + 0.1);
    expect(meanVar(shifted.pixels).mean - b.mean).toBeCloseTo(0.5, 2);
    expect(highFrequency(blurred)).toBeLessThan(0.7 * highFrequency(sharp));
  });

  it('contrast scales the lesion and only the lesion', () => {
    const low = generateImages(site('kr-seoul-1', 60, { noise: 0, contrast: 0.5 }), DATA, 8);
    const high = generateImages(site('kr-seoul-1', 60, { noise: 0, contrast: 2 }), DATA, 8);
    const area = 32 * 32;
    for (let i = 0; i < low.n; i++) {
      let peak = 0;
      for (let p = i * area; p < (i + 1) * area; p++) {
        peak = Math.max(peak, Math.abs(high.pixels[p]! - low.pixels[p]!));
      }
      if (low.labels[i] === 1) expect(peak).toBeGreaterThan(0.2);
      else expect(peak).toBe(0);
    }
  });
});

describe('imagesToExamples', () => {
  it('standardizes by fixed constants into [size, size, 1] rows', () => {
    const s = generateImages(site('kr-seoul-1', 300), DATA, 2);
    const all = imagesToExamples(
      s,
      Uint32Array.from({ length: s.n }, (_, i) => i),
    );
    expect(all.inputShape).toEqual([32, 32, 1]);
    const { mean, variance } = meanVar(all.x);
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.15);

    const rows = Uint32Array.of(7, 3);
    const two = imagesToExamples(s, rows);
    expect(two.n).toBe(2);
    expect(Array.from(two.y)).toEqual([s.labels[7], s.labels[3]]);
    expect(bytes(two.x.subarray(1024, 2048)).equals(bytes(all.x.subarray(3 * 1024, 4 * 1024)))).toBe(true);

    // Fixed constants: a shifted site stays shifted after standardization.
    const shifted = generateImages(site('kr-seoul-1', 300, { shift: 0.5 }), DATA, 2);
    const sx = imagesToExamples(
      shifted,
      Uint32Array.from({ length: s.n }, (_, i) => i),
    );
    expect(meanVar(sx.x).mean - mean).toBeGreaterThan(1);
  });
});

describe('learnability', () => {
  it('a small cnn on wasm learns the lesion from 400 images (held-out AUROC > 0.8)', async () => {
    const model = modelSchema.parse({ kind: 'cnn', filters: [8, 16], kernelSize: 3, dense: 32 });
    expect(await selectBackend('wasm', model)).toBe('wasm');
    const hospital = site('kr-seoul-1', 400);
    const set = generateImages(hospital, DATA, 2026);
    const { train, test } = splitTrainTest(set.labels, 0.25, stream(2026, 'split', hospital.id));
    const tr = imagesToExamples(set, train);
    const te = imagesToExamples(set, test);
    const trainer = createTfjsTrainer(model, tr.inputShape);
    try {
      trainer.setParameters(initialParameters(trainer.spec, stream(2026, 'init')));
      const t = performance.now();
      const epochs = 6;
      trainer.train(
        tr,
        { localEpochs: epochs, batchSize: 32, learningRate: 0.003, optimizer: 'adam' },
        stream(2026, 'train', hospital.id),
      );
      const ms = performance.now() - t;
      const m = binaryMetrics(te.y, trainer.predict(te));
      console.log(
        `cnn on wasm: ${epochs} epochs × ${tr.n} images in ${ms.toFixed(0)} ms ` +
          `(${((1000 * ms) / (epochs * tr.n)).toFixed(0)} ms per 1000 images per epoch); ` +
          `held-out AUROC ${m.auroc?.toFixed(3)}, accuracy ${m.accuracy?.toFixed(3)}`,
      );
      expect(m.auroc).toBeGreaterThan(0.8);
    } finally {
      trainer.dispose();
    }
  });
});
