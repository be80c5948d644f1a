import { threadId } from 'node:worker_threads';
import { HospitalHost } from '../src/clients/host.ts';
import type { WorkerPool } from '../src/server/worker-pool.ts';

/**
 * The part of {@link WorkerPool} a run uses, with every hospital's host in the calling thread: a run on it does
 * all of a round's work (both sides of every message, in order) without threads, postMessage or thread
 * switches, which is what a round costs apart from moving its messages. For benches only: nothing can fail.
 */
export class InThreadPool {
  readonly #host = new HospitalHost();
  readonly assignment: ReadonlyMap<string, number>;
  readonly size = 1;
  readonly threadIds = [threadId];

  constructor(hospitals: readonly string[]) {
    this.assignment = new Map(hospitals.map((h) => [h, 0]));
  }

  /** Lent to a run as its pool (`RunOptions.pool`). */
  static lend(hospitals: readonly string[]): WorkerPool {
    return new InThreadPool(hospitals) as unknown as WorkerPool;
  }

  hospitalsOn(): string[] {
    return [...this.assignment.keys()];
  }

  exchange(_hospital: string, request: Uint8Array): Promise<unknown> {
    return this.#host.exchange(request);
  }

  replace(): Promise<number> {
    return Promise.reject(new Error('hospitals in the bench thread are never replaced'));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
