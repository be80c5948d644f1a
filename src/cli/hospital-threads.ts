import type { Scenario } from '../scenario/schema.ts';
import { startHospitalPool, type WorkerPool } from '../server/worker-pool.ts';

/**
 * Starts a run's hospital threads, balanced by each hospital's declared number of patients (largest first onto
 * the least loaded thread), for the run to borrow: they load their code while the coordinator sets up.
 */
export function startHospitalThreads(
  scenario: Scenario,
  threads: number,
  timeoutMs: number,
): Promise<WorkerPool> {
  const starting = startHospitalPool(scenario.hospitals, threads, { timeoutMs });
  starting.catch(() => undefined);
  return starting;
}

/** Closes threads started by {@link startHospitalThreads}, if they started. */
export async function closeHospitalThreads(starting: Promise<WorkerPool>): Promise<void> {
  await (await starting.catch(() => undefined))?.close();
}
