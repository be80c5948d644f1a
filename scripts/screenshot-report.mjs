#!/usr/bin/env node
// Screenshots a fedmed report in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// with every request but the file itself refused: node scripts/screenshot-report.mjs <report.html> <out.png>
// [--full] [--width 1280] [--height 1600]. It made docs/report-flagship.png from `npm run flagship`'s report.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
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
  await page.screenshot({ path: output, fullPage: args.includes('--full') });
  process.stdout.write(`${output}\n`);
} finally {
  await browser.close();
}
