import { permutation, type Rng } from '../common/rng.ts';
import type { HospitalRef } from './strategies/strategy.ts';
import { clientsPerRound } from './strategies/validate.ts';

/**
 * Samples `max(minimum, ceil(fraction × n))` hospitals (at most n) without replacement, returned in
 * ascending id order. The draw depends only on the rng, the fraction and the hospitals' ids.
 */
export function sampleHospitals(
  hospitals: readonly HospitalRef[],
  fraction: number,
  minimum: number,
  rng: Rng,
): HospitalRef[] {
  const sorted = [...hospitals].sort((a, b) => compareIds(a.id, b.id));
  const k = clientsPerRound(sorted.length, fraction, minimum);
  if (k === sorted.length) return sorted;
  const order = permutation(sorted.length, rng);
  return Array.from(order.subarray(0, k))
    .sort((a, b) => a - b)
    .map((i) => sorted[i]!);
}

/** The fixed order of hospitals everywhere in the coordinator: by id, code unit by code unit. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
