/** Moments of a run at which a test may have the process kill itself (see {@link killPoint}). */
export type KillPoint = 'fit' | 'aggregate' | 'round-written' | 'checkpoint-written';

const VARIABLE = 'FEDMED_TEST_KILL_AT';
/** Test-only: milliseconds each round stalls before its training, so a test's signal lands mid-run. */
const STALL = 'FEDMED_TEST_STALL_MS';
let delayedKill = false;

/**
 * A test-only hook: with `FEDMED_TEST_KILL_AT=<point>:<round>[:<ms>]` in the environment, the process sends
 * itself SIGKILL when it reaches `point` in `round` (after `ms` milliseconds, while the run goes on, if given).
 * With `FEDMED_TEST_STALL_MS=<ms>`, every round first stalls that long. Without the variables it does nothing.
 * The kill and signal tests use them to stop a run at exact moments.
 */
export function killPoint(point: KillPoint, round: number): void {
  // A delayed kill not yet fired lands at the latest at the next moment, so it never misses a fast round.
  if (delayedKill) process.kill(process.pid, 'SIGKILL');
  const stall = Number(process.env[STALL] ?? '');
  if (point === 'fit' && stall > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, stall);
  const spec = process.env[VARIABLE];
  if (spec === undefined || spec === '') return;
  const [p, r, ms] = spec.split(':');
  if (p !== point || Number(r) !== round) return;
  const kill = () => process.kill(process.pid, 'SIGKILL');
  if (ms === undefined) kill();
  else {
    delayedKill = true;
    setTimeout(kill, Number(ms));
  }
}
