import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '../common/hash.ts';
import type { Chart } from './charts.ts';

/** Where drawn charts are kept between reports (a cache: deleting it costs only time). */
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/fedmed/charts/', import.meta.url));

/**
 * What else decides a chart's SVG besides its spec and key: every installed package's version (package-lock.json,
 * which pins vega's own dependencies such as vega-scenegraph and the d3 formatters too), vega's and vega-lite's
 * versions as installed, and svg.ts.
 */
function drawer(): string {
  // Read as files: neither package exports its package.json, and importing them is what the cache avoids.
  const text = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
  const version = (name: string) =>
    (JSON.parse(text(`../../node_modules/${name}/package.json`)) as { version: string }).version;
  return sha256(
    [version('vega'), version('vega-lite'), sha256(text('../../package-lock.json')), text('./svg.ts')].join(
      '\0',
    ),
  );
}

let drawing: string | undefined;

function pathOf(chart: Chart): string {
  drawing ??= drawer();
  return join(CACHE, `${sha256(`${drawing}\0${chart.key}\0${JSON.stringify(chart.spec)}`)}.svg`);
}

/**
 * The SVG an earlier report drew for the same spec and key with the same installed packages and svg.ts, or
 * undefined. The same input gives the same text either way. The folder has the trust of node_modules itself:
 * whoever can write there can change vega too; delete it to have every chart drawn again.
 */
export function keptSvg(chart: Chart): string | undefined {
  try {
    const kept = readFileSync(pathOf(chart), 'utf8');
    if (kept.startsWith('<svg ') && kept.endsWith('</svg>')) return kept;
  } catch {
    // not drawn before
  }
  return undefined;
}

/** Keeps a drawn chart for the next report; a read-only install only makes that report slower. */
export function keepSvg(chart: Chart, svg: string): void {
  try {
    mkdirSync(CACHE, { recursive: true });
    const path = pathOf(chart);
    const draft = `${path}.${process.pid}`;
    writeFileSync(draft, svg);
    renameSync(draft, path);
  } catch {
    // a read-only install: the report is the same, only slower next time
  }
}
