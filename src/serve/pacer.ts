import { WorkerFailure, type WorkerPool } from '../server/worker-pool.ts';

/** Told of every message between the coordinator and a hospital's thread, as it happens. */
export interface PoolObserver {
  /** A request of `kind` leaves for `hospital`. */
  sent(hospital: string, kind: string): void;
  /** The thread hosting `hospital` answered a request of `kind` (not yet checked by the boundary). */
  answered(hospital: string, kind: string): void;
}

/**
 * Spaces the messages of a run so an audience can follow them, and stops a run between messages. It only
 * delays: every message still goes, in the coordinator's order, and replies are admitted in a fixed order
 * whatever their timing, so pacing never changes a result.
 */
export class Pacer {
  #ms: number;
  #chain: Promise<void> = Promise.resolve();
  #stopped: string | undefined;
  readonly #wakers = new Set<() => void>();

  constructor(msPerMessage: number) {
    this.#ms = msPerMessage;
  }

  /** Pause between two messages, in milliseconds (0: full speed). */
  get msPerMessage(): number {
    return this.#ms;
  }

  set msPerMessage(ms: number) {
    this.#ms = ms;
    for (const wake of this.#wakers) wake();
  }

  /** Why the run was stopped, once it was. */
  get stopReason(): string | undefined {
    return this.#stopped;
  }

  /** Stops the run at its next message: that message fails as a worker failure naming `reason`. */
  stop(reason: string): void {
    this.#stopped ??= reason;
    for (const wake of this.#wakers) wake();
  }

  /** Waits for this message's turn: after the one before it, by the pause. Rejects once stopped. */
  turn(): Promise<void> {
    const mine = this.#chain.then(() => this.#pause());
    this.#chain = mine.catch(() => undefined);
    return mine;
  }

  async #pause(): Promise<void> {
    const started = performance.now();
    for (;;) {
      if (this.#stopped !== undefined) throw new WorkerFailure(this.#stopped);
      const left = this.#ms - (performance.now() - started);
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#wakers.add(wake);
      });
    }
  }
}

/**
 * The pool as the coordinator sees it, with every exchange paced and reported: the request waits its turn,
 * goes to the real pool untouched, and its answer waits its turn before the coordinator gets it.
 */
export function pacedPool(pool: WorkerPool, pacer: Pacer, observer: PoolObserver): WorkerPool {
  const exchange = async (hospital: string, request: Uint8Array, what: string): Promise<unknown> => {
    await pacer.turn();
    observer.sent(hospital, what);
    const answer = await pool.exchange(hospital, request, what);
    await pacer.turn();
    observer.answered(hospital, what);
    return answer;
  };
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'exchange') return exchange;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
