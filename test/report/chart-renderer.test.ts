import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChartRenderer } from '../../src/report/chart-renderer.ts';
import { curveChart, type Chart } from '../../src/report/charts.ts';
import { renderSvg } from '../../src/report/svg.ts';

/** Charts no earlier test drew (their keys name this process and moment), so the cache cannot answer them. */
function charts(n: number): Chart[] {
  const run = `test-${process.pid}-${Date.now()}`;
  return Array.from({ length: n }, (_, i) =>
    curveChart({
      key: `${run}-${i}`,
      title: `chart ${i}`,
      caption: 'a test chart',
      y: 'auroc',
      unitInterval: true,
      points: [1, 2, 3].map((round) => ({ series: 'federated', round, value: 0.5 + 0.01 * i * round })),
    }),
  );
}

describe('drawing charts on worker threads', () => {
  it('gives the text renderSvg gives on this thread, keeps it, and gives it again from the cache', async () => {
    const many = charts(4);
    const renderer = new ChartRenderer(1, false);
    let drawn: string[];
    try {
      renderer.start(many);
      expect(renderer.threadsStarted).toBe(1);
      drawn = await Promise.all(many.map((c) => renderer.svg(c)));
    } finally {
      await renderer.close();
    }
    const here = await Promise.all(many.map((c) => renderSvg(c.spec, c.key)));
    expect(drawn).toEqual(here);
    expect(new Set(drawn).size).toBe(4);

    const cache = new URL('../../node_modules/.cache/fedmed/charts/', import.meta.url);
    expect(existsSync(cache) && readdirSync(cache).length).toBeGreaterThanOrEqual(4);
    const again = new ChartRenderer(1);
    try {
      again.start(many);
      // Every chart was kept: nothing left to draw, so no thread starts.
      expect(again.threadsStarted).toBe(0);
      expect(await Promise.all(many.map((c) => again.svg(c)))).toEqual(here);
    } finally {
      await again.close();
    }
  });
});
