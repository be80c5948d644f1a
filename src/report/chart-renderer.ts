import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { keepSvg, keptSvg } from './chart-cache.ts';
import type { Chart } from './charts.ts';
import type { ChartAnswer, ChartJob } from './chart-worker.ts';

const BOOT = new URL('../clients/worker-boot.mjs', import.meta.url);
const ENTRY = new URL('./chart-worker.ts', import.meta.url).href;
/** The chart thread compiled to JavaScript, defined when this module runs in the compiled CLI (bin/compiled.mjs). */
declare const FEDMED_CHART_WORKER_BUNDLE: string | undefined;
const COMPILED =
  typeof FEDMED_CHART_WORKER_BUNDLE === 'string' ? new URL(FEDMED_CHART_WORKER_BUNDLE) : undefined;
/** More chart threads than this only add vega's start-up: a report has some 20 charts. */
const MAX_THREADS = 3;
/** A thread is started for every this many charts to draw at once: fewer do not pay for its start-up. */
const CHARTS_PER_THREAD = 4;
/** Charts a thread holds at once: the next waits in its queue while it draws one, however busy this thread is. */
const IN_FLIGHT = 2;

/**
 * Chart threads worth starting: one per core that is idle (by the 1-minute load average) beyond this one, at
 * most {@link MAX_THREADS}. On a busy machine a thread only adds vega's start-up to the work. Where a chart is
 * drawn never changes its text.
 */
export function idleChartThreads(): number {
  const cores = availableParallelism();
  return Math.max(0, Math.min(MAX_THREADS, cores - 1, Math.floor(cores - loadavg()[0]!)));
}

interface Job {
  readonly id: number;
  readonly chart: Chart;
  readonly resolve: (svg: string) => void;
  readonly reject: (e: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  ready: boolean;
  /** Charts sent and not yet answered, in the order sent. */
  readonly busy: Job[];
  dead: boolean;
}

/**
 * Draws a report's charts with vega on all cores: worker threads take charts from the front of the queue and
 * this thread, whenever it waits, from the back. A chart's SVG is the same text on any thread (svg.ts numbers
 * its ids per chart), so where it was drawn never shows. A chart an earlier report drew is taken from the
 * chart cache; threads start only for many charts left to draw, and load vega while this thread draws the map.
 * A thread that fails hands its charts back, and this thread draws what is left.
 */
export class ChartRenderer {
  readonly #queue: Job[] = [];
  readonly #svgs = new Map<string, Promise<string>>();
  readonly #threads: Thread[] = [];
  readonly #maxThreads: number;
  readonly #drawHere: boolean;
  #ids = 0;
  #helping = false;

  /**
   * A renderer with at most `threads` worker threads (default: {@link idleChartThreads});
   * with `drawHere` false this thread draws only when no worker thread is alive.
   */
  constructor(threads = idleChartThreads(), drawHere = true) {
    this.#maxThreads = threads;
    this.#drawHere = drawHere;
  }

  /** The chart's SVG (`renderSvg(chart.spec, chart.key)`), started on first request and kept by key. */
  svg(chart: Chart): Promise<string> {
    let svg = this.#svgs.get(chart.key);
    if (svg === undefined) {
      const kept = keptSvg(chart);
      svg =
        kept !== undefined
          ? Promise.resolve(kept)
          : new Promise<string>((resolve, reject) => {
              this.#queue.push({
                id: this.#ids++,
                chart,
                resolve: (drawn) => {
                  keepSvg(chart, drawn);
                  resolve(drawn);
                },
                reject,
              });
            });
      this.#svgs.set(chart.key, svg);
      this.#pump();
      if (this.#queue.length > 0) this.#help();
    }
    return svg;
  }

  /** Starts drawing every chart, in order, with threads for many; their SVGs are then awaited with {@link svg}. */
  start(charts: readonly Chart[]): void {
    for (const c of charts) void this.svg(c).catch(() => undefined);
    const wanted = Math.min(this.#maxThreads, Math.floor(this.#queue.length / CHARTS_PER_THREAD));
    while (this.#threads.filter((t) => !t.dead).length < wanted) this.#threads.push(this.#spawn());
  }

  /** Worker threads started so far. */
  get threadsStarted(): number {
    return this.#threads.length;
  }

  /** Ends the worker threads. */
  async close(): Promise<void> {
    await Promise.all(
      this.#threads.map((t) => {
        t.dead = true;
        return t.worker.terminate();
      }),
    );
  }

  #spawn(): Thread {
    const worker = new Worker(COMPILED ?? BOOT, { workerData: { entry: ENTRY } });
    worker.unref();
    const thread: Thread = { worker, ready: false, busy: [], dead: false };
    worker.on('message', (answer: ChartAnswer) => {
      if ('ready' in answer) thread.ready = true;
      else if (thread.busy[0]?.id === answer.id) {
        const job = thread.busy.shift()!;
        if (thread.busy.length === 0) worker.unref();
        if ('svg' in answer) job.resolve(answer.svg);
        else job.reject(new Error(`chart ${job.chart.key}: ${answer.error}`));
      }
      this.#pump();
    });
    const lost = () => {
      if (thread.dead) return;
      thread.dead = true;
      this.#queue.unshift(...thread.busy.splice(0));
      this.#help();
    };
    worker.once('error', lost);
    worker.once('exit', lost);
    return thread;
  }

  #pump(): void {
    for (const t of this.#threads) {
      while (!t.dead && t.ready && t.busy.length < IN_FLIGHT) {
        const job = this.#queue.shift();
        if (job === undefined) return;
        t.busy.push(job);
        // A thread holds the process open while it draws a chart someone waits for, and only then.
        t.worker.ref();
        t.worker.postMessage({ id: job.id, spec: job.chart.spec, key: job.chart.key } satisfies ChartJob);
      }
    }
  }

  /** Once the caller waits, draws charts from the back of the queue on this thread until none is left. */
  #help(): void {
    if (this.#helping || this.#threadsOnly()) return;
    this.#helping = true;
    setImmediate(() => void this.#drain());
  }

  #threadsOnly(): boolean {
    return !this.#drawHere && this.#threads.some((t) => !t.dead);
  }

  #next(): Job | undefined {
    return this.#threadsOnly() ? undefined : this.#queue.pop();
  }

  async #drain(): Promise<void> {
    try {
      const { renderSvg } = await import('./svg.ts');
      // Between charts the event loop turns, so answers from the threads are taken and more charts sent.
      for (let job = this.#next(); job !== undefined; job = this.#next()) {
        await renderSvg(job.chart.spec, job.chart.key).then(job.resolve, job.reject);
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (e) {
      for (const job of this.#queue.splice(0)) job.reject(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.#helping = false;
    }
  }
}
