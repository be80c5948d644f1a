import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { main } from '../../src/cli/main.ts';
import { writeReport } from '../../src/report/write-report.ts';
import { fedmed } from '../helpers/cli.ts';
import { inspectReport, launchChromium } from './browser.ts';
import { CJK_NAMES, cjkQuickstart, scratch } from './fixtures.ts';

const tmp = scratch('run');
const run = join(tmp, 'run');
let reportFile: string;

beforeAll(() => {
  // Chengdu's hospital sends NaN parameters in round 2: the boundary rejects the reply, three others carry the round.
  const scenario = cjkQuickstart(tmp, [
    { hospital: 'cn-chengdu-1', behaviour: 'nan-parameters', rounds: [2] },
  ]);
  const r = fedmed([
    'run',
    scenario,
    '--rounds',
    '2',
    '--workers',
    '2',
    '--baselines',
    'local-only,pooled',
    '--out',
    run,
    '--quiet',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const first = fedmed(['report', run, '--out', join(tmp, 'a.html')], {
    TZ: 'Asia/Seoul',
    LANG: 'ko_KR.UTF-8',
    LC_ALL: 'ko_KR.UTF-8',
  });
  expect(first.code, first.stderr).toBe(0);
  reportFile = join(tmp, 'a.html');
}, 300_000);

describe('fedmed report on a run folder', () => {
  it('writes the same bytes in another process, time zone and locale', () => {
    const second = fedmed(['report', run], {
      TZ: 'America/Los_Angeles',
      LANG: 'zh_CN.UTF-8',
      LC_ALL: 'zh_CN.UTF-8',
    });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(join(run, 'report.html'));
    expect(readFileSync(join(run, 'report.html')).equals(readFileSync(reportFile))).toBe(true);
  }, 300_000);

  it("shows the manifest's totals, and that no record left a hospital", () => {
    const manifest = JSON.parse(readFileSync(join(run, 'manifest.json'), 'utf8')) as {
      bytes: Record<string, number>;
      baselineBytes: Record<string, Record<string, number>>;
    };
    const doc = parse(readFileSync(reportFile, 'utf8'));
    const shown = (purpose: string) =>
      Object.fromEntries(
        doc
          .querySelectorAll(`td[data-purpose="${purpose}"]`)
          .map((td) => [td.getAttribute('data-total')!, Number(td.text.replace(/\s/g, ''))]),
      );
    expect(shown('federation')).toEqual(manifest.bytes);
    expect(shown('local-only')).toEqual(manifest.baselineBytes.localOnly);
    expect(shown('pooled')).toEqual(manifest.baselineBytes.pooled);
    expect(doc.querySelector('[data-records-exported]')?.getAttribute('data-records-exported')).toBe('0');
    expect(doc.querySelector('.check.ok')).not.toBeNull();
    expect(manifest.bytes.rejected).toBe(1);
    const events = doc
      .querySelectorAll('#events table tr')
      .map((tr) => tr.querySelectorAll('td').map((td) => td.text));
    expect(events.filter((cells) => cells.length > 0)).toEqual([
      ['2', CJK_NAMES['cn-chengdu-1'], expect.stringMatching(/^rejected /), '1', expect.stringMatching(/\S/)],
    ]);
    expect(doc.querySelectorAll('svg.map g.hospital')).toHaveLength(4);
    // Every chart's numbers are also in a table.
    for (const fig of doc.querySelectorAll('figure.chart'))
      expect(fig.querySelectorAll('table td[data-value]').length).toBeGreaterThan(0);
  });

  it('shows fields that later versions add, without knowing them', async () => {
    const copy = join(tmp, 'augmented');
    cpSync(run, copy, { recursive: true });
    const lines = (f: string) =>
      readFileSync(join(copy, f), 'utf8')
        .split('\n')
        .filter((l) => l !== '');
    writeFileSync(
      join(copy, 'crossings.jsonl'),
      lines('crossings.jsonl')
        .map((l, i) =>
          JSON.stringify({
            ...JSON.parse(l),
            dataClass: i % 2 ? 'model-update' : 'instructions',
            legalBasis: 'research exemption',
            prev: `p${i}`,
          }),
        )
        .join('\n') + '\n',
    );
    writeFileSync(
      join(copy, 'metrics.jsonl'),
      lines('metrics.jsonl')
        .map((l) => {
          const r = JSON.parse(l) as { round: number; evaluate: { metrics: Record<string, number> } };
          r.evaluate.metrics.mia_auc = 0.5 + r.round / 100;
          return JSON.stringify({
            ...r,
            privacy: { epsilon: r.round * 0.5, delta: 1e-5 },
            clock: r.round * 12.5,
            faults: [{ hospital: 'kr-busan-1', kind: 'dropout' }],
          });
        })
        .join('\n') + '\n',
    );
    writeFileSync(
      join(copy, 'compliance.json'),
      JSON.stringify({
        CN: { policy: 'PIPL export rules', violations: 0 },
        KR: { policy: 'PIPA', violations: 0 },
      }),
    );
    const { file } = await writeReport(copy);
    const doc = parse(readFileSync(file, 'utf8'));
    expect(doc.querySelector('#extra-privacy figure.chart')).not.toBeNull();
    expect(
      doc.querySelectorAll('#extra-privacy td[data-value]').map((td) => td.getAttribute('data-value')),
    ).toEqual(['1e-5', '0.5', '1e-5', '1'].map((v) => String(Number(v))));
    expect(doc.querySelector('#extra-clock')).not.toBeNull();
    expect(doc.querySelector('#more-metrics')?.text).toContain('mia_auc');
    expect(doc.querySelector('#events')?.text).toContain('faults: dropout');
    expect(doc.querySelector('#compliance')?.text).toContain('PIPL export rules');
    expect(doc.querySelector('#traffic')?.text).toContain('research exemption');
    expect(doc.querySelector('#traffic')?.text).toContain('hash chain');
  });

  it('exits 2, naming the problem, for a missing folder, a folder of neither kind and a run of another version', async () => {
    const neither = join(tmp, 'neither');
    mkdirSync(neither);
    writeFileSync(join(neither, 'notes.txt'), 'hello');
    const old = join(tmp, 'old');
    cpSync(run, old, { recursive: true });
    rmSync(join(old, 'report.html'), { force: true });
    const manifest = JSON.parse(readFileSync(join(old, 'manifest.json'), 'utf8')) as { fedmed: string };
    writeFileSync(join(old, 'manifest.json'), JSON.stringify({ ...manifest, fedmed: '0.0.9' }));
    const cases: [string, RegExp][] = [
      [join(tmp, 'nowhere'), /nowhere: no such folder/],
      [neither, /neither a run folder \(no manifest.json\) nor a bench folder \(no bench.csv\)/],
      [old, /manifest.json: written by fedmed 0.0.9, which this fedmed 0.1.\d+ cannot report/],
    ];
    for (const [folder, message] of cases) {
      const stderr: string[] = [];
      const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
        stderr.push(String(s));
        return true;
      });
      try {
        expect(await main(['report', folder])).toBe(EXIT.badInput);
      } finally {
        spy.mockRestore();
      }
      expect(stderr.join('')).toMatch(message);
      expect(stderr.join('')).not.toMatch(/\n\s+at /);
    }
    expect(existsSync(join(old, 'report.html'))).toBe(false);
  });
});

describe('a run report in Chromium with the network refused', () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('requests nothing, draws every chart and renders Korean and Chinese names as glyphs', async () => {
    const names = Object.values(CJK_NAMES);
    const check = await inspectReport(browser, reportFile, names, 'run-report.png');
    expect(check.requests).toEqual([`file://${reportFile}`]);
    expect(check.charts.length).toBeGreaterThanOrEqual(8);
    for (const c of check.charts) expect(c.marks, c.key).toBeGreaterThan(0);
    expect(check.hospitalsOnMap).toBe(4);
    for (const f of check.fonts) {
      expect(f.custom, `${f.text}: ${f.families.join(', ')}`).toBe(true);
      expect(
        f.families.some((x) => /Noto Sans (KR|SC)/.test(x)),
        f.families.join(', '),
      ).toBe(true);
    }
    for (const g of check.glyphs) expect(g.differsFromBox, g.char).toBe(true);
  });
});
