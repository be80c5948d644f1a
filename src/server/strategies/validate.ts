import { describeRange, inRange, type ParameterSpec } from '../../scenario/strategy-schema.ts';

/** Throws a RangeError naming the strategy, the parameter and its valid range unless `value` lies in it. */
export function checkParameter(strategy: string, name: string, value: number, spec: ParameterSpec): number {
  if (!inRange(value, spec)) {
    throw new RangeError(`${strategy}: ${name} must be ${describeRange(spec)}, got ${value}`);
  }
  return value;
}

/**
 * Hospitals sampled per round: `max(minimum, ceil(fraction × hospitals))`, at most all of them — the count
 * {@link sampleHospitals} draws, which the robust aggregators' cross-field checks need.
 */
export function clientsPerRound(hospitals: number, fraction: number, minimum: number): number {
  return Math.min(hospitals, Math.max(minimum, Math.ceil(fraction * hospitals - 1e-9)));
}

/** Throws unless a round has at least `needed` admitted replies; `why` names the parameter that needs them. */
export function requireReplies(
  strategy: string,
  round: number,
  replies: number,
  needed: number,
  why: string,
): void {
  if (replies < needed) {
    throw new RangeError(
      `${strategy}: round ${round} has ${replies} valid replies, ${why} needs at least ${needed}`,
    );
  }
}

/** Throws unless local training is plain SGD, which the strategy's update formula assumes. */
export function requireSgd(strategy: string, optimizer: string): void {
  if (optimizer !== 'sgd') {
    throw new RangeError(
      `${strategy}: training.optimizer must be 'sgd' (the update formula assumes plain SGD), got '${optimizer}'`,
    );
  }
}
