import { availableParallelism } from 'node:os';

/**
 * Worker threads a run starts unless told otherwise: the machine's available parallelism, capped by the number
 * of hospitals (more threads than cores only add start-up time and memory; the result never depends on it).
 */
export function defaultThreads(hospitals: number): number {
  return Math.max(1, Math.min(availableParallelism(), hospitals));
}
