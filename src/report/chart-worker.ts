import { parentPort } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './svg.ts';

/** A chart to draw, as the report's thread sends it. */
export interface ChartJob {
  readonly id: number;
  readonly spec: TopLevelSpec;
  readonly key: string;
}

/** What the thread answers: the chart's SVG, or why it could not draw it; `ready` once vega has loaded. */
export type ChartAnswer =
  | { readonly ready: true }
  | { readonly id: number; readonly svg: string }
  | { readonly id: number; readonly error: string };

const port = parentPort!;
port.on('message', (job: ChartJob) => {
  renderSvg(job.spec, job.key).then(
    (svg) => port.postMessage({ id: job.id, svg } satisfies ChartAnswer),
    (e: unknown) =>
      port.postMessage({
        id: job.id,
        error: e instanceof Error ? e.message : String(e),
      } satisfies ChartAnswer),
  );
});
port.postMessage({ ready: true } satisfies ChartAnswer);
