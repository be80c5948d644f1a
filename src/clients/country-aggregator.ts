import { weightedUpdateSum } from '../common/weighted-update-sum.ts';
import type { TypedVector } from '../protocol/envelope.ts';
import type { Kind } from '../protocol/kinds.ts';
import { HospitalRefusal } from './error-reports.ts';

/** What a country aggregator is asked to sum: its hospitals' weights and counts, in the order of their updates. */
export interface CountryAggregateInstructions {
  readonly round: number;
  /** Each contributor's weight in the sum (its training examples, or 1 each). */
  readonly weights: readonly number[];
  /** Each contributor's training examples. */
  readonly numExamples: readonly number[];
}

/**
 * A country aggregator's work in one round (hierarchical topology): the Float64 sum Σ w_k (x_k − g) of its
 * hospitals' updates from the global model g, in the order given (ascending hospital id), with their total
 * training examples. It holds no data of its own and keeps nothing between rounds.
 */
export function countryAggregate(
  global: Float32Array,
  updates: TypedVector | undefined,
  ins: CountryAggregateInstructions,
): {
  readonly kind: Kind;
  readonly fields: Record<string, unknown>;
  readonly vectors: readonly (readonly [string, TypedVector])[];
} {
  const k = ins.weights.length;
  if (!(updates instanceof Float32Array) || updates.length !== k * global.length)
    throw new HospitalRefusal('refused', 'updates');
  if (ins.numExamples.length !== k) throw new HospitalRefusal('refused', 'numExamples');
  const sum = weightedUpdateSum(global, updates, ins.weights);
  const numExamples = ins.numExamples.reduce((a, b) => a + b, 0);
  return { kind: 'country-aggregate', fields: { numExamples, contributors: k }, vectors: [['sum', sum]] };
}
