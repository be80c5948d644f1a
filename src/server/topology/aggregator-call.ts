import type { ThreadFailure } from '../recovery.ts';
import { WorkerFailure, type WorkerPool } from '../worker-pool.ts';

/**
 * Asks country aggregator `id` with a request built by `request` (built afresh for each attempt: a sent request's
 * bytes are transferred) and resolves to its raw reply. If the aggregator's thread dies or hangs, the thread is
 * replaced and the aggregator asked again, once: it keeps nothing between calls, so the replacement answers what
 * the first thread would have. The replacement is added to `lost` for the round's fault record.
 */
export async function askAggregator(
  pool: WorkerPool,
  id: string,
  request: () => Uint8Array,
  lost: ThreadFailure[],
): Promise<unknown> {
  try {
    return await pool.exchange(id, request(), 'country aggregator');
  } catch (e) {
    if (!(e instanceof WorkerFailure) || e.where === undefined) throw e;
    const replacement = await pool.replace(e.where.thread);
    lost.push({
      phase: 'fit',
      thread: e.where.thread,
      cause: e.message,
      redone: [id],
      replacement,
      handled: `country aggregator thread replaced; ${id} asked again (it keeps nothing between calls)`,
    });
    return pool.exchange(id, request(), 'country aggregator');
  }
}
