import type { FitResult } from './strategy.ts';

/** A fit reply that lacks a metric a strategy needs, or carries one out of range; names hospital and metric, never a value. */
export class FitMetricError extends Error {
  override readonly name = 'FitMetricError';
  constructor(
    readonly strategy: string,
    readonly hospital: string,
    readonly metric: string,
    readonly expected: string,
  ) {
    super(`${strategy}: hospital ${hospital}'s fit reply needs metric ${metric}, ${expected}`);
  }
}

/** The named metric of a fit reply, checked by `valid`, whose wording `expected` goes into the error. */
export function fitMetric(
  strategy: string,
  result: FitResult,
  metric: string,
  expected: string,
  valid: (value: number) => boolean,
): number {
  const value = result.reply.metrics[metric];
  if (value === undefined || !Number.isFinite(value) || !valid(value)) {
    throw new FitMetricError(strategy, result.hospital, metric, expected);
  }
  return value;
}
