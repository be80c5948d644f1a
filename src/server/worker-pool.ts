import { Worker } from 'node:worker_threads';
import type { Remote } from 'comlink';
import { Comlink, nodeEndpoint } from '../common/comlink.ts';
import type { HospitalHostApi, HostInfo, HostSetup } from '../protocol/host-api.ts';

const BOOT = new URL('../clients/worker-boot.mjs', import.meta.url);
const ENTRY = new URL('../clients/worker.ts', import.meta.url).href;

/**
 * Real-time guard on starting a thread and setting up its hospitals (loading a backend, building or reading
 * their data): at least 5 minutes, or the per-call guard if that is longer, so a short `--timeout` meant for
 * training calls does not trip on start-up.
 */
export const STARTUP_GUARD_MS = 300_000;

/** How long `close()` and the guard wait for a terminated thread to end before leaving it behind. */
const TERMINATE_GRACE_MS = 5_000;

/** A worker thread died or stopped answering: the run cannot go on reproducibly. */
export class WorkerFailure extends Error {
  override readonly name = 'WorkerFailure';
}

/** A thread could not set up its hospitals (a backend that will not load, data that cannot be built). */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

/** Which worker thread each hospital lives in: the i-th hospital in scenario order goes to thread i mod n. */
export function assignHospitals(hospitals: readonly string[], threads: number): Map<string, number> {
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`threads must be an integer ≥ 1, got ${threads}`);
  return new Map(hospitals.map((h, i) => [h, i % threads]));
}

interface Slot {
  readonly worker: Worker;
  readonly remote: Remote<HospitalHostApi>;
  /** Rejects when the thread errors or exits before the pool closes it. */
  readonly death: Promise<never>;
  info?: HostInfo;
}

/** Worker threads hosting the hospitals, each hospital pinned to one thread for the whole run. */
export class WorkerPool {
  readonly #slots: Slot[];
  readonly #assignment: Map<string, number>;
  readonly #timeoutMs: number;
  /** Timers of the guards still waiting; `close()` clears them so none keeps the process alive. */
  readonly #timers = new Set<NodeJS.Timeout>();
  #closing = false;

  private constructor(slots: Slot[], assignment: Map<string, number>, timeoutMs: number) {
    this.#slots = slots;
    this.#assignment = assignment;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Starts `min(threads, hospitals)` threads and sets each up with its hospitals. `setupFor(i, ids)` gives
   * thread i's setup message; `timeoutMs` is the real-time guard on every call after set-up, which has its
   * own ({@link STARTUP_GUARD_MS}). A call that exceeds its guard terminates its thread.
   */
  static async start(
    hospitals: readonly string[],
    threads: number,
    setupFor: (hospitals: readonly string[]) => HostSetup,
    timeoutMs: number,
  ): Promise<WorkerPool> {
    const n = Math.min(threads, hospitals.length);
    const assignment = assignHospitals(hospitals, n);
    const slots: Slot[] = [];
    const pool = new WorkerPool(slots, assignment, timeoutMs);
    for (let i = 0; i < n; i++) {
      const worker = new Worker(BOOT, { workerData: { entry: ENTRY } });
      const death = new Promise<never>((_, reject) => {
        worker.once('error', (e: Error) =>
          reject(new WorkerFailure(`worker thread ${i} failed: ${e.message}`)),
        );
        worker.once('exit', (code) => {
          if (!pool.#closing) reject(new WorkerFailure(`worker thread ${i} exited with code ${code}`));
        });
      });
      death.catch(() => undefined);
      slots.push({ worker, remote: Comlink.wrap<HospitalHostApi>(nodeEndpoint(worker)), death });
    }
    await pool.reconfigure(setupFor);
    return pool;
  }

  /**
   * Sets every thread up again (for another seed, strategy or scenario over the same hospitals), so a
   * series of runs pays the threads' start-up once. Every thread settles before any is terminated: a thread
   * stopped in the middle of loading modules can keep the process from exiting.
   */
  async reconfigure(setupFor: (hospitals: readonly string[]) => HostSetup): Promise<void> {
    const setups = await Promise.allSettled(
      this.#slots.map(async (slot, i) => {
        const mine = [...this.#assignment].filter(([, t]) => t === i).map(([h]) => h);
        slot.info = await this.#guard(
          slot,
          slot.remote.setup(setupFor(mine)),
          `setting up thread ${i}`,
          Math.max(STARTUP_GUARD_MS, this.#timeoutMs),
        );
      }),
    );
    const failed = setups.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await this.close();
      const e: unknown = failed.reason;
      if (e instanceof WorkerFailure) throw e;
      throw new SetupError(
        e instanceof Error ? e.message.split('\n', 1)[0]! : 'a worker thread failed to set up',
      );
    }
  }

  /** Thread index of each hospital. */
  get assignment(): ReadonlyMap<string, number> {
    return this.#assignment;
  }

  /** What each started thread reported: its thread id and backend. */
  get threads(): readonly HostInfo[] {
    return this.#slots.map((s) => s.info!);
  }

  /** Calls `hospital`'s host; rejects with {@link WorkerFailure} if its thread dies or exceeds the guard. */
  call<T>(hospital: string, what: string, fn: (host: Remote<HospitalHostApi>) => Promise<T>): Promise<T> {
    const index = this.#assignment.get(hospital);
    if (index === undefined) throw new Error(`no worker thread hosts hospital ${hospital}`);
    const slot = this.#slots[index]!;
    return this.#guard(slot, fn(slot.remote), `${what} at hospital ${hospital}`, this.#timeoutMs);
  }

  /**
   * Terminates every thread. A thread blocked inside the operating system cannot be ended from JavaScript;
   * after {@link TERMINATE_GRACE_MS} it is left behind rather than waited for.
   */
  async close(): Promise<void> {
    this.#closing = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(
      this.#slots.map(async (s) => {
        s.remote[Comlink.releaseProxy]();
        await terminate(s.worker);
      }),
    );
  }

  /** `work`, unless its thread dies first or `ms` of real time pass: then the thread is terminated. */
  #guard<T>(slot: Slot, work: Promise<T>, what: string, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#timers.delete(timer!);
        void terminate(slot.worker);
        reject(new WorkerFailure(`no answer for ${what} within ${ms / 1000} s of real time`));
      }, ms);
      this.#timers.add(timer);
    });
    return Promise.race([work, slot.death, hang]).finally(() => {
      clearTimeout(timer);
      this.#timers.delete(timer!);
    });
  }
}

/** Terminates a thread, waiting at most {@link TERMINATE_GRACE_MS} for it to end. */
async function terminate(worker: Worker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, TERMINATE_GRACE_MS);
  });
  await Promise.race([worker.terminate().then(() => undefined), grace]);
  clearTimeout(timer);
}
