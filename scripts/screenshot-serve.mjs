#!/usr/bin/env node
// Screenshots the live dashboard mid-run in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): starts `fedmed serve` on a free port with a scratch runs folder, starts a shipped scenario
// from the page on backend js at 40 ms per message, waits for a round, and shoots the projector-sized viewport.
// Every request that is not to the dashboard itself is refused.
//   node scripts/screenshot-serve.mjs <out.png> [--scenario korea-china.json] [--round 3] [--width 1280]
//     [--height 720]
// README's docs/serve-live.png: node scripts/screenshot-serve.mjs docs/serve-live.png
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : args[i + 1];
};
const [output] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (output === undefined) {
  process.stderr.write('usage: node scripts/screenshot-serve.mjs <out.png> [--scenario FILE] [--round N]\n');
  process.exit(2);
}
const runs = mkdtempSync(join(tmpdir(), 'fedmed-serve-shot-'));
const server = spawn(process.execPath, ['bin/fedmed.mjs', 'serve', '--port', '0', '--runs', runs], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (d) => {
    text += d;
    const found = /the dashboard is at (\S+)/.exec(text);
    if (found) resolve(found[1]);
  });
  server.on('exit', (code) => reject(new Error(`fedmed serve exited with ${code}`)));
});
const origin = new URL(url).origin;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
try {
  const page = await browser.newPage({
    viewport: { width: Number(option('--width', 1280)), height: Number(option('--height', 720)) },
  });
  await page.route('**/*', (route) =>
    new URL(route.request().url()).origin === origin ? route.continue() : route.abort(),
  );
  await page.goto(url);
  await page.waitForSelector('body[data-ready=true]');
  await page.selectOption('#scenario', option('--scenario', 'korea-china.json'));
  await page.waitForSelector('#hospital-list tbody tr');
  await page.selectOption('#backend', 'js');
  await page.selectOption('#pace', '40');
  await page.click('#start');
  await page.waitForSelector(`#round-table tr[data-round="${option('--round', '3')}"]`, { timeout: 600_000 });
  await page.evaluate('document.fonts.ready');
  await page.locator('#stage').scrollIntoViewIfNeeded();
  await page.screenshot({ path: output });
  process.stdout.write(`${output}\n`);
} finally {
  await browser.close();
  server.kill('SIGINT');
  await new Promise((resolve) => server.once('exit', resolve));
  rmSync(runs, { recursive: true, force: true });
}
