import { PrivacySettingError } from '../privacy-setting-error.ts';

/**
 * The fewest inputs a secure sum may hold, at every stage: with two, the coordinator and either of them together
 * know the other's update exactly, whatever the threshold (which only bounds how many shares rebuild a secret).
 */
export const SECURE_MINIMUM = 3;

/** The public parameters of one secure-aggregation round. */
export interface SecAggSettings {
  /** Hospitals taking part in the round, numbered 1…participants. */
  readonly participants: number;
  /** Shares needed to rebuild a secret: t of each hospital's group (itself and its neighbours). */
  readonly threshold: number;
  /** SecAgg+'s neighbours per hospital, k; absent: every hospital neighbours every other (SecAgg). */
  readonly neighbours?: number;
}

/**
 * The smallest k SecAgg+ accepts for n hospitals: 2⌈log₂(n)/2⌉ (even, at least 2). Bell et al. (2020) need
 * k to grow like log n for the random neighbour graph to keep each update hidden among honest neighbours
 * when some hospitals drop out or collude; below log₂ n a hospital's mask rests on too few others.
 */
export function minimumNeighbours(participants: number): number {
  return Math.max(2, 2 * Math.ceil(Math.log2(participants) / 2));
}

/** Size of each hospital's group (itself and its neighbours): the n of its t-out-of-n sharing. */
export function groupSize(s: SecAggSettings): number {
  return s.neighbours === undefined ? s.participants : s.neighbours + 1;
}

/**
 * Refuses settings under which the protocol is unsafe or cannot work, naming the field under `path` and
 * its valid range: at least 3 hospitals (with 2, the sum minus one's own update is the other's); k an even
 * integer in [{@link minimumNeighbours}, n − 1]; t an integer with m/2 < t ≤ m for group size m (n, or
 * k + 1). t > m/2 is what stops a coordinator from collecting t shares of both secrets of one hospital by
 * telling two halves of its group different stories; t ≤ m lets the round finish; it survives m − t dropouts.
 */
export function validateSecAggSettings(s: SecAggSettings, path = 'privacy.secureAggregation'): void {
  if (!Number.isInteger(s.participants) || s.participants < SECURE_MINIMUM) {
    throw new PrivacySettingError(
      'hospitals in a secure-aggregation round',
      `an integer ≥ ${SECURE_MINIMUM}`,
      s.participants,
    );
  }
  if (s.neighbours !== undefined) {
    const min = minimumNeighbours(s.participants);
    const max = s.participants - 1;
    if (
      !Number.isInteger(s.neighbours) ||
      s.neighbours % 2 !== 0 ||
      s.neighbours < min ||
      s.neighbours > max
    ) {
      throw new PrivacySettingError(
        `${path}.neighbours`,
        `an even integer in [${min}, ${max}] for ${s.participants} hospitals`,
        s.neighbours,
      );
    }
  }
  const m = groupSize(s);
  const low = Math.floor(m / 2) + 1;
  if (!Number.isInteger(s.threshold) || s.threshold < low || s.threshold > m) {
    throw new PrivacySettingError(
      `${path}.threshold`,
      `an integer in [${low}, ${m}] (more than half of each hospital's group of ${m}, at most all of it)`,
      s.threshold,
    );
  }
}
