import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  benchOverview,
  BenchInputError,
  summarize,
  writeBenchTables,
} from '../../../src/server/bench/report.ts';
import { finalOnly, PAIRED, RUNS } from './fixtures.ts';

// Student t quantiles t(0.975, df), from tables.
const T2 = 4.302653;
const T1 = 12.706205;

describe('summarize', () => {
  const table = summarize(RUNS, { target: { metric: 'auroc', value: 0.8 } });
  const row = (arm: string) => {
    const r = table.rows.find((x) => x.arm === arm);
    if (r === undefined) throw new Error(`no row ${arm}`);
    return r;
  };

  it('orders strategies as given, then baselines, and lists hospitals by id', () => {
    expect(table.rows.map((r) => [r.arm, r.kind, r.seeds])).toEqual([
      ['fedavg', 'strategy', 3],
      ['fedprox', 'strategy', 3],
      ['local-only', 'baseline', 1],
      ['pooled', 'baseline', 1],
    ]);
    expect(table.hospitals).toEqual(['cn-a', 'kr-b']);
    // global_auprc is a default metric too, but no run reports it.
    expect(table.metrics).toEqual(['accuracy', 'auroc', 'auprc', 'global_auroc']);
  });

  it('averages final overall metrics with a Student t interval', () => {
    const acc = row('fedavg').overall.accuracy;
    // 0.80, 0.82, 0.84: mean 0.82, sd 0.02.
    expect(acc?.mean).toBeCloseTo(0.82, 12);
    expect(acc?.halfWidth).toBeCloseTo((T2 * 0.02) / Math.sqrt(3), 6);
    // fedprox 0.81, 0.81, 0.84: sd √0.0003.
    expect(row('fedprox').overall.accuracy?.halfWidth).toBeCloseTo(
      (T2 * Math.sqrt(0.0003)) / Math.sqrt(3),
      6,
    );
  });

  it('leaves out a metric no seed reported and ignores NaN', () => {
    expect(row('fedavg').overall.auprc).toBeUndefined();
    const auprc = row('fedprox').overall.auprc;
    // 0.5 and 0.6 (seed 3 reported NaN): n = 2, sd √0.005.
    expect(auprc?.n).toBe(2);
    expect(auprc?.mean).toBeCloseTo(0.55, 12);
    expect(auprc?.halfWidth).toBeCloseTo((T1 * Math.sqrt(0.005)) / Math.sqrt(2), 6);
  });

  it('takes the worst hospital per seed, then the mean over seeds', () => {
    // Accuracy minima per seed: kr-b 0.70, kr-b 0.78, cn-a 0.86 → mean 0.78, sd 0.08.
    const worst = row('fedavg').worstHospital.accuracy;
    expect(worst?.mean).toBeCloseTo(0.78, 12);
    expect(worst?.halfWidth).toBeCloseTo((T2 * 0.08) / Math.sqrt(3), 6);
    // AUROC minima: 0.80, 0.82, 0.84.
    expect(row('fedavg').worstHospital.auroc?.mean).toBeCloseTo(0.82, 12);
    expect(row('fedprox').worstHospital.auroc).toBeUndefined();
  });

  it('keeps per-hospital estimates', () => {
    const cnA = row('fedavg').hospitals['cn-a'];
    expect(cnA?.accuracy?.mean).toBeCloseTo(0.88, 12);
    expect(cnA?.auroc).toEqual({ mean: 0.9, n: 3, sd: 0, lower: 0.9, upper: 0.9, halfWidth: 0 });
    expect(row('local-only').hospitals['kr-b']?.accuracy).toEqual({ mean: 0.6, n: 1 });
  });

  it('counts rounds to the target over the seeds that reached it', () => {
    // fedavg: round 3, round 5 (0.80 counts), never → 2/3, mean 4, sd √2.
    const t = row('fedavg').target;
    expect(t?.reached).toBe(2);
    expect(t?.of).toBe(3);
    expect(t?.rounds?.mean).toBe(4);
    expect(t?.rounds?.halfWidth).toBeCloseTo(T1, 5);
    expect(row('fedprox').target).toEqual({
      reached: 3,
      of: 3,
      rounds: { mean: 2, n: 3, sd: 0, lower: 2, upper: 2, halfWidth: 0 },
    });
    expect(row('local-only').target).toBeUndefined();
  });

  it('gives simulated seconds to the target when the runs had a virtual clock', () => {
    const timed = (seed: number, reachedAt: number, secondsPerRound: number) => ({
      ...finalOnly('fedprox', seed, { auroc: 0.9 }),
      curve: [1, 2, 3].map((round) => ({
        round,
        metrics: { auroc: round >= reachedAt ? 0.85 : 0.5 },
        simulatedSeconds: round * secondsPerRound,
      })),
    });
    const table = summarize([timed(1, 2, 10), timed(2, 3, 10)], { target: { metric: 'auroc', value: 0.8 } });
    // 20 s and 30 s: mean 25.
    expect(table.rows[0]!.target?.simulatedSeconds?.mean).toBe(25);
    expect(benchOverview(table)).toMatch(/2\.5 ± [0-9.]+, 25\.0 ± [0-9.]+ simulated s \(2\/2 reached\)/);
  });

  it('averages bytes and seconds', () => {
    expect(row('fedavg').bytes).toEqual({ total: 4000, crossBorder: 2000 });
    expect(row('fedavg').seconds).toBe(11);
  });

  it('does not depend on the order of the runs within an arm', () => {
    // Reversed, fedprox appears first; each arm's numbers must be identical to the last bit.
    expect(
      summarize([...RUNS].reverse(), { target: { metric: 'auroc', value: 0.8 } }).rows.slice(0, 2),
    ).toEqual(table.rows.slice(0, 2).reverse());
  });

  it('rejects duplicate seeds and an arm of two kinds', () => {
    const [first] = RUNS;
    if (first === undefined) throw new Error('no runs');
    expect(() => summarize([first, first])).toThrow(BenchInputError);
    expect(() => summarize([first, { ...first, seed: 2, kind: 'strategy' }])).toThrow(/kind 'strategy'/);
  });
});

describe('summarize: comparison with a reference arm', () => {
  const table = summarize(RUNS);
  const versus = (t: typeof table, arm: string) => {
    const a = t.comparison?.arms.find((x) => x.arm === arm);
    if (a === undefined) throw new Error(`no comparison for ${arm}`);
    return a.metrics;
  };

  it('compares the other strategies with the first, paired by seed', () => {
    expect(table.comparison?.reference).toBe('fedavg');
    expect(table.comparison?.arms.map((a) => a.arm)).toEqual(['fedprox']);
    // Accuracy fedprox − fedavg per seed: 0.81 − 0.80, 0.81 − 0.82, 0.84 − 0.84 = 0.01, −0.01, 0: sd 0.01.
    const acc = versus(table, 'fedprox').accuracy;
    expect(acc?.difference.n).toBe(3);
    expect(acc?.difference.mean).toBeCloseTo(0, 12);
    expect(acc?.difference.halfWidth).toBeCloseTo((T2 * 0.01) / Math.sqrt(3), 6);
    expect(acc?.direction).toBe('unclear');
    expect(acc?.separated).toBe(false);
  });

  it('finds a difference the pairing reveals although the unpaired CIs overlap', () => {
    // AUROC: fedprox is 0.03 higher on every seed; unpaired 0.860 ± 0.025 and 0.890 ± 0.025 overlap.
    const auroc = versus(table, 'fedprox').auroc;
    expect(auroc?.difference.mean).toBeCloseTo(0.03, 12);
    expect(auroc?.difference.halfWidth).toBeCloseTo(0, 12);
    expect(auroc?.direction).toBe('better');
    expect(auroc?.separated).toBe(false);
    // No seed of fedavg reports AUPRC.
    expect(versus(table, 'fedprox').auprc).toBeUndefined();
  });

  it('takes the reference it is given', () => {
    const t = summarize(RUNS, { reference: 'fedprox' });
    expect(t.comparison?.reference).toBe('fedprox');
    expect(versus(t, 'fedavg').auroc?.difference.mean).toBeCloseTo(-0.03, 12);
    expect(versus(t, 'fedavg').auroc?.direction).toBe('worse');
  });

  it('marks separated CIs and reads losses as lower-is-better', () => {
    const t = summarize(PAIRED, { metrics: ['accuracy', 'loss'] });
    const b = versus(t, 'b');
    // Accuracy +0.1 on every seed; unpaired 0.71 ± 0.025 and 0.81 ± 0.025 are apart.
    expect(b.accuracy?.difference.mean).toBeCloseTo(0.1, 12);
    expect(b.accuracy?.separated).toBe(true);
    expect(b.accuracy?.direction).toBe('better');
    // Loss b − a: −0.10, −0.09, −0.08 → −0.09 ± t·0.01/√3, below 0: lower loss is better. The unpaired
    // intervals 0.52 ± 0.050 and 0.43 ± 0.075 overlap.
    expect(b.loss?.difference.mean).toBeCloseTo(-0.09, 12);
    expect(b.loss?.difference.halfWidth).toBeCloseTo((T2 * 0.01) / Math.sqrt(3), 6);
    expect(b.loss?.direction).toBe('better');
    expect(b.loss?.separated).toBe(false);
    const reversed = versus(summarize(PAIRED, { metrics: ['accuracy', 'loss'], reference: 'b' }), 'a');
    expect(reversed.loss?.direction).toBe('worse');
    expect(reversed.accuracy?.direction).toBe('worse');
    expect(reversed.accuracy?.separated).toBe(true);
  });

  it('pairs only the seeds both arms have', () => {
    // c has seeds 2–4, a 1–3: c − a over seeds 2 and 3 is 0.05, 0.05; seed 4 (0.5) does not count.
    const c = versus(summarize(PAIRED, { metrics: ['accuracy', 'loss'] }), 'c');
    expect(c.accuracy?.difference.n).toBe(2);
    expect(c.accuracy?.difference.mean).toBeCloseTo(0.05, 12);
    expect(c.accuracy?.separated).toBe(false);
    // c reports no loss.
    expect(c.loss).toBeUndefined();
  });

  it('has no comparison with a single strategy', () => {
    const one = RUNS.filter((r) => r.arm !== 'fedprox');
    expect(summarize(one).comparison).toBeUndefined();
    expect(summarize(one, { reference: 'fedavg' }).comparison).toBeUndefined();
  });

  it('rejects a reference that is not a strategy arm, naming it and the arms', () => {
    const message =
      "reference 'fedsgd' is not a strategy arm of this bench; strategy arms: 'fedavg', 'fedprox'";
    expect(() => summarize(RUNS, { reference: 'fedsgd' })).toThrow(new BenchInputError(message, 'fedsgd'));
    expect(() => summarize(RUNS, { reference: 'fedsgd' })).toThrow(BenchInputError);
    expect(() => summarize(RUNS, { reference: 'pooled' })).toThrow(/'pooled' is not a strategy arm/);
  });
});

describe('writeBenchTables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedmed-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const files = writeBenchTables(dir, summarize(RUNS, { target: { metric: 'auroc', value: 0.8 } }));
  const md = readFileSync(files.markdown, 'utf8');
  const csv = readFileSync(files.csv, 'utf8');
  const mdLine = (start: string) => md.split('\n').find((l) => l.startsWith(start)) ?? '';

  it('writes the overall table with formatted estimates', () => {
    expect(files.markdown).toBe(join(dir, 'bench.md'));
    const header = mdLine('| arm |');
    expect(header).toContain('| worst hospital accuracy |');
    expect(header).toContain('| rounds to auroc ≥ 0.8 |');
    expect(header).toContain('| auprc | global_auroc | worst hospital accuracy |');
    expect(header).not.toContain('worst hospital global_');
    expect(mdLine('| fedavg |')).toBe(
      '| fedavg | 3 | 0.820 ± 0.050 | 0.860 ± 0.025 | — | 0.840 ± 0.025 | 0.780 ± 0.199 | 0.820 ± 0.050 | — | ' +
        '4.0 ± 12.7 (2/3 reached) | 2.0 kB | 11.0 |',
    );
    expect(mdLine('| fedprox |')).toContain('| 0.820 ± 0.043 | 0.890 ± 0.025 | 0.550 ± 0.635 (n=2) |');
    expect(mdLine('| fedprox |')).toContain('| 2.0 ± 0.0 (3/3 reached) | 3.0 kB | 20.0 |');
    expect(mdLine('| local-only (baseline) |')).toBe(
      '| local-only (baseline) | 1 | 0.700 (n=1) | 0.750 (n=1) | — | — | 0.600 (n=1) | 0.700 (n=1) | — | — | 0 B | 2.0 |',
    );
    expect(md).toContain('| pooled (baseline †) |');
  });

  it('writes a per-hospital table and a legend', () => {
    expect(md).toContain('| hospital | arm | accuracy | auroc | auprc |');
    expect(md).toContain('| cn-a | fedavg | 0.880 ± 0.050 | 0.900 ± 0.000 | — |');
    expect(md).toContain('| kr-b | local-only (baseline) | 0.600 (n=1) | 0.700 (n=1) | — |');
    expect(md).toContain('two-sided Student t 95% confidence interval');
    expect(md).toContain('over the N seeds of its arm (N is the seeds column: 1, 3)');
    expect(md).toContain('example-weighted means of per-hospital metrics');
    expect(md).toContain('sovereignty violation');
  });

  it('writes one CSV row per arm × metric with mean, lower, upper and n', () => {
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('arm,kind,scope,hospital,metric,mean,lower,upper,n,seeds');
    const fedavgAcc = lines.find((l) => l.startsWith('fedavg,strategy,overall,,accuracy,'))?.split(',') ?? [];
    expect(Number(fedavgAcc[5])).toBeCloseTo(0.82, 12);
    expect(Number(fedavgAcc[6])).toBeCloseTo(0.82 - (T2 * 0.02) / Math.sqrt(3), 6);
    expect(Number(fedavgAcc[7])).toBeCloseTo(0.82 + (T2 * 0.02) / Math.sqrt(3), 6);
    expect(fedavgAcc.slice(8)).toEqual(['3', '3']);
    expect(lines).toContain('fedavg,strategy,overall,,auprc,,,,0,3');
    expect(lines).toContain('local-only,baseline,overall,,accuracy,0.7,,,1,1');
    const rounds =
      lines.find((l) => l.startsWith('fedavg,strategy,run,,rounds-to-auroc>=0.8,'))?.split(',') ?? [];
    expect(rounds[5]).toBe('4');
    expect(Number(rounds[7])).toBeCloseTo(4 + T1, 5);
    expect(rounds.slice(8)).toEqual(['2', '3']);
    expect(lines).toContain('fedavg,strategy,run,,bytes-cross-border,2000,,,3,3');
    // Per arm: four overall, three worst-hospital (global_… metrics have none), three per hospital for two
    // hospitals, three run rows; fedavg and fedprox a target row; fedprox one vs-reference row per metric.
    expect(lines).toHaveLength(1 + 4 * (4 + 3 + 2 * 3 + 3) + 2 + 4);
    expect(lines.some((l) => /,(worst-hospital|hospital),.*,global_/.test(l))).toBe(false);
  });

  it('writes the comparison with the reference between the main and per-hospital tables', () => {
    const at = (s: string) => md.indexOf(s);
    expect(at('## Against fedavg')).toBeGreaterThan(at('| fedavg |'));
    expect(at('## Against fedavg')).toBeLessThan(at('## Per hospital'));
    expect(md).toContain(
      '| arm | Δ accuracy (paired) | Δ auroc (paired) | Δ auprc (paired) | Δ global_auroc (paired) | ' +
        'CIs separate |\n|---|---|---|---|---|---|\n' +
        '| fedprox | +0.000 ± 0.025 | +0.030 ± 0.000 ▲ | — | — | — |\n',
    );
    expect(md).toContain('mean over the seeds both arms ran');
    expect(md).toContain('Student t 95% interval of those differences (n − 1 degrees of freedom');
    expect(md).toContain('▲ / ▼: the interval excludes 0');
    expect(md).toContain('"CIs separate" lists the metrics whose unpaired 95% intervals');
  });

  it('gives the main table and the comparison, without the rest, as the overview', () => {
    const overview = benchOverview(summarize(RUNS, { target: { metric: 'auroc', value: 0.8 } }));
    expect(md.startsWith(overview)).toBe(true);
    expect(overview).toMatch(/^# Bench\n\n\| arm \|/);
    expect(overview).toContain('| pooled (baseline †) |');
    expect(overview).toMatch(/## Against fedavg\n\n(\|.*\|\n){3}$/);
    expect(overview).not.toContain('## Per hospital');
  });

  it('lists separated metrics, marks worse arms and paired counts below the seeds', () => {
    const out = join(dir, 'paired');
    const text = readFileSync(
      writeBenchTables(out, summarize(PAIRED, { metrics: ['accuracy', 'loss'], reference: 'b' })).markdown,
      'utf8',
    );
    expect(text).toContain('## Against b\n');
    expect(text).toContain('| a | -0.100 ± 0.000 ▼ | +0.090 ± 0.025 ▼ | accuracy |');
    // c's seed 4 (0.5) widens its unpaired interval to 0.677 ± 0.380; the pairing ignores that seed.
    expect(text).toContain('| c | -0.050 ± 0.000 (n=2) ▼ | — | — |');
  });

  it('writes the paired differences as vs-reference CSV rows', () => {
    const lines = csv.trimEnd().split('\n');
    const auroc =
      lines.find((l) => l.startsWith('fedprox,strategy,vs-reference,,delta-auroc,'))?.split(',') ?? [];
    expect(Number(auroc[5])).toBeCloseTo(0.03, 12);
    expect(Number(auroc[6])).toBeGreaterThan(0);
    expect(auroc.slice(8)).toEqual(['3', '3']);
    const acc =
      lines.find((l) => l.startsWith('fedprox,strategy,vs-reference,,delta-accuracy,'))?.split(',') ?? [];
    expect(Number(acc[7]) - Number(acc[6])).toBeCloseTo((2 * T2 * 0.01) / Math.sqrt(3), 6);
    expect(lines).toContain('fedprox,strategy,vs-reference,,delta-auprc,,,,0,3');
    expect(lines.some((l) => l.startsWith('fedavg,strategy,vs-reference,'))).toBe(false);
  });

  it('never writes NaN', () => {
    expect(md).not.toMatch(/NaN|undefined|Infinity/);
    expect(csv).not.toMatch(/NaN|undefined|Infinity/);
  });
});

describe('bench metrics follow the outcome', () => {
  const run = (arm: string, seed: number, metrics: Record<string, number>) => ({
    arm,
    seed,
    kind: 'strategy' as const,
    curve: [],
    final: { metrics, hospitals: { 'h-1': metrics } },
    bytes: { total: 0, crossBorder: 0 },
    seconds: 1,
  });

  it('a continuous outcome is tabled in R², MSE and MAE, and a lower error is the better one', () => {
    const runs = [1, 2].flatMap((seed) => [
      run('fedavg', seed, { r2: 0.5, mse: 2 + seed, mae: 1, global_r2: 0.5 }),
      run('fedprox', seed, { r2: 0.6, mse: 1 + seed, mae: 1, global_r2: 0.6 }),
    ]);
    const table = summarize(runs, { head: { kind: 'continuous' } });
    expect(table.metrics).toEqual(['r2', 'mse', 'mae', 'global_r2']);
    const fedprox = table.comparison!.arms.find((r) => r.arm === 'fedprox')!;
    expect(fedprox.metrics.mse!.difference.mean).toBe(-1);
    expect(fedprox.metrics.mse!.direction).toBe('better');
  });

  it('a multi-class outcome is tabled in accuracy, balanced accuracy and macro AUROC', () => {
    const table = summarize(
      [run('fedavg', 1, { accuracy: 0.9, balanced_accuracy: 0.8, auroc_macro: 0.95 })],
      {
        head: { kind: 'multiclass', classes: 3 },
      },
    );
    expect(table.metrics).toEqual(['accuracy', 'balanced_accuracy', 'auroc_macro']);
  });
});
