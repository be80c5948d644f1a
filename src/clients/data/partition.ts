import { permutation } from '../../common/rng.ts';
import type { Rng } from '../../common/rng.ts';
import { MAX_DIRICHLET_ALPHA, MIN_DIRICHLET_ALPHA } from '../../scenario/dirichlet-range.ts';
import type { PartitionConfig } from '../../scenario/schema.ts';

/** Fewest records any partition gives a hospital: it needs at least one for training and one for testing. */
export const MIN_PER_HOSPITAL = 2;

/** A partition that cannot be made; names the offending parameter, never a patient value. */
export class PartitionError extends Error {
  override readonly name = 'PartitionError';
  constructor(
    readonly parameter: string,
    /** What the parameter should have been (the error report's `expected`). */
    readonly expected: string,
  ) {
    super(`${parameter}: ${expected}`);
  }
}

/**
 * Divides a pooled set of binary-labelled records among K hospitals and returns one ascending array of
 * record indices per hospital; the arrays are disjoint and together cover every record.
 *
 * - `natural`: hospital h gets its own contiguous block `[Σ_{j<h} sizes[j], Σ_{j≤h} sizes[j])`; `rng` is unused.
 * - `iid`: a seeded permutation of all records dealt out in hospital order with exactly the declared sizes.
 * - `dirichlet(alpha)`: for each class c, proportions p_c ~ Dirichlet(alpha·1_K) over the hospitals; class
 *   c's records, shuffled, are divided by p_c with largest-remainder rounding. Small alpha concentrates each
 *   class on few hospitals (strong label skew); large alpha approaches `iid` label proportions. Declared
 *   sizes only fix the total. With `minPerHospital` above {@link MIN_PER_HOSPITAL}, the proportions of every
 *   class are drawn again until each hospital holds at least that many records (the rule of Li et al.'s
 *   NIID-Bench, which asks for 10). A hospital still left with fewer than {@link MIN_PER_HOSPITAL} records
 *   receives randomly chosen records moved from the currently largest hospital.
 * - `quantity-skew`: sizes drawn as `lognormal(0, sigma)` weights, or power-law weights `(i+1)^-exponent`
 *   assigned to hospitals in a seeded random order; normalized to the total with largest-remainder
 *   rounding, then topped up to {@link MIN_PER_HOSPITAL} from the largest; records dealt IID.
 * - `pathological(k)`: k = 2 is `iid`. k = 1 gives each hospital a single class: a seeded permutation of
 *   the hospitals alternates classes 0, 1, 0, 1, … so both classes are held when K ≥ 2, and each class's
 *   shuffled records are split evenly (sizes differing by at most one) among its holders. Declared sizes
 *   only fix the total.
 *
 * @param labels - label (0 or 1) of each pooled record, hospitals' natural cohorts concatenated in order.
 * @param sizes - each hospital's declared size; non-negative integers, at least {@link MIN_PER_HOSPITAL}
 *   each, summing to `labels.length`.
 * @param config - the scenario's partition setting.
 * @param rng - the stream all random choices draw from; the same stream state yields the same partition.
 * @throws {PartitionError} when the inputs admit no valid partition (naming `labels`, `sizes` or the
 *   partition's own parameter).
 */
export function partitionIndices(
  labels: Uint8Array,
  sizes: readonly number[],
  config: PartitionConfig,
  rng: Rng,
  classes = 2,
): Uint32Array[] {
  const total = checkInputs(labels, sizes, classes);
  switch (config.kind) {
    case 'natural':
      return natural(sizes);
    case 'iid':
      return deal(permutation(total, rng), sizes);
    case 'dirichlet': {
      if (!(config.alpha >= MIN_DIRICHLET_ALPHA && config.alpha <= MAX_DIRICHLET_ALPHA)) {
        throw new PartitionError(
          'alpha',
          `expected a number from ${MIN_DIRICHLET_ALPHA} to ${MAX_DIRICHLET_ALPHA} (smaller alpha's draws underflow)`,
        );
      }
      return dirichlet(labels, sizes.length, config.alpha, config.minPerHospital, rng, classes);
    }
    case 'quantity-skew': {
      const skewed = skewedSizes(total, sizes.length, config, rng);
      return deal(permutation(total, rng), skewed);
    }
    case 'pathological': {
      if (classes > 2) {
        if (config.classesPerClient >= classes) return deal(permutation(total, rng), sizes);
        return someClasses(labels, sizes.length, config.classesPerClient, classes, rng);
      }
      if (config.classesPerClient === 2) return deal(permutation(total, rng), sizes);
      if (config.classesPerClient === 1) return singleClass(labels, sizes.length, rng);
      throw new PartitionError('classesPerClient', 'expected 1 or 2 (the cohort has two classes)');
    }
  }
}

/** Counts of label 0 and label 1 among the given records. */
export function labelHistogram(labels: Uint8Array, indices: ArrayLike<number>): [number, number] {
  let positives = 0;
  for (let i = 0; i < indices.length; i++) positives += labels[indices[i]!]!;
  return [indices.length - positives, positives];
}

function checkInputs(labels: Uint8Array, sizes: readonly number[], classes: number): number {
  const k = sizes.length;
  if (k < 1) throw new PartitionError('sizes', 'expected at least one hospital');
  let sum = 0;
  for (let h = 0; h < k; h++) {
    const s = sizes[h]!;
    if (!Number.isInteger(s) || s < 0) {
      throw new PartitionError('sizes', `size of hospital ${h}: expected a non-negative integer`);
    }
    sum += s;
  }
  if (sum !== labels.length) {
    throw new PartitionError(
      'sizes',
      `expected sizes summing to the number of records (${labels.length}), got ${sum}`,
    );
  }
  if (labels.length < MIN_PER_HOSPITAL * k) {
    throw new PartitionError(
      'labels',
      `expected at least ${MIN_PER_HOSPITAL} records per hospital (${MIN_PER_HOSPITAL * k}), got ${labels.length}`,
    );
  }
  for (let h = 0; h < k; h++) {
    if (sizes[h]! < MIN_PER_HOSPITAL) {
      throw new PartitionError('sizes', `size of hospital ${h}: expected at least ${MIN_PER_HOSPITAL}`);
    }
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) {
      const expected = classes === 2 ? 'expected 0 or 1' : `expected a class index below ${classes}`;
      throw new PartitionError('labels', `label at record ${i}: ${expected}`);
    }
  }
  return sum;
}

function natural(sizes: readonly number[]): Uint32Array[] {
  let offset = 0;
  return sizes.map((s) => {
    const block = new Uint32Array(s);
    for (let i = 0; i < s; i++) block[i] = offset + i;
    offset += s;
    return block;
  });
}

/** Consecutive slices of `order` with the given sizes, each sorted ascending. */
function deal(order: Uint32Array, sizes: readonly number[]): Uint32Array[] {
  let offset = 0;
  return sizes.map((s) => {
    const part = order.slice(offset, offset + s).sort();
    offset += s;
    return part;
  });
}

/** Most Dirichlet draws tried before a `minPerHospital` that no draw meets is reported as an error. */
export const MAX_DIRICHLET_DRAWS = 10_000;

function dirichlet(
  labels: Uint8Array,
  k: number,
  alpha: number,
  minPerHospital: number,
  rng: Rng,
  classCount: number,
): Uint32Array[] {
  if (!Number.isInteger(minPerHospital) || minPerHospital < MIN_PER_HOSPITAL) {
    throw new PartitionError('minPerHospital', `expected an integer ≥ ${MIN_PER_HOSPITAL}`);
  }
  if (minPerHospital * k > labels.length) {
    throw new PartitionError(
      'minPerHospital',
      `${minPerHospital} records for each of ${k} hospitals needs ${minPerHospital * k}, the pool has ${labels.length}`,
    );
  }
  const classes = byClass(labels, classCount);
  const { counts, orders } =
    minPerHospital > MIN_PER_HOSPITAL
      ? drawWithFloor(classes, k, alpha, minPerHospital, rng)
      : drawEachClass(classes, k, alpha, rng);
  const parts: number[][] = Array.from({ length: k }, () => []);
  classes.forEach((rows, c) => {
    const order = orders[c]!;
    let next = 0;
    for (let h = 0; h < k; h++) {
      const part = parts[h]!;
      for (let j = 0; j < counts[c]![h]!; j++) part.push(rows[order[next++]!]!);
    }
  });
  topUp(parts, rng);
  return parts.map((p) => Uint32Array.from(p).sort());
}

/** Per class, its counts per hospital and the order its records are dealt in. */
interface ClassDraw {
  readonly counts: number[][];
  readonly orders: Uint32Array[];
}

/** Each class's proportions, then its shuffle, class by class: the draw order of partitions without a floor. */
function drawEachClass(classes: readonly number[][], k: number, alpha: number, rng: Rng): ClassDraw {
  const counts: number[][] = [];
  const orders: Uint32Array[] = [];
  for (const rows of classes) {
    counts.push(apportion(rows.length, dirichletProportions(k, alpha, rng)));
    orders.push(permutation(rows.length, rng));
  }
  return { counts, orders };
}

/** Every class's proportions, drawn again until each hospital holds `floor` records, then the shuffles. */
function drawWithFloor(
  classes: readonly number[][],
  k: number,
  alpha: number,
  floor: number,
  rng: Rng,
): ClassDraw {
  let counts = classCounts(classes, k, alpha, rng);
  for (let draw = 1; smallest(counts, k) < floor; draw++) {
    if (draw >= MAX_DIRICHLET_DRAWS) {
      throw new PartitionError(
        'minPerHospital',
        `no Dirichlet(${alpha}) draw in ${MAX_DIRICHLET_DRAWS} gave every hospital ${floor} records; ` +
          'lower minPerHospital or raise alpha',
      );
    }
    counts = classCounts(classes, k, alpha, rng);
  }
  return { counts, orders: classes.map((rows) => permutation(rows.length, rng)) };
}

/** Per class, its records' counts per hospital under one Dirichlet(alpha) draw of proportions. */
function classCounts(classes: readonly number[][], k: number, alpha: number, rng: Rng): number[][] {
  return classes.map((rows) => apportion(rows.length, dirichletProportions(k, alpha, rng)));
}

/** The fewest records any hospital gets from the per-class counts. */
function smallest(counts: readonly number[][], k: number): number {
  const sizes = Array.from({ length: k }, (_, h) => counts.reduce((s, c) => s + c[h]!, 0));
  return Math.min(...sizes);
}

/** Moves randomly chosen records from the currently largest hospital to any with too few. */
function topUp(parts: number[][], rng: Rng): void {
  for (let h = 0; h < parts.length; h++) {
    const needy = parts[h]!;
    while (needy.length < MIN_PER_HOSPITAL) {
      const donor = parts[largest(parts.map((p) => p.length))]!;
      if (donor === needy || donor.length <= MIN_PER_HOSPITAL) {
        throw new PartitionError('sizes', `expected at least ${MIN_PER_HOSPITAL} records for each hospital`);
      }
      const j = rng.int(donor.length);
      needy.push(donor[j]!);
      donor[j] = donor[donor.length - 1]!;
      donor.pop();
    }
  }
}

function byClass(labels: Uint8Array, count = 2): number[][] {
  const classes: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < labels.length; i++) classes[labels[i]!]!.push(i);
  return classes;
}

/**
 * Pathological with K > 2 classes: a seeded permutation of the hospitals; the hospital at position j holds
 * classes (j·k + t) mod K for t < k, and each class's shuffled records are split evenly among its holders
 * (as for two classes with k = 1). Needs k times the hospitals to reach every class.
 */
function someClasses(
  labels: Uint8Array,
  hospitals: number,
  k: number,
  classes: number,
  rng: Rng,
): Uint32Array[] {
  if (hospitals * k < classes) {
    throw new PartitionError(
      'classesPerClient',
      `${k} classes for each of ${hospitals} hospitals cannot hold all ${classes} classes, so some records would be left out`,
    );
  }
  const holders: number[][] = Array.from({ length: classes }, () => []);
  const order = permutation(hospitals, rng);
  for (let j = 0; j < hospitals; j++) {
    const held = new Set<number>();
    for (let t = 0; t < k; t++) held.add((j * k + t) % classes);
    for (const c of held) holders[c]!.push(order[j]!);
  }
  const parts: number[][] = Array.from({ length: hospitals }, () => []);
  byClass(labels, classes).forEach((rows, c) => {
    const hs = holders[c]!;
    const shuffled = permutation(rows.length, rng);
    const base = Math.floor(rows.length / hs.length);
    const extra = rows.length - base * hs.length;
    let next = 0;
    hs.forEach((h, j) => {
      for (let i = 0; i < base + (j < extra ? 1 : 0); i++) parts[h]!.push(rows[shuffled[next++]!]!);
    });
  });
  parts.forEach((p, h) => {
    if (p.length < MIN_PER_HOSPITAL)
      throw new PartitionError(
        'labels',
        `hospital ${h} would hold ${p.length} records; expected at least ${MIN_PER_HOSPITAL}`,
      );
  });
  return parts.map((p) => Uint32Array.from(p).sort());
}

/**
 * A draw from Dirichlet(alpha·1_k), normalized in log space so that tiny alpha (where most Gamma draws
 * underflow) still gives proportions summing to one.
 */
function dirichletProportions(k: number, alpha: number, rng: Rng): Float64Array {
  const logs = new Float64Array(k);
  let max = -Infinity;
  for (let h = 0; h < k; h++) {
    logs[h] = logGamma(alpha, rng);
    if (logs[h]! > max) max = logs[h]!;
  }
  let sum = 0;
  const p = new Float64Array(k);
  for (let h = 0; h < k; h++) {
    p[h] = Math.exp(logs[h]! - max);
    sum += p[h]!;
  }
  for (let h = 0; h < k; h++) p[h] = p[h]! / sum;
  return p;
}

/**
 * The logarithm of a Gamma(shape, 1) draw (Marsaglia & Tsang 2000). For shape < 1 it uses the boost
 * Gamma(shape) = Gamma(shape + 1) · U^(1/shape), added in log space.
 */
function logGamma(shape: number, rng: Rng): number {
  if (shape < 1) {
    let u = 0;
    while (u === 0) u = rng.next();
    return logGamma(shape + 1, rng) + Math.log(u) / shape;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4) return Math.log(d * v);
    if (u > 0 && Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
  }
}

/** Integer shares of `total` proportional to `weights`, by largest remainder (ties to the lower index). */
function apportion(total: number, weights: ArrayLike<number>): number[] {
  const k = weights.length;
  let sum = 0;
  for (let h = 0; h < k; h++) sum += weights[h]!;
  const counts = new Array<number>(k);
  const remainders = new Float64Array(k);
  let assigned = 0;
  for (let h = 0; h < k; h++) {
    const quota = (total * weights[h]!) / sum;
    counts[h] = Math.floor(quota);
    remainders[h] = quota - counts[h]!;
    assigned += counts[h]!;
  }
  const byRemainder = Array.from({ length: k }, (_, h) => h).sort(
    (a, b) => remainders[b]! - remainders[a]! || a - b,
  );
  for (let i = 0; assigned < total; i = (i + 1) % k, assigned++) counts[byRemainder[i]!]!++;
  // Floating-point quotas can overshoot by one; take it back from the largest share.
  while (assigned > total) {
    counts[largest(counts)]!--;
    assigned--;
  }
  return counts;
}

function skewedSizes(
  total: number,
  k: number,
  config: Extract<PartitionConfig, { kind: 'quantity-skew' }>,
  rng: Rng,
): number[] {
  const weights = new Float64Array(k);
  if (config.distribution === 'lognormal') {
    if (!(Number.isFinite(config.sigma) && config.sigma > 0)) {
      throw new PartitionError('sigma', 'expected a finite positive number');
    }
    const z = Float64Array.from({ length: k }, () => rng.normal());
    const zMax = Math.max(...z);
    for (let h = 0; h < k; h++) weights[h] = Math.exp(config.sigma * (z[h]! - zMax));
  } else {
    if (!(Number.isFinite(config.exponent) && config.exponent > 0)) {
      throw new PartitionError('exponent', 'expected a finite positive number');
    }
    const rank = permutation(k, rng);
    for (let h = 0; h < k; h++) weights[h] = (rank[h]! + 1) ** -config.exponent;
  }
  const sizes = apportion(total, weights);
  for (let h = 0; h < k; h++) {
    while (sizes[h]! < MIN_PER_HOSPITAL) {
      sizes[largest(sizes)]!--;
      sizes[h]!++;
    }
  }
  return sizes;
}

function singleClass(labels: Uint8Array, k: number, rng: Rng): Uint32Array[] {
  if (k < 2) {
    throw new PartitionError(
      'classesPerClient',
      'a value of 1 needs at least 2 hospitals, one per class, so that every record is assigned',
    );
  }
  const holders: [number[], number[]] = [[], []];
  const order = permutation(k, rng);
  for (let j = 0; j < k; j++) holders[j % 2]!.push(order[j]!);
  const parts: Uint32Array[] = new Array<Uint32Array>(k);
  const classes = byClass(labels);
  for (let c = 0; c < 2; c++) {
    const rows = classes[c]!;
    const hs = holders[c]!;
    if (rows.length < MIN_PER_HOSPITAL * hs.length) {
      throw new PartitionError(
        'labels',
        `pathological with classesPerClient 1 gives class ${c} to ${hs.length} hospitals, which needs at least ` +
          `${MIN_PER_HOSPITAL * hs.length} records of that class; there are ${rows.length}`,
      );
    }
    const shuffled = permutation(rows.length, rng);
    const base = Math.floor(rows.length / hs.length);
    const extra = rows.length - base * hs.length;
    let next = 0;
    hs.forEach((h, j) => {
      const part = new Uint32Array(base + (j < extra ? 1 : 0));
      for (let i = 0; i < part.length; i++) part[i] = rows[shuffled[next++]!]!;
      parts[h] = part.sort();
    });
  }
  return parts;
}

function largest(xs: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}
