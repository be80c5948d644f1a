import { permutation, type Rng } from '../common/rng.ts';
import type { Examples, TrainOptions, TrainResult } from './types.ts';

/** The client-side terms of one training call that actually apply: FedProx with μ > 0, SCAFFOLD's correction. */
export interface ActiveTerms {
  readonly proximal?: { readonly mu: number; readonly reference: Float32Array };
  readonly correction?: Float32Array;
}

/**
 * Checks FedProx's and SCAFFOLD's options against a model of `length` parameters (μ finite and ≥ 0, vectors of
 * that length and finite, SCAFFOLD only with plain SGD) and returns the terms that apply; null when none does.
 */
export function activeTerms(options: TrainOptions, length: number): ActiveTerms | null {
  const { proximal, gradientCorrection } = options;
  if (proximal !== undefined) {
    if (!Number.isFinite(proximal.mu) || proximal.mu < 0) {
      throw new Error(`proximal.mu must be a finite number ≥ 0, got ${proximal.mu}`);
    }
    checkVector('proximal.reference', proximal.reference, length);
  }
  if (gradientCorrection !== undefined) {
    if (options.optimizer !== 'sgd') {
      throw new Error(
        `gradientCorrection (SCAFFOLD) needs optimizer 'sgd', got '${options.optimizer}': ` +
          'its control variates assume plain SGD steps',
      );
    }
    checkVector('gradientCorrection', gradientCorrection, length);
  }
  const prox = proximal !== undefined && proximal.mu > 0 ? proximal : undefined;
  if (prox === undefined && gradientCorrection === undefined) return null;
  return {
    ...(prox === undefined ? {} : { proximal: prox }),
    ...(gradientCorrection === undefined ? {} : { correction: gradientCorrection }),
  };
}

/** Throws unless `v` holds the model's `length` parameters, all finite. */
function checkVector(name: string, v: Float32Array, length: number): void {
  if (v.length !== length)
    throw new Error(`${name} must have the model's ${length} parameters, got ${v.length}`);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new Error(`${name}[${i}] is not finite (${v[i]})`);
  }
}

/** Throws unless `data` has the model's input shape and consistent lengths of inputs and labels. */
export function checkExamples(data: Examples, inputShape: readonly number[]): void {
  const size = data.inputShape.reduce((a, b) => a * b, 1);
  if (data.inputShape.join() !== inputShape.join()) {
    throw new Error(
      `examples have input shape [${data.inputShape.join(', ')}], the model expects [${inputShape.join(', ')}]`,
    );
  }
  if (data.x.length !== data.n * size || data.y.length !== data.n) {
    throw new Error(
      `examples: n = ${data.n} needs x of length ${data.n * size} and y of length ${data.n}, ` +
        `got ${data.x.length} and ${data.y.length}`,
    );
  }
}

/** The minibatch size of a training call on `n` examples: `batchSize`, at most `n`; throws on nonsense. */
export function batchSizeFor(n: number, options: TrainOptions): number {
  if (n === 0) throw new Error('cannot train on 0 examples');
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${options.batchSize}`);
  }
  return Math.min(options.batchSize, n);
}

/**
 * The schedule every trainer follows, so that the same rng gives the same minibatches on every backend: per
 * epoch one permutation of the n examples from `rng`, cut into minibatches of `batch` (the last may be
 * smaller), each handed to `step`, which takes one optimizer step and returns the minibatch's data loss.
 * Returns the mean loss of the last epoch's minibatches and the number of steps.
 */
export function runEpochs(
  n: number,
  batch: number,
  epochs: number,
  rng: Rng,
  step: (order: Uint32Array, start: number, size: number) => number,
  maxSteps = Number.POSITIVE_INFINITY,
): TrainResult {
  let steps = 0;
  let lastEpochLoss = 0;
  for (let epoch = 0; epoch < epochs && steps < maxSteps; epoch++) {
    const order = permutation(n, rng);
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < n && steps < maxSteps; start += batch) {
      lossSum += step(order, start, Math.min(batch, n - start));
      batches++;
      steps++;
    }
    lastEpochLoss = lossSum / batches;
  }
  return { loss: lastEpochLoss, steps };
}
