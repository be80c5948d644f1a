import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';

interface CsvRow {
  readonly arm: string;
  readonly scope: string;
  readonly metric: string;
  readonly mean: number;
  readonly lower: number;
  readonly upper: number;
  readonly n: number;
}

function readCsv(file: string): CsvRow[] {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const names = header!.split(',');
  return lines.map((line) => {
    const cells = Object.fromEntries(line.split(',').map((v, i) => [names[i], v]));
    return {
      arm: cells.arm!,
      scope: cells.scope!,
      metric: cells.metric!,
      mean: Number(cells.mean),
      lower: Number(cells.lower),
      upper: Number(cells.upper),
      n: Number(cells.n),
    };
  });
}

describe('fedmed bench on scenarios/non-iid.json (Dirichlet α = 0.1, 10 local epochs), as the README runs it', () => {
  it("FedProx, its μ settled on tuning seeds, beats FedAvg's final accuracy over 5 seeds with non-overlapping 95% CIs", () => {
    const out = join(mkdtempSync(join(tmpdir(), 'fedmed-non-iid-')), 'bench');
    const r = fedmed([
      'bench',
      'scenarios/non-iid.json',
      '--workers',
      '2',
      '--seeds',
      '5',
      '--tune-seeds',
      '101,102,103',
      '--strategies',
      'fedavg,fedprox:proximalMu=0.01|0.1|1,scaffold,fedadam:eta=0.01|0.03|0.1:tau=0.001|1e-9',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rows = readCsv(join(out, 'bench.csv'));
    const fedproxArm = rows.find((x) => x.scope === 'tuning-chosen' && x.arm.startsWith('fedprox:'))!.arm;
    const accuracy = (arm: string) =>
      rows.find((x) => x.arm === arm && x.scope === 'overall' && x.metric === 'accuracy')!;
    const fedavg = accuracy('fedavg');
    const fedprox = accuracy(fedproxArm);
    console.table([fedavg, fedprox]);
    expect([fedavg.n, fedprox.n]).toEqual([5, 5]);
    expect(fedprox.lower).toBeGreaterThan(fedavg.upper);
    const delta = rows.find(
      (x) => x.arm === fedproxArm && x.scope === 'vs-reference' && x.metric === 'delta-accuracy',
    )!;
    expect(delta.lower).toBeGreaterThan(0);
    const md = readFileSync(join(out, 'bench.md'), 'utf8');
    expect(md).toMatch(
      new RegExp(`\\| ${fedproxArm} \\| \\+\\d\\.\\d{3} ± \\d\\.\\d{3} ▲ \\|.*\\| accuracy`),
    );
    expect(md).toContain('## Grids settled on tuning seeds 101, 102, 103');
  });
});
