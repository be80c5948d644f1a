/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS_DIR, startServer, type DashboardServer } from '../../src/serve/server.ts';
import { ARTEFACTS, launchChromium } from '../report/browser.ts';
import { glyphsDiffer, lowContrast, unlabelled } from './page-checks.ts';

/** quickstart's pinned final model on backend js (test/e2e/pinned-hashes.test.ts): pacing must not move it. */
const QUICKSTART_JS = '5c7a7e9edb75c7f69fdf46b95ba47adb30f3368e6159e4bb4a991a5b10acc490';

let server: DashboardServer;
let browser: Browser;
let runs: string;
let origin: string;
/** Every origin any page of this suite asked for something. */
const origins = new Set<string>();

async function open(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('request', (r) => origins.add(new URL(r.url()).origin));
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready=true]');
  return page;
}

const readJsonl = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const counters = (page: Page) =>
  page.$$eval('#counters dd', (dds) =>
    Object.fromEntries(dds.map((d) => [d.id, Number((d as HTMLElement).dataset.value)])),
  );

beforeAll(async () => {
  runs = mkdtempSync(join(tmpdir(), 'fedmed-serve-'));
  [server, browser] = await Promise.all([
    startServer({
      host: '127.0.0.1',
      port: 0,
      runsDir: runs,
      scenariosDir: SCENARIOS_DIR,
      workers: 2,
      timeoutMs: 600_000,
    }),
    launchChromium(),
  ]);
  origin = new URL(server.url).origin;
  mkdirSync(ARTEFACTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(runs, { recursive: true, force: true });
});

describe('fedmed serve in Chromium', () => {
  it('starts quickstart from the page; two tabs watch its rounds live; what they show equals the files', async () => {
    const page = await open();
    await page.selectOption('#scenario', 'quickstart.json');
    await page.waitForFunction(() => document.querySelectorAll('#hospital-list tbody tr').length === 4);
    await page.selectOption('#backend', 'js');
    await page.selectOption('#pace', '40');
    // Each round row as it appears, with whether the run had finished by then.
    await page.evaluate(() => {
      const seen: { round: number; state: string }[] = [];
      (window as unknown as { seen: typeof seen }).seen = seen;
      new MutationObserver((records) => {
        for (const r of records)
          for (const n of r.addedNodes)
            if (n instanceof HTMLTableRowElement)
              seen.push({
                round: Number(n.dataset.round),
                state: document.getElementById('stage')!.dataset.state ?? '',
              });
      }).observe(document.querySelector('#round-table tbody')!, { childList: true });
    });
    await page.click('#start');
    await page.waitForSelector('#round-table tr[data-round="2"]', { timeout: 240_000 });
    const second = await open();
    await second.waitForSelector('#round-table tr[data-round="2"]');
    await page.screenshot({ path: join(ARTEFACTS, 'serve-live.png') });
    await page.selectOption('#pace', '0');
    await page.waitForSelector('#stage[data-state=completed]', { timeout: 240_000 });
    await second.waitForSelector('#stage[data-state=completed]', { timeout: 30_000 });
    await page.screenshot({ path: join(ARTEFACTS, 'serve-done.png'), fullPage: true });

    const dir = join(runs, 'quickstart-seed1');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
      roundsCompleted: number;
      finalModelSha256: string;
      bytes: Record<string, number>;
    };
    const rounds = readJsonl(join(dir, 'metrics.jsonl'));
    const crossings = readJsonl(join(dir, 'crossings.jsonl'));
    expect(manifest.roundsCompleted).toBe(10);
    expect(rounds).toHaveLength(10);
    expect(manifest.finalModelSha256).toBe(QUICKSTART_JS);

    const seen = await page.evaluate(
      () => (window as unknown as { seen: { round: number; state: string }[] }).seen,
    );
    expect(seen.map((s) => s.round)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(seen.filter((s) => s.round < 10 && s.state === 'running').length).toBeGreaterThanOrEqual(2);

    const last = (rounds[9] as { evaluate: { metrics: Record<string, number> } }).evaluate.metrics;
    const borderMessages = crossings.filter((c) => c.purpose === 'federation' && c.crossesBorder).length;
    for (const p of [page, second]) {
      const shown = await counters(p);
      expect(shown).toMatchObject({
        round: 10,
        'border-messages': borderMessages,
        'bytes-to-hospitals': manifest.bytes.toHospitals,
        'bytes-to-coordinator': manifest.bytes.toCoordinator,
        'bytes-cross-border': manifest.bytes.crossBorder,
        rejected: manifest.bytes.rejected,
        'records-exported': 0,
      });
      const final = await p.$$eval('#round-table tr[data-round="10"] td[data-value]', (tds) =>
        tds.map((t) => Number((t as HTMLElement).dataset.value)),
      );
      expect(final).toEqual([last.auroc, last.accuracy, last.loss]);
      expect(await p.locator('#round-table tbody tr').count()).toBe(10);
      expect(await p.textContent('#status')).toContain('equal the manifest');
    }
    expect(await page.$$eval('#chart-grid figure svg', (s) => s.length)).toBeGreaterThanOrEqual(3);

    const href = await page.getAttribute('#report-link', 'href');
    expect(href).toBe('/report/quickstart-seed1');
    const report = await page.request.get(new URL(href!, server.url).href);
    expect(report.status()).toBe(200);
    expect(await report.text()).toContain(manifest.finalModelSha256);
    await second.close();
    await page.close();
  });

  it('replays the finished run at full speed, with the same rounds and totals', async () => {
    const page = await open();
    await page.selectOption('#pace', '0');
    await page.selectOption('#replay-folder', 'quickstart-seed1');
    await page.click('#replay');
    await page.waitForSelector('#stage[data-state=completed]', { timeout: 120_000 });
    await page.screenshot({ path: join(ARTEFACTS, 'serve-replay.png') });
    const manifest = JSON.parse(readFileSync(join(runs, 'quickstart-seed1/manifest.json'), 'utf8')) as {
      bytes: Record<string, number>;
    };
    expect(await page.textContent('#stage-title')).toContain('Replay of quickstart');
    expect(await counters(page)).toMatchObject({
      round: 10,
      'bytes-to-hospitals': manifest.bytes.toHospitals,
      'bytes-to-coordinator': manifest.bytes.toCoordinator,
      'bytes-cross-border': manifest.bytes.crossBorder,
    });
    expect(await page.textContent('#status')).toContain('equal the manifest');
    await page.close();
  });

  it('shows a bad upload’s errors beside their fields, and a bad seed beside the seed', async () => {
    const page = await open();
    const bad = JSON.parse(readFileSync(join(SCENARIOS_DIR, 'quickstart.json'), 'utf8')) as {
      hospitals: { patients: number; source?: unknown }[];
      strategy: unknown;
    };
    bad.hospitals[1]!.patients = 5;
    bad.hospitals[2]!.source = { kind: 'csv', path: '/etc/passwd' };
    bad.strategy = { name: 'custom', module: 'evil.mjs' };
    await page.setInputFiles('#upload', {
      name: 'bad.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(bad)),
    });
    await page.waitForSelector('#upload-errors li');
    const paths = await page.$$eval('#upload-errors li', (lis) =>
      lis.map((l) => (l as HTMLElement).dataset.path),
    );
    expect(paths).toEqual(expect.arrayContaining(['$.hospitals[1].patients', '$.hospitals[2].source.kind']));
    expect(await page.getAttribute('#upload', 'aria-invalid')).toBe('true');
    expect(await page.textContent('#strategy-error')).toContain('$.strategy.name: a custom strategy module');
    expect(await page.getAttribute('#strategy', 'aria-invalid')).toBe('true');
    await page.click('#clear-upload');
    await page.waitForFunction(() => document.querySelectorAll('#upload-errors li').length === 0);
    await page.fill('#seed', '-3');
    await page.click('#start');
    await page.waitForSelector('#seed[aria-invalid=true]');
    expect(await page.textContent('#seed-error')).toContain('$.seed');
    await page.screenshot({ path: join(ARTEFACTS, 'serve-upload-errors.png') });
    await page.close();
  });

  it('renders Korean and Chinese names, labels every control, keeps contrast, and works by keyboard', async () => {
    const page = await open();
    await page.selectOption('#scenario', 'korea-china.json');
    await page.waitForFunction(() => document.querySelectorAll('#hospital-list tbody tr').length === 8);
    const names = ['서울대학교병원', '北京三甲医院'];
    const glyphs = await glyphsDiffer(page, [...new Set(names.join(''))]);
    expect(Object.entries(glyphs).filter(([, drawn]) => !drawn)).toEqual([]);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    for (const name of names) {
      const { nodeIds } = await cdp.send('DOM.querySelectorAll', {
        nodeId: root.nodeId,
        selector: 'td[data-hospital]',
      });
      const used: { familyName: string; isCustomFont: boolean }[] = [];
      for (const nodeId of nodeIds) {
        const { outerHTML } = await cdp.send('DOM.getOuterHTML', { nodeId });
        if (outerHTML.includes(`>${name}<`))
          used.push(...(await cdp.send('CSS.getPlatformFontsForNode', { nodeId })).fonts);
      }
      expect(used.length).toBeGreaterThan(0);
      expect(used.every((f) => f.isCustomFont)).toBe(true);
    }
    expect(await unlabelled(page)).toEqual([]);
    expect(await lowContrast(page)).toEqual([]);
    const focused: string[] = [];
    for (let i = 0; i < 14; i++) {
      await page.keyboard.press('Tab');
      focused.push(await page.evaluate(() => document.activeElement?.id ?? ''));
    }
    expect(focused).toEqual(
      expect.arrayContaining(['scenario', 'upload', 'seed', 'rounds', 'strategy', 'start']),
    );
    await page.screenshot({ path: join(ARTEFACTS, 'serve-korea-china.png') });
    await page.close();
    expect([...origins]).toEqual([origin]);
  });
});
