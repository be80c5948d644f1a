import { expect } from 'vitest';
import type { TrainingConfig } from '../../../src/scenario/schema.ts';
import type { FitResult } from '../../../src/server/strategies/strategy.ts';

/** Plain local SGD, as the server-side formulas assume. */
export const training: TrainingConfig = { localEpochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' };

/** Options every strategy takes. */
export const base = { fractionFit: 1, fractionEvaluate: 1, minClients: 1, training } as const;

/** A fit result from hospital `hospital` with the given parameters, example count and metrics. */
export function fit(
  hospital: string,
  parameters: readonly number[],
  numExamples = 1,
  metrics: Record<string, number> = {},
): FitResult {
  return {
    hospital,
    reply: {
      vectors: { parameters: new Float32Array(parameters) },
      numExamples,
      metrics: { train_loss: 1, ...metrics },
    },
  };
}

/** Fit results from hospitals h1, h2, … in that order, one per vector, all with the same example count. */
export function fits(vectors: readonly (readonly number[])[], numExamples = 1): FitResult[] {
  return vectors.map((v, k) => fit(`h${k + 1}`, v, numExamples));
}

/** Expects every element of `actual` within ½·10^−digits of `expected` (default: 5e-7). */
export function expectNear(actual: Float32Array, expected: readonly number[], digits = 6): void {
  expect(Array.from(actual)).toEqual(expected.map((e) => expect.closeTo(e, digits)));
}

/** The model `global + step`, element by element, as a plain array. */
export function plus(global: Float32Array, step: readonly number[]): number[] {
  return step.map((s, i) => global[i]! + s);
}
