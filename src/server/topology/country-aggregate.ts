import { describeError } from '../../protocol/error-report.ts';
import type { MessageSizes } from '../../protocol/kinds.ts';
import { admit, exactly } from '../boundary.ts';
import { RoundFailure } from '../coordinator.ts';
import { WorkerFailure } from '../worker-pool.ts';
import { aggregatorId } from './hops.ts';
import type { Relay } from './relay.ts';

/** What a country aggregate must be: its sum, exactly, and the counts of the hospitals in it. */
export interface ExpectedAggregate {
  readonly sum: Float64Array;
  readonly numExamples: number;
  /** The hospitals in the sum, ascending. */
  readonly contributors: readonly string[];
  /** What the sum should have been, for the error: "the weighted sum of the updates it was sent". */
  readonly what: string;
}

/**
 * Admits country `c`'s aggregator's reply at the boundary (a `country-aggregate` whose counts must be exactly
 * its contributors' and their examples) and checks its sum is exactly the expected one, then records it
 * crossing to the coordinator; returns the sum. A failed call, a rejected reply or another sum stops the round
 * ({@link RoundFailure} naming the aggregator; a dead or hung thread is a {@link WorkerFailure}).
 */
export function countryAggregate(
  answer: PromiseSettledResult<unknown>,
  relay: Relay,
  round: number,
  c: string,
  expected: ExpectedAggregate,
  sizes: MessageSizes,
): Float64Array {
  const id = aggregatorId(c);
  if (answer.status === 'rejected') {
    if (answer.reason instanceof WorkerFailure) throw answer.reason;
    throw new RoundFailure(`country aggregator ${id}: its call failed outside the protocol`);
  }
  const verdict = admit(answer.value, {
    hospital: id,
    kind: 'country-aggregate',
    sizes,
    vectors: ['sum'],
    counts: {
      numExamples: exactly(expected.numExamples),
      contributors: exactly(expected.contributors.length),
    },
  });
  if (verdict.status !== 'admitted') {
    const reason = verdict.status === 'error' ? describeError(id, verdict.report) : verdict.violation.message;
    relay.rejected(round, id, verdict.bytes, reason);
    throw new RoundFailure(`country aggregator ${id}: ${reason}`);
  }
  const sum = verdict.reply.vectors.get('sum');
  if (!(sum instanceof Float64Array)) throw new RoundFailure(`country aggregator ${id}: no sum`);
  for (let i = 0; i < sum.length; i++) {
    if (!Object.is(sum[i], expected.sum[i]))
      throw new RoundFailure(`country aggregator ${id}: its sum is not ${expected.what} (index ${i})`);
  }
  relay.aggregate(round, id, verdict, expected.contributors);
  return sum;
}
