/**
 * Typed failures of secure aggregation. Each names hospitals by their index in the round (1…n), stages and
 * fields, never a key, share, mask or value.
 */

/** The protocol's stages, in order; a stage is named by the message the hospitals send in it. */
export type SecAggStage = 'advertise-keys' | 'encrypted-shares' | 'masked-input' | 'unmask-shares';

/** A message that is not of its kind's declared shape (type, length, range, order), or not expected now. */
export class SecAggMessageError extends Error {
  override readonly name = 'SecAggMessageError';
  constructor(
    readonly kind: string,
    readonly field: string,
    readonly expected: string,
    readonly hospital?: number,
  ) {
    super(
      `${kind}${hospital === undefined ? '' : ` from hospital ${hospital}`}: ${field} must be ${expected}`,
    );
  }
}

/** Why an honest hospital stops taking part rather than do what it was asked. */
export type RefusalReason =
  | 'reveal-both'
  | 'weak-threshold'
  | 'already-unmasked'
  | 'listed-as-dropout'
  | 'too-few-survivors'
  | 'too-few-peers'
  | 'not-a-neighbour'
  | 'duplicate-keys'
  | 'bad-public-key'
  | 'bad-ciphertext'
  | 'out-of-order';

/** A hospital's refusal: the coordinator asked for something that would expose an update, or cheated. */
export class SecAggRefusal extends Error {
  override readonly name = 'SecAggRefusal';
  constructor(
    readonly hospital: number,
    readonly reason: RefusalReason,
    detail: string,
    readonly peer?: number,
  ) {
    super(`hospital ${hospital} refuses (${reason}): ${detail}`);
  }
}

/**
 * Why a round failed: too few hospitals left at a stage (below t), a sum of fewer than SECURE_MINIMUM inputs, too few
 * shares of one secret, or shares that do not fit.
 */
export type RoundFailureReason =
  'too-few-hospitals' | 'too-small-sum' | 'too-few-shares' | 'inconsistent-shares';

/** A round that cannot produce the sum; `hospital` names the one whose secret could not be rebuilt. */
export class SecAggRoundFailure extends Error {
  override readonly name = 'SecAggRoundFailure';
  constructor(
    readonly stage: SecAggStage,
    readonly reason: RoundFailureReason,
    readonly needed: number,
    readonly got: number,
    detail: string,
    readonly hospital?: number,
  ) {
    super(`secure aggregation failed at ${stage}: ${detail}`);
  }
}

/** A state machine driven out of order: a programming error in the caller, not a hospital's fault. */
export class SecAggSequenceError extends Error {
  override readonly name = 'SecAggSequenceError';
}
