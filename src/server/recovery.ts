import type { Answer, Pending } from './channel.ts';
import { WorkerFailure, type WorkerPool } from './worker-pool.ts';

/** One request of a round's phase: its hospital, and how to send it (again, if need be). */
export interface PhaseRequest {
  readonly hospital: string;
  send(): Promise<Pending>;
}

/** A worker thread that died or hung during a phase, and what was done about it. */
export interface ThreadFailure {
  readonly phase: 'fit' | 'evaluate';
  /** Index of the thread that failed. */
  readonly thread: number;
  /** What happened, as the pool saw it (exit code, or the real-time guard). */
  readonly cause: string;
  /** The hospital whose call the thread was serving: it counts as a dropout of the round. */
  readonly dropped?: string;
  /** Hospitals of that thread whose calls were lost with it: sent again to the replacement. */
  readonly redone: readonly string[];
  /** Thread id of the replacement. */
  readonly replacement: number;
  readonly handled: string;
}

/** The outcome of a phase: each hospital's answer, or why it dropped out; and the threads replaced. */
export interface PhaseOutcome {
  readonly answers: ReadonlyMap<string, Answer>;
  readonly failures: readonly ThreadFailure[];
}

/**
 * Sends a phase's requests and survives worker threads that die or hang: a failed thread is replaced and
 * its hospitals are set up again (setup is deterministic from scenario and seed); the hospital whose call it
 * was serving drops out of the phase, and the others whose calls were lost are sent again, with the same
 * request and their state from the hospital-side store, so their replies are those they would have given in
 * any thread. Throws {@link WorkerFailure} when a replacement cannot start or be set up.
 */
export async function sendSurviving(
  pool: WorkerPool,
  phase: ThreadFailure['phase'],
  requests: readonly PhaseRequest[],
  setUpAgain: (hospitals: readonly string[]) => Promise<void>,
): Promise<PhaseOutcome> {
  const answers = new Map<string, Answer>();
  const failures: ThreadFailure[] = [];
  let todo = requests;
  // Each pass drops at least the call a thread was serving, so passes are bounded by the requests.
  for (let pass = 0; todo.length > 0; pass++) {
    if (pass > requests.length + 1)
      throw new WorkerFailure(`worker threads kept failing in the ${phase} phase`);
    const pending = await Promise.all(todo.map((r) => r.send()));
    const failed = new Map<number, { cause: string; inFlight: string | undefined; lost: string[] }>();
    const again: PhaseRequest[] = [];
    todo.forEach((r, i) => {
      const p = pending[i]!;
      const where = !p.ok && p.error instanceof WorkerFailure ? p.error.where : undefined;
      if (where === undefined) {
        answers.set(r.hospital, p);
        return;
      }
      const f = failed.get(where.thread) ?? {
        cause: (p as { error: WorkerFailure }).error.message,
        inFlight: where.inFlight,
        lost: [],
      };
      failed.set(where.thread, f);
      if (r.hospital === where.inFlight) {
        answers.set(r.hospital, {
          dropout: `hospital ${r.hospital}: ${f.cause}; it dropped out of the round`,
        });
      } else {
        f.lost.push(r.hospital);
        again.push(r);
      }
    });
    for (const [thread, f] of [...failed].sort(([a], [b]) => a - b)) {
      failures.push(
        await replaceThread(
          pool,
          setUpAgain,
          { phase, thread, cause: f.cause, inFlight: f.inFlight, redone: f.lost },
          f.lost.length === 0 ? '' : `; ${f.lost.join(', ')} sent again`,
        ),
      );
    }
    todo = again;
  }
  return { answers, failures };
}

/**
 * Runs a secure round (`attempt`) and survives worker threads that die or hang in it. A secure round cannot
 * resume halfway (its keys, shares and masks are spent), so the failed thread is replaced and its hospitals
 * set up again, the hospital whose call it was serving drops out before advertising its keys, and the round
 * starts again from its first exchange for the others. Their training is redone from the store's state (which
 * only a completed round updates), so the sum is the one the round would have had if that hospital had
 * declined it, whichever hospitals shared its thread. Throws {@link WorkerFailure} when threads keep failing
 * or a replacement cannot start.
 */
export async function secureRoundSurviving<T>(
  pool: WorkerPool,
  failures: ThreadFailure[],
  setUpAgain: (hospitals: readonly string[]) => Promise<void>,
  attempt: (excluded: ReadonlyMap<string, string>, pass: number) => Promise<T>,
): Promise<T> {
  const excluded = new Map<string, string>();
  for (let pass = 0; ; pass++) {
    try {
      return await attempt(excluded, pass);
    } catch (e) {
      if (!(e instanceof WorkerFailure) || e.where === undefined || pass > pool.assignment.size) throw e;
      const { thread, inFlight } = e.where;
      const redone = pool.hospitalsOn(thread).filter((h) => h !== inFlight);
      failures.push(
        await replaceThread(
          pool,
          setUpAgain,
          { phase: 'fit', thread, cause: e.message, inFlight, redone },
          '; the secure round started again without it',
        ),
      );
      if (inFlight !== undefined)
        excluded.set(inFlight, `hospital ${inFlight}: ${e.message}; it dropped out of the round`);
    }
  }
}

/**
 * Replaces a failed thread and sets its hospitals up again; returns the record of it (the hospital whose call
 * it was serving dropped out, `redone` are sent again), its `handled` text ending with `then`.
 */
async function replaceThread(
  pool: WorkerPool,
  setUpAgain: (hospitals: readonly string[]) => Promise<void>,
  f: {
    readonly phase: ThreadFailure['phase'];
    readonly thread: number;
    readonly cause: string;
    readonly inFlight: string | undefined;
    readonly redone: readonly string[];
  },
  then: string,
): Promise<ThreadFailure> {
  const replacement = await pool.replace(f.thread);
  await setUpAgain(pool.hospitalsOn(f.thread));
  return {
    phase: f.phase,
    thread: f.thread,
    cause: f.cause,
    ...(f.inFlight === undefined ? {} : { dropped: f.inFlight }),
    redone: f.redone,
    replacement,
    handled:
      `thread ${f.thread} replaced and its hospitals set up again` +
      (f.inFlight === undefined ? '' : `; ${f.inFlight} dropped out of the round`) +
      then,
  };
}
