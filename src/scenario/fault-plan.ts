import { permutation, stream } from '../common/rng.ts';
import type { FaultConfig, Scenario } from './schema.ts';

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

/**
 * The scenario's faults with every `count` resolved: a fault that names no hospital but a count applies to that
 * many hospitals, drawn once for the run (a seeded permutation of the hospitals in scenario order, by the stream
 * `seed/fault-hospitals/<behaviour>/<index>`); each becomes one fault per drawn hospital, in place.
 */
export function scenarioFaults(
  scenario: Pick<Scenario, 'faults' | 'hospitals' | 'seed'>,
): readonly FaultConfig[] {
  let found = resolved.get(scenario);
  if (found === undefined) {
    found = resolveFaults(scenario);
    resolved.set(scenario, found);
  }
  return found;
}

/** Each scenario's resolved faults, drawn once: setup asks per hospital and the fault record every round. */
const resolved = new WeakMap<object, readonly FaultConfig[]>();

function resolveFaults(scenario: Pick<Scenario, 'faults' | 'hospitals' | 'seed'>): FaultConfig[] {
  const ids = scenario.hospitals.map((h) => h.id);
  return scenario.faults.flatMap((f, index) => {
    if (f.count === undefined) return [f];
    const { count, ...rest } = f;
    const order = permutation(
      ids.length,
      stream(f.seed ?? scenario.seed, 'fault-hospitals', f.behaviour, index),
    );
    const chosen = new Set(Array.from(order.subarray(0, count), (i) => ids[i]!));
    return ids.filter((id) => chosen.has(id)).map((hospital) => ({ ...rest, hospital }));
  });
}
