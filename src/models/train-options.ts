import type { Examples, TrainOptions } from './types.ts';

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
