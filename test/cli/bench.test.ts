import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';

const tiny = {
  name: 'bench-tiny',
  rounds: 3,
  minClients: 2,
  backend: 'wasm',
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort' },
  hospitals: [
    { id: 'kr-1', country: 'KR', patients: 150 },
    { id: 'cn-1', country: 'CN', patients: 180 },
    { id: 'cn-2', country: 'CN', patients: 120 },
  ],
  model: { kind: 'logistic' },
  training: { learningRate: 0.2 },
};

/** A fresh folder holding the tiny scenario as `scenario.json`. */
function tinyScenario(prefix: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(tiny));
  return { dir, file };
}

describe('fedmed bench', () => {
  it('runs strategies × seeds with baselines, writes tables and plots, and reuses finished runs', () => {
    const { dir, file } = tinyScenario('fedmed-bench-');
    const args = [
      'bench',
      file,
      '--strategies',
      'fedavg,fedprox:proximalMu=0.5',
      '--seeds',
      '2',
      '--out',
      join(dir, 'out'),
      '--target',
      'auroc=0.6',
      '--workers',
      '2',
    ];
    const first = fedmed(args);
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/\[4\/4\] fedprox:proximalMu=0\.5 seed 2/);
    const md = readFileSync(join(dir, 'out/bench.md'), 'utf8');
    for (const arm of ['fedavg', 'fedprox:proximalMu=0.5', 'local-only', 'pooled'])
      expect(md).toContain(`| ${arm}`);
    expect(md).toMatch(/\d\.\d{3} ± \d\.\d{3}/);
    expect(md).not.toContain('NaN');
    expect(md).toContain('## Against fedavg');
    // Without score histograms there are no global columns, and the legend says no metric spans all patients.
    expect(md).not.toContain('global_auroc');
    expect(md).toContain('so no metric is computed over all patients at once');
    expect(first.stdout).toContain('## Against fedavg');
    expect(first.stdout).toMatch(/\| fedprox:proximalMu=0\.5 \| [+-]\d\.\d{3} ± \d\.\d{3}/);
    const csv = readFileSync(join(dir, 'out/bench.csv'), 'utf8');
    const manifest = JSON.parse(readFileSync(join(dir, 'out/fedavg/seed-1/manifest.json'), 'utf8'));
    // The bench's threads are balanced by declared patients as a run's are: 180 on one, 150 + 120 on the other.
    expect(manifest.workers.assignment).toEqual({ 'kr-1': 1, 'cn-1': 0, 'cn-2': 1 });
    const { federation, localOnly, pooled } = manifest.seconds;
    expect(Math.min(federation, localOnly, pooled)).toBeGreaterThan(0);
    expect(federation + localOnly + pooled).toBeLessThanOrEqual(manifest.wallSeconds);
    const seconds = (arm: string) =>
      Number(new RegExp(`^${arm},baseline,run,,seconds,([^,]+),`, 'm').exec(csv)?.[1]);
    expect(seconds('local-only')).toBeGreaterThan(0);
    expect(seconds('pooled')).toBeGreaterThan(0);
    expect(csv.split('\n')[0]).toBe('arm,kind,scope,hospital,metric,mean,lower,upper,n,seeds');
    expect(readFileSync(join(dir, 'out/auroc-vs-round.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(dir, 'out/auroc-vs-round.svg'), 'utf8')).toContain('fedprox');

    const second = fedmed(args);
    expect(second.code).toBe(0);
    expect(second.stderr.match(/\(reused\)/g)).toHaveLength(4);
    expect(readFileSync(join(dir, 'out/bench.csv'), 'utf8')).toBe(csv);
  });

  it('settles a grid arm on tuning seeds, runs the chosen candidate on the others, and reuses everything', () => {
    const { dir, file } = tinyScenario('fedmed-bench-grid-');
    const out = join(dir, 'out');
    const args = [
      'bench',
      file,
      '--strategies',
      'fedavg,fedprox:proximalMu=0|2',
      '--tune-seeds',
      '7,8',
      '--seeds',
      '1,2',
      '--baselines',
      '',
      '--workers',
      '2',
      '--out',
      out,
    ];
    const first = fedmed(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr.match(/^\[tuning \d\/4\] fedprox:proximalMu=(0|2) seed (7|8)/gm)).toHaveLength(4);
    expect(first.stdout).toContain('## Grids settled on tuning seeds 7, 8');
    const csv = readFileSync(join(out, 'bench.csv'), 'utf8').split('\n');
    const tuning = csv.filter((l) => /^fedprox:proximalMu=(0|2),strategy,tuning(-chosen)?,/.test(l));
    expect(tuning).toHaveLength(2);
    const chosen = tuning.filter((l) => l.includes(',tuning-chosen,')).map((l) => l.split(',')[0]!);
    expect(chosen).toHaveLength(1);
    const md = readFileSync(join(out, 'bench.md'), 'utf8');
    expect(md).toContain(`| ${chosen[0]} | 2 |`);
    expect(md).toContain(`## Against fedavg`);
    for (const seed of [7, 8]) {
      for (const mu of [0, 2])
        expect(existsSync(join(out, `tuning/fedprox_proximalMu=${mu}/seed-${seed}`))).toBe(true);
      expect(existsSync(join(out, `fedavg/seed-${seed}`))).toBe(false);
    }
    const second = fedmed(args);
    expect(second.code).toBe(0);
    expect(second.stderr.match(/\(reused\)/g)).toHaveLength(8);
  });

  it.each([
    [
      'an unknown parameter value',
      ['--strategies', 'fedavg,fedtrimmedavg:beta=0.6'],
      /fedtrimmedavg:beta=0\.6: beta: beta must be in \[0, 0\.5\)/,
    ],
    [
      'a reference that is not one of the arms',
      ['--strategies', 'fedavg,fedprox', '--reference', 'scaffold'],
      /--reference: "scaffold" is not one of the --strategies arms: fedavg, fedprox/,
    ],
    [
      'a grid without tuning seeds',
      ['--strategies', 'fedavg,fedprox:proximalMu=0|2', '--seeds', '1'],
      /lists several values, so --tune-seeds must name the seeds that choose one/,
    ],
    [
      'tuning seeds among the reported ones',
      ['--strategies', 'fedavg,fedprox:proximalMu=0|2', '--seeds', '1,2', '--tune-seeds', '2,9'],
      /--tune-seeds: seed 2 is also in --seeds/,
    ],
  ])('rejects %s with exit code 2 before running anything', (_what, flags, message) => {
    const { dir, file } = tinyScenario('fedmed-bench-bad-');
    const out = join(dir, 'out');
    const r = fedmed(['bench', file, ...flags, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });
});
