import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { parse } from 'node-html-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/write-report.ts';
import { fedmed } from '../helpers/cli.ts';
import { inspectReport, launchChromium } from './browser.ts';
import { CJK_NAMES, cjkQuickstart, scratch } from './fixtures.ts';

const tmp = scratch('bench');
const bench = join(tmp, 'bench');

beforeAll(async () => {
  const scenario = cjkQuickstart(tmp);
  const b = fedmed([
    'bench',
    scenario,
    '--strategies',
    'fedavg,fedprox:proximalMu=0.1',
    '--seeds',
    '2',
    '--rounds',
    '2',
    '--workers',
    '2',
    '--out',
    bench,
  ]);
  expect(b.code, b.stderr).toBe(0);
  const { kind } = await writeReport(bench);
  expect(kind).toBe('bench');
}, 300_000);

const fmt = (v: number, sign = false) => {
  const t = v.toFixed(3);
  return sign && !t.startsWith('-') ? `+${t}` : t;
};

describe('fedmed report on a bench folder', () => {
  it("shows bench.csv's numbers, each once per table it belongs to, and no others", () => {
    const rows = parseCsv(readFileSync(join(bench, 'bench.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    const doc = parse(readFileSync(join(bench, 'report.html'), 'utf8'));
    const cells = doc.querySelectorAll('td[data-scope][data-arm]');
    const key = (arm: string, scope: string, hospital: string, metric: string) =>
      [arm, scope, hospital, metric].join('|');
    const shown = new Map<string, (typeof cells)[number]>();
    for (const td of cells) {
      const k = key(
        td.getAttribute('data-arm')!,
        td.getAttribute('data-scope')!,
        td.getAttribute('data-hospital')!,
        td.getAttribute('data-metric')!,
      );
      expect(shown.has(k), k).toBe(false);
      shown.set(k, td);
    }
    const withValues = rows.filter((r) => r.mean !== '');
    expect(withValues.length).toBeGreaterThan(50);
    for (const r of withValues) {
      const td = shown.get(key(r.arm!, r.scope!, r.hospital!, r.metric!));
      expect(td, key(r.arm!, r.scope!, r.hospital!, r.metric!)).toBeDefined();
      expect(Number(td!.getAttribute('data-mean'))).toBe(Number(r.mean));
      expect(td!.getAttribute('data-n')).toBe(r.n);
      if (r.lower !== '') {
        expect(Number(td!.getAttribute('data-lower'))).toBe(Number(r.lower));
        expect(Number(td!.getAttribute('data-upper'))).toBe(Number(r.upper));
      }
      if (r.scope !== 'run') {
        const mean = fmt(Number(r.mean), r.scope === 'vs-reference');
        const half = r.lower === '' ? undefined : ((Number(r.upper) - Number(r.lower)) / 2).toFixed(3);
        expect(
          td!.text.startsWith(half === undefined ? mean : `${mean} ± ${half}`),
          `${td!.text} for ${JSON.stringify(r)}`,
        ).toBe(true);
      } else if (r.metric!.startsWith('bytes')) {
        expect(Number(td!.text.replace(/\s/g, ''))).toBe(Math.round(Number(r.mean)));
      }
    }
    expect(shown.size).toBe(withValues.length);
  });

  it('in Chromium with the network refused: requests nothing and draws every chart', async () => {
    const browser = await launchChromium();
    try {
      const file = join(bench, 'report.html');
      const check = await inspectReport(browser, file, Object.values(CJK_NAMES), 'bench-report.png');
      expect(check.requests).toEqual([`file://${file}`]);
      expect(check.charts.map((c) => c.key)).toEqual(
        expect.arrayContaining(['bench-final', 'bench-paired', 'bench-curve-auroc']),
      );
      for (const c of check.charts) expect(c.marks, c.key).toBeGreaterThan(0);
      expect(check.hospitalsOnMap).toBe(4);
      for (const g of check.glyphs) expect(g.differsFromBox, g.char).toBe(true);
    } finally {
      await browser.close();
    }
  });
});
