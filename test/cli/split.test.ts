import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { fedmed } from '../helpers/cli.ts';
import { SKLEARN_DATA } from '../helpers/sklearn-data.ts';

/** Every file under `dir` with the hash of its bytes. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      const path = join(e.parentPath, e.name);
      out[path.slice(dir.length)] = sha256(readFileSync(path));
    }
  }
  return out;
}

describe('fedmed split divides one pooled dataset into hospitals that a scenario reads', () => {
  it('an image folder: the same seed gives the same files; the scenario reads each hospital its own folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-split-'));
    mkdirSync(join(dir, 'pool'));
    const rows = ['file,label'];
    for (let i = 0; i < 60; i++) {
      const png = new PNG({ width: 6, height: 5 });
      png.data.fill(i * 4);
      writeFileSync(join(dir, 'pool', `${i}.png`), PNG.sync.write(png));
      rows.push(`${i}.png,${['cat', 'dog', 'eel'][i % 3]}`);
    }
    writeFileSync(join(dir, 'pool', 'labels.csv'), rows.join('\n') + '\n');
    const split = (out: string) =>
      fedmed([
        'split',
        join(dir, 'pool'),
        '--hospitals',
        '3',
        '--partition',
        'dirichlet',
        '--alpha',
        '0.3',
        '--seed',
        '9',
        '--out',
        join(dir, out),
      ]);
    const a = split('a');
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(split('b').code).toBe(0);
    expect(tree(join(dir, 'a'))).toEqual(tree(join(dir, 'b')));
    const scenario = parseScenario(JSON.parse(readFileSync(join(dir, 'a', 'scenario.json'), 'utf8')));
    expect(scenario.data).toMatchObject({
      kind: 'image-folder',
      height: 5,
      width: 6,
      outcome: { classes: ['cat', 'dog', 'eel'] },
    });
    expect(scenario.hospitals.map((h) => h.source)).toEqual(
      [1, 2, 3].map((k) => expect.objectContaining({ kind: 'image-folder', folder: `hospital-${k}` })),
    );
    const held = [1, 2, 3].map(
      (k) =>
        readFileSync(join(dir, 'a', `hospital-${k}`, 'labels.csv'), 'utf8')
          .trim()
          .split('\n').length - 1,
    );
    expect(held.reduce((x, y) => x + y, 0)).toBe(60);
    expect(existsSync(join(dir, 'a', 'hospital-1', 'labels.csv'))).toBe(true);
  });

  it.skipIf(!existsSync(SKLEARN_DATA))(
    'a CSV (wine), pathological: each hospital holds exactly 2 of the 3 cultivars',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-split-'));
      const lines = readFileSync(join(SKLEARN_DATA, 'wine_data.csv'), 'utf8').trim().split('\n').slice(1);
      writeFileSync(
        join(dir, 'wine.csv'),
        [
          'alcohol,malic acid,' + Array.from({ length: 11 }, (_, k) => `f${k}`).join(',') + ',cultivar',
          ...lines,
        ].join('\n') + '\n',
      );
      const r = fedmed([
        'split',
        join(dir, 'wine.csv'),
        '--hospitals',
        '3',
        '--partition',
        'pathological',
        '--classes-per-hospital',
        '2',
        '--out',
        join(dir, 'out'),
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const scenario = parseScenario(JSON.parse(readFileSync(join(dir, 'out', 'scenario.json'), 'utf8')));
      expect(scenario.data).toMatchObject({
        kind: 'tabular',
        outcome: { type: 'multiclass', classes: ['0', '1', '2'] },
      });
      const source = scenario.hospitals[0]!.source as { columns: Record<string, string> };
      expect(source.columns).toMatchObject({ malic_acid: 'malic acid', outcome: 'cultivar' });
      for (const k of [1, 2, 3]) {
        const rows = readFileSync(join(dir, 'out', `hospital-${k}`, 'data.csv'), 'utf8')
          .trim()
          .split('\n')
          .slice(1);
        expect(new Set(rows.map((l) => l.split(',').at(-1))).size).toBe(2);
      }
    },
  );
});
