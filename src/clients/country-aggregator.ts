import { weightedUpdateSum } from '../common/weighted-update-sum.ts';
import { SecAggMessageError, SecAggRoundFailure, SecAggSequenceError } from '../common/secagg/errors.ts';
import { roundGraph } from '../common/secagg/graph.ts';
import { decode, encodedLength } from '../common/secagg/quantise.ts';
import { UPLOAD_KINDS, unpackTranscript, type Transcript } from '../common/secagg/transcript.ts';
import type { CountrySecureRound } from '../protocol/country-secure-round.ts';
import type { TypedVector } from '../protocol/envelope.ts';
import type { Kind } from '../protocol/kinds.ts';
import { SecAggCoordinator } from '../common/secagg/coordinator.ts';
import { HospitalRefusal } from './error-reports.ts';

/** What a country aggregator is asked to sum: its hospitals' weights and counts, in the order of their updates. */
export interface CountryAggregateInstructions {
  readonly round: number;
  /** Each contributor's weight in the sum (its training examples, or 1 each). */
  readonly weights: readonly number[];
  /** Each contributor's training examples (under secure aggregation: each participant's, by index). */
  readonly numExamples: readonly number[];
  /** Present under secure aggregation: the round's public parameters and the messages the aggregator received. */
  readonly secure?: CountrySecureRound;
}

/** A country aggregator's reply before it is encoded. */
export interface CountryAggregateReply {
  readonly kind: Kind;
  readonly fields: Record<string, unknown>;
  readonly vectors: readonly (readonly [string, TypedVector])[];
}

/**
 * A country aggregator's work in one round (hierarchical topology): the Float64 sum Σ w_k (x_k − g) of its
 * hospitals' updates from the global model g, in the order given (ascending hospital id), with their total
 * training examples. Under secure aggregation it sees no update: it runs the server's side of the protocol
 * over the masked inputs, keys and shares its hospitals sent it, and returns the decoded sum of the survivors'
 * weighted updates. It holds no data of its own and keeps nothing between rounds.
 */
export function countryAggregate(
  global: Float32Array,
  vectors: ReadonlyMap<string, TypedVector>,
  ins: CountryAggregateInstructions,
): CountryAggregateReply {
  if (ins.secure !== undefined) return secureCountryAggregate(global, vectors, ins, ins.secure);
  const updates = vectors.get('updates');
  const k = ins.weights.length;
  if (!(updates instanceof Float32Array) || updates.length !== k * global.length)
    throw new HospitalRefusal('refused', 'updates');
  if (ins.numExamples.length !== k) throw new HospitalRefusal('refused', 'numExamples');
  const sum = weightedUpdateSum(global, updates, ins.weights);
  const numExamples = ins.numExamples.reduce((a, b) => a + b, 0);
  return { kind: 'country-aggregate', fields: { numExamples, contributors: k }, vectors: [['sum', sum]] };
}

/** The secure path: replays the server's side over the transcript and decodes the survivors' update sum. */
function secureCountryAggregate(
  global: Float32Array,
  vectors: ReadonlyMap<string, TypedVector>,
  ins: CountryAggregateInstructions,
  s: CountrySecureRound,
): CountryAggregateReply {
  let transcript: Transcript;
  try {
    transcript = unpackTranscript(s.messages, vectors);
  } catch (e) {
    if (e instanceof RangeError) throw new HospitalRefusal('refused', 'secure transcript');
    throw e;
  }
  const parts = s.quantisation.parts;
  if (parts.length !== 1 || parts[0]!.length !== global.length || ins.numExamples.length !== s.participants)
    throw new HospitalRefusal('refused', 'secure');
  const result = serverSide(s, ins.round, transcript);
  const sum = decode(s.quantisation, result.sum)[0]!;
  const numExamples = Array.from(result.survivors, (u) => ins.numExamples[u - 1]!).reduce((a, b) => a + b, 0);
  return {
    kind: 'country-aggregate',
    fields: { numExamples, contributors: result.survivors.length },
    vectors: [['sum', sum]],
  };
}

/**
 * The server's side of one secure round, run over its transcript: each stage's messages accepted in order
 * (validated as they were when they arrived), the stage closed, and at the end the survivors' sum unmasked.
 */
function serverSide(
  s: Omit<CountrySecureRound, 'messages'>,
  round: number,
  transcript: Transcript,
): ReturnType<SecAggCoordinator['finish']> {
  try {
    const server = new SecAggCoordinator({
      threshold: s.threshold,
      graph: roundGraph(s.participants, s.seed, round, s.neighbours),
      vectorLength: encodedLength(s.quantisation),
      session: s.session,
    });
    const closes = [
      () => server.closeAdvertising(),
      () => server.closeSharing(),
      () => server.closeMasking(),
    ] as const;
    for (const [i, kind] of UPLOAD_KINDS.entries()) {
      for (const { from, message } of transcript) if (message.kind === kind) server.accept(from, message);
      if (i < closes.length) closes[i]!();
    }
    return server.finish();
  } catch (e) {
    if (
      e instanceof SecAggMessageError ||
      e instanceof SecAggRoundFailure ||
      e instanceof SecAggSequenceError
    )
      throw new HospitalRefusal('refused', 'secure transcript');
    if (e instanceof RangeError) throw new HospitalRefusal('refused', 'secure');
    throw e;
  }
}
