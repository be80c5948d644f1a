import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchPlotSpec, writeBenchPlots } from '../../../src/server/bench/plots.ts';
import { meanCi } from '../../../src/server/bench/stats.ts';
import { RUNS } from './fixtures.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function layerValues(metric: string, layer: number): Record<string, unknown>[] {
  const spec = benchPlotSpec(RUNS, metric);
  if (spec === undefined || !('layer' in spec)) throw new Error('expected a layered spec');
  const data = spec.layer[layer]?.data;
  if (data === undefined || data === null || !('values' in data) || !Array.isArray(data.values)) {
    throw new Error('expected inline values');
  }
  return data.values as Record<string, unknown>[];
}

describe('benchPlotSpec', () => {
  it('draws bands from the same Student t intervals as the tables', () => {
    // fedavg round 2: 0.75, 0.72, 0.75 over seeds 1, 2, 3.
    const band = layerValues('auroc', 0).find((r) => r.arm === 'fedavg' && r.round === 2);
    const ci = meanCi([0.75, 0.72, 0.75]);
    expect(band).toEqual({ arm: 'fedavg', round: 2, lower: ci.lower, upper: ci.upper, colour: '#4c78a8' });
    // Only seed 2 of fedavg reaches rounds 5 and 6: a line point but no band.
    expect(layerValues('auroc', 0).some((r) => r.arm === 'fedavg' && r.round === 5)).toBe(false);
    expect(layerValues('auroc', 1).find((r) => r.arm === 'fedavg' && r.round === 5)).toMatchObject({
      mean: 0.8,
      n: 1,
    });
  });

  it('puts each baseline at its mean final value', () => {
    expect(layerValues('auroc', 2)).toEqual([
      { arm: 'local-only', mean: 0.75, n: 1 },
      { arm: 'pooled', mean: 0.93, n: 1 },
    ]);
  });

  it('is undefined for a metric no run reports', () => {
    expect(benchPlotSpec(RUNS, 'f1')).toBeUndefined();
  });
});

describe('writeBenchPlots', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmed-plots-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders an SVG naming every arm and a PNG, the same bytes twice', async () => {
    const files = await writeBenchPlots(dir, RUNS, 'auroc');
    expect(files).toEqual({ svg: join(dir, 'auroc-vs-round.svg'), png: join(dir, 'auroc-vs-round.png') });
    if (files === undefined) return;
    const svg = readFileSync(files.svg, 'utf8');
    for (const name of ['fedavg', 'fedprox', 'local-only', 'pooled', 'AUROC vs round', 'round']) {
      expect(svg).toContain(name);
    }
    expect(svg).not.toContain('NaN');
    const png = readFileSync(files.png);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);

    await writeBenchPlots(
      dir,
      [...RUNS].reverse().sort((a, b) => (a.arm < b.arm ? -1 : 1)),
      'auroc',
    );
    expect(readFileSync(files.svg, 'utf8')).toBe(svg);
    expect(readFileSync(files.png).equals(png)).toBe(true);
  });

  it('shows long arm labels and the legend title whole', async () => {
    const label = 'fedadam:eta=0.01:tau=0.001:beta1=0.9';
    const runs = RUNS.map((r) => (r.arm === 'fedprox' ? { ...r, arm: label } : r));
    const files = await writeBenchPlots(dir, runs, 'auroc');
    const svg = readFileSync(files!.svg, 'utf8');
    expect(svg).toContain(label);
    expect(svg).toContain('arm (dashed: baseline)');
    expect(svg).not.toContain('…');
  });

  it('writes nothing for a metric no run reports', async () => {
    expect(await writeBenchPlots(dir, RUNS, 'f1')).toBeUndefined();
  });
});
