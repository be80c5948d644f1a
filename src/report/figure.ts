import type { ChartRenderer } from './chart-renderer.ts';
import type { Chart } from './charts.ts';
import { html, raw, table, type Html } from './html.ts';

/** A chart as a figure: its SVG, caption, and the same numbers as a table under it. */
export async function figure(chart: Chart, renderer: ChartRenderer): Promise<Html> {
  const svg = await renderer.svg(chart);
  return html`<figure class="chart" id="${chart.key}">
    <div class="plot">${raw(svg)}</div>
    <figcaption>${chart.caption}</figcaption>
    <details class="numbers">
      <summary>Numbers behind “${chart.title}”</summary>
      ${table({ ...chart.table, className: 'chart-table' })}
    </details>
  </figure>`;
}

/** Figures of several charts, in order, side by side where the page is wide enough. */
export async function figures(charts: readonly Chart[], renderer: ChartRenderer): Promise<Html> {
  renderer.start(charts);
  const out: Html[] = [];
  for (const c of charts) out.push(await figure(c, renderer));
  return html`<div class="charts">${out}</div>`;
}

/** A section with a heading; `id` is its anchor. */
export function section(id: string, title: string, ...content: Html[]): Html {
  return html`<section id="${id}">
    <h2>${title}</h2>
    ${content}
  </section>`;
}
