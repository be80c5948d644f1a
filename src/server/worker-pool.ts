import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Remote } from 'comlink';
import { Comlink, nodeEndpoint } from '../common/comlink.ts';
import type { WorkerEndpoint } from '../protocol/host-api.ts';

const BOOT = new URL('../clients/worker-boot.mjs', import.meta.url);
const ENTRY = new URL('../clients/worker.ts', import.meta.url).href;
/** The worker compiled to JavaScript, defined when this module runs in the compiled CLI (bin/compiled.mjs). */
declare const FEDMED_WORKER_BUNDLE: string | undefined;
const COMPILED_WORKER = typeof FEDMED_WORKER_BUNDLE === 'string' ? new URL(FEDMED_WORKER_BUNDLE) : undefined;

/**
 * Heap limits of every worker thread. Typed arrays (records, models) live outside the heap, so fedmed's own
 * work stays far below them; they bound what a misbehaving worker can build and then post to the coordinator.
 */
export const WORKER_RESOURCE_LIMITS: ResourceLimits = {
  maxOldGenerationSizeMb: 1024,
  maxYoungGenerationSizeMb: 64,
};

/** Real-time guard on a thread's start (loading TypeScript and TensorFlow.js), apart from the per-call guard. */
export const STARTUP_TIMEOUT_MS = 180_000;

/** How long `close()` and the guard wait for a terminated thread to end before leaving it behind. */
const TERMINATE_GRACE_MS = 5_000;

/** A worker thread died or stopped answering. */
export class WorkerFailure extends Error {
  override readonly name = 'WorkerFailure';
  constructor(
    message: string,
    /** The failed thread and the hospital whose call it was serving then, when the failure came from a call. */
    readonly where?: { readonly thread: number; readonly inFlight: string | undefined },
  ) {
    super(message);
  }
}

/**
 * Which worker thread each hospital lives in. Without sizes the i-th hospital in scenario order goes to thread
 * i mod n; with each hospital's declared size (patients) the largest goes first onto the thread with the least
 * so far (ties: scenario order, then the lower thread), so threads of one round finish near the same time.
 * The result of a run never depends on it.
 */
export function assignHospitals(
  hospitals: readonly string[],
  threads: number,
  sizes?: ReadonlyMap<string, number>,
): Map<string, number> {
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError(`threads must be an integer ≥ 1, got ${threads}`);
  if (sizes === undefined) return new Map(hospitals.map((h, i) => [h, i % threads]));
  const load = new Array<number>(threads).fill(0);
  const thread = new Map<string, number>();
  const largestFirst = hospitals
    .map((h, i) => ({ h, i, size: sizes.get(h) ?? 0 }))
    .sort((a, b) => b.size - a.size || a.i - b.i);
  for (const { h, size } of largestFirst) {
    const least = load.indexOf(Math.min(...load));
    thread.set(h, least);
    load[least]! += size;
  }
  return new Map(hospitals.map((h) => [h, thread.get(h)!]));
}

/** A hospital as a pool places it: its id and, where known, its declared number of patients. */
export interface PooledHospital {
  readonly id: string;
  readonly patients?: number;
}

/**
 * Starts the threads of a run's hospitals, in the one assignment every command uses: balanced by declared
 * patients when each hospital declares them (a scenario's always do), else i mod n (see {@link assignHospitals}).
 */
export function startHospitalPool(
  hospitals: readonly PooledHospital[],
  threads: number,
  options: Omit<PoolOptions, 'sizes'>,
): Promise<WorkerPool> {
  const sized = hospitals.every((h) => h.patients !== undefined);
  return WorkerPool.start(
    hospitals.map((h) => h.id),
    threads,
    sized ? { ...options, sizes: new Map(hospitals.map((h) => [h.id, h.patients!])) } : options,
  );
}

/** How a pool starts and guards its threads. */
export interface PoolOptions {
  /** Real-time guard on every exchange, in milliseconds. */
  readonly timeoutMs: number;
  /** Real-time guard on a thread's start-up; default {@link STARTUP_TIMEOUT_MS}. */
  readonly startupTimeoutMs?: number;
  /** Module the threads run instead of fedmed's own worker (tests of misbehaving workers), and its data. */
  readonly entry?: { readonly url: string; readonly data: unknown };
  /** Each hospital's declared size, to balance the threads by (see {@link assignHospitals}). */
  readonly sizes?: ReadonlyMap<string, number>;
}

interface Slot {
  readonly index: number;
  readonly worker: Worker;
  readonly remote: Remote<WorkerEndpoint>;
  /** Rejects when the thread errors or exits before the pool closes it. */
  readonly death: Promise<never>;
  /** Settles with the thread's id when it has loaded its code (or fails to within the start-up guard). */
  readonly ready: Promise<number>;
  /** Hospitals of the calls sent and not yet answered, in the order sent: the thread serves them in turn. */
  readonly outstanding: string[];
  /** Set when the thread first fails: the call it was serving then (the first outstanding one). */
  failed?: { readonly inFlight: string | undefined };
}

/**
 * Worker threads hosting the hospitals, each hospital pinned to one thread for the whole run. The pool moves
 * bytes only: it sends a request envelope to the thread that hosts a hospital and hands back whatever the
 * thread answers, untouched and untrusted, for the coordinator's boundary to check.
 */
export class WorkerPool {
  readonly #slots: Slot[] = [];
  readonly #assignment: Map<string, number>;
  readonly #options: PoolOptions;
  #threadIds: number[] = [];
  #closing = false;

  private constructor(assignment: Map<string, number>, options: PoolOptions) {
    this.#assignment = assignment;
    this.#options = options;
  }

  /** Starts `min(threads, hospitals)` threads and waits until each has loaded its code. */
  static async start(
    hospitals: readonly string[],
    threads: number,
    options: PoolOptions,
  ): Promise<WorkerPool> {
    const n = Math.min(threads, hospitals.length);
    const pool = new WorkerPool(assignHospitals(hospitals, n, options.sizes), options);
    for (let i = 0; i < n; i++) pool.#slots.push(pool.#spawn(i));
    const started = await Promise.allSettled(pool.#slots.map((s) => s.ready));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed !== undefined) {
      await pool.close();
      throw failed.reason;
    }
    pool.#threadIds = started.map((s) => (s as PromiseFulfilledResult<number>).value);
    return pool;
  }

  #spawn(index: number): Slot {
    const worker = new Worker((this.#options.entry === undefined && COMPILED_WORKER) || BOOT, {
      workerData: { entry: this.#options.entry?.url ?? ENTRY, data: this.#options.entry?.data },
      resourceLimits: WORKER_RESOURCE_LIMITS,
    });
    const outstanding: string[] = [];
    const failing = () => {
      if (slot.failed === undefined) slot.failed = { inFlight: outstanding[0] };
    };
    const death = new Promise<never>((_, reject) => {
      worker.once('error', (e: Error) => {
        failing();
        reject(new WorkerFailure(`worker thread ${index} failed: ${e.message}`));
      });
      worker.once('exit', (code) => {
        if (this.#closing) return;
        failing();
        reject(new WorkerFailure(`worker thread ${index} exited with code ${code}`));
      });
    });
    death.catch(() => undefined);
    const remote = Comlink.wrap<WorkerEndpoint>(nodeEndpoint(worker));
    const slot: Slot = {
      index,
      worker,
      remote,
      death,
      outstanding,
      ready: this.#guard(
        { worker, death, outstanding },
        remote.ready().then((id: unknown) => {
          if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
            throw new WorkerFailure(`worker thread ${index} reported no valid thread id`);
          }
          return id;
        }),
        `starting worker thread ${index}`,
        this.#options.startupTimeoutMs ?? STARTUP_TIMEOUT_MS,
      ),
    };
    slot.ready.catch(() => undefined);
    return slot;
  }

  /** Thread index of each hospital. */
  get assignment(): ReadonlyMap<string, number> {
    return this.#assignment;
  }

  /** The hospitals thread `index` hosts, in scenario order. */
  hospitalsOn(index: number): string[] {
    return [...this.#assignment].filter(([, t]) => t === index).map(([h]) => h);
  }

  /**
   * Replaces thread `index`, which failed, by a fresh one hosting the same hospitals (which must be set up
   * again); waits until it has loaded its code and returns its thread id.
   */
  async replace(index: number): Promise<number> {
    const old = this.#slots[index];
    if (old === undefined) throw new Error(`no worker thread ${index}`);
    old.remote[Comlink.releaseProxy]();
    void terminate(old.worker);
    const slot = this.#spawn(index);
    this.#slots[index] = slot;
    const id = await slot.ready;
    this.#threadIds[index] = id;
    return id;
  }

  /** Number of threads started. */
  get size(): number {
    return this.#slots.length;
  }

  /** Each started thread's id, by thread index. */
  get threadIds(): readonly number[] {
    return this.#threadIds;
  }

  /**
   * Sends `request` (transferred: the caller must not use it again) to the thread hosting `hospital` and
   * returns its raw answer. Rejects with {@link WorkerFailure} if the thread dies or exceeds the guard; a
   * thread that exceeds it is terminated.
   */
  exchange(hospital: string, request: Uint8Array, what: string): Promise<unknown> {
    const index = this.#assignment.get(hospital);
    if (index === undefined) throw new Error(`no worker thread hosts hospital ${hospital}`);
    const slot = this.#slots[index]!;
    slot.outstanding.push(hospital);
    return this.#guard(
      slot,
      slot.remote.exchange(Comlink.transfer(request, [request.buffer])),
      `${what} at hospital ${hospital}`,
      this.#options.timeoutMs,
    ).then(
      (answer) => {
        slot.outstanding.splice(slot.outstanding.indexOf(hospital), 1);
        return answer;
      },
      (e: unknown) => {
        slot.outstanding.splice(slot.outstanding.indexOf(hospital), 1);
        if (!(e instanceof WorkerFailure)) throw e;
        throw new WorkerFailure(e.message, { thread: index, inFlight: slot.failed?.inFlight });
      },
    );
  }

  /**
   * Terminates every thread. A thread blocked inside the operating system cannot be ended from JavaScript;
   * after {@link TERMINATE_GRACE_MS} it is left behind rather than waited for.
   */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map(async (s) => {
        s.remote[Comlink.releaseProxy]();
        await terminate(s.worker);
      }),
    );
  }

  #guard<T>(
    slot: Pick<Slot, 'worker' | 'death' | 'outstanding' | 'failed'>,
    work: Promise<T>,
    what: string,
    ms: number,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        slot.failed ??= { inFlight: slot.outstanding[0] };
        reject(new WorkerFailure(`no answer for ${what} within ${ms / 1000} s of real time`));
        void terminate(slot.worker);
      }, ms);
      timer.unref();
    });
    return Promise.race([work, slot.death, hang]).finally(() => clearTimeout(timer));
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
