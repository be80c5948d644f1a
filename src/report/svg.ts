import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a vega-lite spec to an SVG string without a browser. Vega numbers ids from a counter that lives as
 * long as the process, so every id is renamed to `<prefix>-<n>` in order of appearance: the same chart gives
 * the same text however many were rendered before it, and charts in one page cannot share an id.
 */
export async function renderSvg(spec: TopLevelSpec, prefix: string): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g))
    if (!ids.has(m[1]!)) ids.set(m[1]!, `${prefix}-${ids.size + 1}`);
  const renamed = svg
    .replace(/(\sid=")([^"]+)"/g, (_, a: string, id: string) => `${a}${ids.get(id)}"`)
    .replace(/url\(#([^)]+)\)/g, (whole, id: string) => (ids.has(id) ? `url(#${ids.get(id)})` : whole))
    .replace(/href="#([^"]+)"/g, (whole, id: string) => (ids.has(id) ? `href="#${ids.get(id)}"` : whole));
  return renamed.replace(/^<svg /, `<svg data-chart="${prefix}" `);
}
