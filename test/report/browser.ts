/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../helpers/cli.ts';

const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests keep their screenshots (git-ignored). */
export const ARTEFACTS = join(ROOT, 'test/artefacts');

/** Headless Debian Chromium, installed with apt-get as .ci/run does when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) execSync('apt-get update && apt-get install -y chromium', { stdio: 'inherit' });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** What a report looked like in the browser. */
export interface PageCheck {
  /** Every request the page attempted, the report file itself included. */
  readonly requests: readonly string[];
  /** Per chart figure, how many drawn marks (vega's role-mark items) have a visible size. */
  readonly charts: readonly { readonly key: string; readonly marks: number }[];
  /** Hospital discs drawn on the map. */
  readonly hospitalsOnMap: number;
  /** Per text, the fonts Chromium drew it with (from the DevTools protocol) and whether any were missing. */
  readonly fonts: readonly {
    readonly text: string;
    readonly families: readonly string[];
    readonly custom: boolean;
  }[];
  /** Per character, whether it drew other pixels than a box (an unassigned code point) does. */
  readonly glyphs: readonly { readonly char: string; readonly differsFromBox: boolean }[];
}

/**
 * Opens a report file with every request but the file itself refused, and reports what was requested,
 * which charts drew marks, and how the given texts (hospital names) rendered.
 */
export async function inspectReport(
  browser: Browser,
  file: string,
  texts: readonly string[],
  screenshot: string,
): Promise<PageCheck> {
  const url = pathToFileURL(file).href;
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url);
  await page.evaluate(() => document.fonts.ready);
  const charts = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => ({
      key: f.id,
      marks: [...f.querySelectorAll('svg .role-mark > *')].filter((m) => {
        const b = (m as SVGGraphicsElement).getBBox();
        return b.width > 0 || b.height > 0;
      }).length,
    })),
  );
  const hospitalsOnMap = await page.$$eval(
    'svg.map g.hospital circle',
    (cs) => cs.filter((c) => (c as SVGCircleElement).r.baseVal.value > 0).length,
  );
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('DOM.enable');
  await cdp.send('CSS.enable');
  const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
  const fonts = [];
  for (const text of texts) {
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', {
      nodeId: root.nodeId,
      selector: 'td[data-hospital]',
    });
    let found: { families: string[]; custom: boolean } | undefined;
    for (const nodeId of nodeIds) {
      const { outerHTML } = await cdp.send('DOM.getOuterHTML', { nodeId });
      if (!outerHTML.includes(`>${text}<`)) continue;
      const { fonts: used } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
      found = { families: used.map((f) => f.familyName), custom: used.every((f) => f.isCustomFont) };
      break;
    }
    fonts.push({ text, families: found?.families ?? [], custom: found?.custom ?? false });
  }
  const chars = [...new Set(texts.join(''))];
  const glyphs = await page.evaluate(async (cs) => {
    await document.fonts.load('32px fedmed-sans', cs.join(''));
    const draw = (ch: string) => {
      const c = document.createElement('canvas');
      c.width = 64;
      c.height = 64;
      const g = c.getContext('2d')!;
      g.font = '40px fedmed-sans';
      g.fillText(ch, 8, 48);
      return c.toDataURL();
    };
    const box = draw('\u{E000}');
    return cs.map((ch) => ({ char: ch, differsFromBox: draw(ch) !== box }));
  }, chars);
  mkdirSync(ARTEFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTEFACTS, screenshot) });
  await page.close();
  return { requests, charts, hospitalsOnMap, fonts, glyphs };
}
