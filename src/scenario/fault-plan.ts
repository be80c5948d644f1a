import { stream } from '../common/rng.ts';
import type { FaultConfig } from './schema.ts';

/**
 * The fault, if any, that `hospital` injects in `round`: the first of the scenario's faults that names it (or
 * every hospital), covers the round and fires by its rate. A draw depends only on the fault's seed, behaviour,
 * hospital and round, so the worker that misbehaves and the coordinator that records it agree, in any thread.
 */
export function faultAt(
  faults: readonly FaultConfig[],
  seed: number,
  hospital: string,
  round: number,
): FaultConfig | undefined {
  return faults.find(
    (f) =>
      (f.hospital === undefined || f.hospital === hospital) &&
      (f.rounds === undefined || f.rounds.includes(round)) &&
      (f.rate === undefined ||
        f.rate >= 1 ||
        stream(f.seed ?? seed, 'fault', f.behaviour, hospital, `round-${round}`).next() < f.rate),
  );
}
