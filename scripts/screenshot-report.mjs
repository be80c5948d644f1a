#!/usr/bin/env node
// Screenshots a fedmed report in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// with every request but the file itself refused:
//   node scripts/screenshot-report.mjs <report.html> <out.png> [--full] [--width 1280] [--height 1600]
//     [--selector CSS]   (only the first element the selector finds)
// README's docs/report-map.png and docs/report-charts.png come from `npm run flagship`'s report with
// --selector 'figure.map-figure' and --selector '#learning .charts' --height 900.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const flag = (name, fallback) => Number(option(name) ?? fallback);
const [input, output] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (input === undefined || output === undefined) {
  process.stderr.write(
    'usage: node scripts/screenshot-report.mjs <report.html> <out.png> [--full] [--width W] [--height H]\n',
  );
  process.exit(2);
}
const url = pathToFileURL(resolve(input)).href;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
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
try {
  const page = await browser.newPage({
    viewport: { width: flag('--width', 1280), height: flag('--height', 1600) },
  });
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url);
  await page.evaluate('document.fonts.ready');
  const selector = option('--selector');
  if (selector === undefined) await page.screenshot({ path: output, fullPage: args.includes('--full') });
  else {
    const box = await page.locator(selector).first().boundingBox();
    if (box === null) throw new Error(`${selector}: not on the page`);
    const height = Math.min(box.height, flag('--height', 1600));
    await page.screenshot({
      path: output,
      fullPage: true,
      clip: { x: box.x, y: box.y, width: box.width, height },
    });
  }
  process.stdout.write(`${output}\n`);
} finally {
  await browser.close();
}
