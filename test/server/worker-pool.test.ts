import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WorkerFailure, WorkerPool } from '../../src/server/worker-pool.ts';

const entry = { url: new URL('../fixtures/sleepy-worker.ts', import.meta.url).href, data: {} };
const answering = () => Uint8Array.of(0, 7);
const spinning = () => Uint8Array.of(1);

describe('the real-time guard of the worker pool', () => {
  it('start-up has its own guard: a 1 ms per-call guard does not trip on it', async () => {
    const pool = await WorkerPool.start(['a', 'b'], 2, { timeoutMs: 1, entry });
    expect(pool.threadIds).toHaveLength(2);
    await pool.close();
  });

  it('a call past its guard terminates its thread: the next call there fails at once, others go on', async () => {
    const pool = await WorkerPool.start(['a', 'b', 'c'], 2, { timeoutMs: 2000, entry });
    try {
      await expect(pool.exchange('a', spinning(), 'fit')).rejects.toThrow(
        /no answer for fit at hospital a within 2 s of real time/,
      );
      const started = performance.now();
      await expect(pool.exchange('c', answering(), 'fit')).rejects.toThrow(WorkerFailure);
      expect(performance.now() - started).toBeLessThan(1500);
      await expect(pool.exchange('b', answering(), 'fit')).resolves.toEqual(Uint8Array.of(0, 7));
    } finally {
      await pool.close();
    }
  });

  it('close() returns even when a thread is blocked inside the operating system', () => {
    const r = spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures/pool-close.mjs')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ms = Number(/^closed in (\d+) ms\n$/.exec(r.stdout)?.[1]);
    expect(ms).toBeGreaterThan(4000);
    expect(ms).toBeLessThan(15_000);
  });
});
