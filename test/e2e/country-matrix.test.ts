import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import type { CountryMatrix } from '../../src/server/outputs/country-matrix.ts';
import { fedmed } from '../helpers/cli.ts';

/**
 * Each hospital's table: x1 and x2 independent standard normals; in Korea the outcome is the sign of x1 (plus a
 * little noise) and x2 is noise, in China the other way round. By construction a model trained in one country
 * alone has learnt nothing of the feature that decides the other's outcome.
 */
function writeTable(dir: string, id: string, decisive: 'x1' | 'x2', rows: number): void {
  const rng = stream(11, 'country-matrix-fixture', id);
  const lines = ['x1,x2,outcome'];
  for (let i = 0; i < rows; i++) {
    const x1 = rng.normal();
    const x2 = rng.normal();
    const y = (decisive === 'x1' ? x1 : x2) + 0.3 * rng.normal() > 0 ? 1 : 0;
    lines.push(`${x1.toFixed(4)},${x2.toFixed(4)},${y}`);
  }
  writeFileSync(join(dir, `${id}.csv`), lines.join('\n') + '\n');
}

describe('the country matrix', () => {
  it('shows each country-only model at chance on the other country when their outcomes depend on disjoint features', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-matrix-'));
    const hospitals = [
      ['kr-a', 'KR', 'x1'],
      ['kr-b', 'KR', 'x1'],
      ['cn-a', 'CN', 'x2'],
      ['cn-b', 'CN', 'x2'],
    ] as const;
    for (const [id, , decisive] of hospitals) writeTable(dir, id, decisive, 500);
    const scenario = {
      name: 'disjoint-countries',
      rounds: 8,
      minClients: 1,
      coordinator: { site: 'KR' },
      data: {
        kind: 'tabular',
        features: [
          { name: 'x1', type: 'numeric' },
          { name: 'x2', type: 'numeric' },
        ],
        outcome: { name: 'outcome', type: 'binary' },
        preprocessing: { scaling: 'none' },
      },
      hospitals: hospitals.map(([id, country]) => ({
        id,
        country,
        patients: 500,
        source: { kind: 'table', path: `${id}.csv` },
      })),
      model: { kind: 'logistic' },
      training: { localEpochs: 1, batchSize: 32, learningRate: 0.5, optimizer: 'sgd' },
      baselines: ['country-only', 'local-only'],
    };
    const file = join(dir, 'scenario.json');
    writeFileSync(file, JSON.stringify(scenario));
    const out = join(dir, 'out');
    const r = fedmed(['run', file, '--out', out, '--quiet', '--workers', '1', '--backend', 'js']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/auroc by country: trained on ↓ × evaluated on →\s+CN\s+KR/);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      countryMatrix: CountryMatrix;
    };
    const m = summary.countryMatrix;
    expect(m.metric).toBe('auroc');
    expect(m.evaluatedOn).toEqual(['CN', 'KR']);
    expect(m.rows.map((x) => x.trainedOn)).toEqual(['CN only', 'KR only', 'joint', 'local-only']);
    const at = (trainedOn: string, country: string) =>
      m.rows.find((x) => x.trainedOn === trainedOn)!.values[country]!;
    expect(at('KR only', 'KR')).toBeGreaterThan(0.9);
    expect(at('CN only', 'CN')).toBeGreaterThan(0.9);
    expect(Math.abs(at('KR only', 'CN') - 0.5)).toBeLessThan(0.15);
    expect(Math.abs(at('CN only', 'KR') - 0.5)).toBeLessThan(0.15);
    expect(at('KR only', 'KR') - at('KR only', 'CN')).toBeGreaterThan(0.3);
    expect(at('CN only', 'CN') - at('CN only', 'KR')).toBeGreaterThan(0.3);
    // The joint model weighs both features, so each country's noise feature costs it some of its own-country
    // score (about 0.75 for equal weights), but it is far from chance in both countries.
    expect(at('joint', 'KR')).toBeGreaterThan(at('CN only', 'KR') + 0.1);
    expect(at('joint', 'CN')).toBeGreaterThan(at('KR only', 'CN') + 0.1);
  }, 180_000);
});
