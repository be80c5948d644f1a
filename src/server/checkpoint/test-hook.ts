/** Moments of a run at which a test may have the process kill itself (see {@link killPoint}). */
export type KillPoint = 'fit' | 'aggregate' | 'round-written' | 'checkpoint-written';

const VARIABLE = 'FEDMED_TEST_KILL_AT';

/**
 * A test-only hook: with `FEDMED_TEST_KILL_AT=<point>:<round>[:<ms>]` in the environment, the process sends
 * itself SIGKILL when it reaches `point` in `round` (after `ms` milliseconds, while the run goes on, if given).
 * Without the variable it does nothing. The kill tests use it to stop a run at exact moments.
 */
export function killPoint(point: KillPoint, round: number): void {
  const spec = process.env[VARIABLE];
  if (spec === undefined || spec === '') return;
  const [p, r, ms] = spec.split(':');
  if (p !== point || Number(r) !== round) return;
  const kill = () => process.kill(process.pid, 'SIGKILL');
  if (ms === undefined) kill();
  else setTimeout(kill, Number(ms));
}
