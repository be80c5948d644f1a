import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';
import {
  diabetesData,
  digitsData,
  SKLEARN_DATA,
  wineData,
  writeDiabetes,
  writeDigits,
  writeWine,
} from '../helpers/sklearn-data.ts';

/** NumPy's pooled training-split means and standard deviations (scripts/own-data-stats.py), not fedmed's. */
const numpy = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/own-data/train-stats.json'), 'utf8'),
) as Record<'wine' | 'diabetes', { mean: Record<string, number>; sd: Record<string, number> }>;

const json = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

interface Ran {
  readonly code: number | null;
  readonly stderr: string;
  readonly manifest: {
    preprocessing: {
      scaling: string;
      federated: boolean;
      columns: string[];
      mean: number[];
      sd: number[];
      transformSha256: string;
      missing?: Record<string, Record<string, number>>;
    };
  };
  readonly summary: {
    federated: { metrics: Record<string, number>; confusion?: number[] };
    pooled: { metrics: Record<string, number> };
  };
  readonly out: string;
}

/** Writes the scenario beside the hospitals' files and runs `fedmed run` on it with the pooled baseline. */
function run(dir: string, scenario: object): Ran {
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify(scenario));
  const out = join(dir, 'out');
  const r = fedmed(['run', file, '--out', out, '--quiet', '--baselines', 'pooled', '--workers', '2']);
  if (r.code !== 0) return { code: r.code, stderr: r.stderr } as Ran;
  return {
    code: r.code,
    stderr: r.stderr,
    manifest: json(join(out, 'manifest.json')),
    summary: json(join(out, 'summary.json')),
    out,
  };
}

const base = {
  seed: 3,
  minClients: 3,
  backend: 'js',
  coordinator: { site: 'neutral' },
};

/** A run with the pooled baseline takes ~15–45 s on 2 cores; more on a machine shared with other work. */
const RUN_TIMEOUT = 300_000;

/**
 * `fedmed evaluate` on a hospital's held-out rows alone (written to a file of their own, in its own names and
 * codes) must reproduce exactly what that hospital reported for the final model in the run's last round.
 */
function expectEvaluateMatchesRun(
  ran: Ran,
  hospital: string,
  data: string,
  extra: readonly string[] = [],
): void {
  const metricsOut = join(ran.out, '..', `evaluate-${hospital}.json`);
  const r = fedmed([
    'evaluate',
    ran.out,
    '--data',
    data,
    '--hospital',
    hospital,
    '--out',
    metricsOut,
    ...extra,
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const scored = json(metricsOut) as { numExamples: number; metrics: Record<string, number> };
  const rounds = readFileSync(join(ran.out, 'metrics.jsonl'), 'utf8').trim().split('\n');
  const last = JSON.parse(rounds[rounds.length - 1]!) as {
    evaluate: { hospitals: Record<string, { numExamples: number; metrics: Record<string, number> }> };
  };
  expect(scored.numExamples).toBe(last.evaluate.hospitals[hospital]!.numExamples);
  expect(scored.metrics).toEqual(last.evaluate.hospitals[hospital]!.metrics);
}

/** The rows of a CSV (plain, unquoted cells) whose `column` is `value`, with its header, as a new file. */
function writeRowsWhere(from: string, to: string, column: string, value: string): string {
  const [header, ...rows] = readFileSync(from, 'utf8').trim().split('\n');
  const at = header!.split(',').indexOf(column);
  writeFileSync(to, [header, ...rows.filter((r) => r.split(',')[at] === value)].join('\n') + '\n');
  return to;
}

/** Federated means and SDs by column name, beside NumPy's, within 1e-9. */
function expectNumpyStats(ran: Ran, expected: { mean: Record<string, number>; sd: Record<string, number> }) {
  const p = ran.manifest.preprocessing;
  for (const [name, mean] of Object.entries(expected.mean)) {
    const j = p.columns.indexOf(name);
    expect(j, name).toBeGreaterThanOrEqual(0);
    expect(Math.abs(p.mean[j]! - mean), `mean of ${name}`).toBeLessThan(1e-9);
    expect(Math.abs(p.sd[j]! - expected.sd[name]!), `sd of ${name}`).toBeLessThan(1e-9);
  }
}

describe.skipIf(!existsSync(SKLEARN_DATA))('own data: public tables and images split among hospitals', () => {
  it(
    'wine (3 classes, 13 features, own names, units, codes, a missing column): federated standardisation equals NumPy; FedAvg within 0.05 of pooled',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-wine-'));
      const ran = run(dir, {
        ...base,
        name: 'wine',
        rounds: 15,
        data: wineData(),
        hospitals: writeWine(dir),
        model: { kind: 'logistic' },
        training: { localEpochs: 1, batchSize: 16, learningRate: 0.3, optimizer: 'sgd' },
        evaluation: { minSubgroupSize: 3, histogramBins: 200 },
      });
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      expect(ran.manifest.preprocessing).toMatchObject({ scaling: 'federated-standardise', federated: true });
      expect(ran.manifest.preprocessing.transformSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(ran.manifest.preprocessing.missing!['wine-c']).toMatchObject({ magnesium: 6, rows_dropped: 0 });
      expect(ran.manifest.preprocessing.missing!['wine-a']).toMatchObject({ magnesium: 0 });
      expectNumpyStats(ran, numpy.wine);
      const fed = ran.summary.federated.metrics;
      const pooled = ran.summary.pooled.metrics;
      console.log(`wine accuracy: FedAvg ${fed.accuracy}, pooled ${pooled.accuracy}`);
      expect(fed.accuracy).toBeGreaterThan(0.85);
      expect(Math.abs(fed.accuracy! - pooled.accuracy!)).toBeLessThanOrEqual(0.05);
      for (const m of [
        'balanced_accuracy',
        'auroc_macro',
        'auroc_micro',
        'f1_macro',
        'loss',
        'top_label_ece',
      ])
        expect(fed[m], m).toBeTypeOf('number');
      expect(fed.global_accuracy).toBeTypeOf('number');
      // One-vs-rest histograms per class give the federation's own macro and micro AUROC.
      expect(fed.global_auroc_macro).toBeGreaterThan(0.9);
      expect(fed.global_auroc_micro).toBeGreaterThan(0.9);
      expect(ran.summary.federated.confusion).toHaveLength(9);
      const crossings = readFileSync(join(ran.out, 'crossings.jsonl'), 'utf8');
      expect(crossings).toContain('"statistics-reply"');
      expect(crossings).toContain('"column-statistics"');
      expect(crossings).toContain('"transform-request"');
      const model = json(join(ran.out, 'model/tfjs/model.json'));
      expect(JSON.stringify(model)).toContain('softmax');
      // Scoring the final model on wine-b's held-out rows (German names, units, codes) with the run's transform.
      const holdout = writeRowsWhere(join(dir, 'wine-b.csv'), join(dir, 'holdout-b.csv'), 'Satz', 'test');
      expectEvaluateMatchesRun(ran, 'wine-b', holdout);
      // A replaced transform file is refused rather than silently rescaling the site's data.
      const transform = join(ran.out, 'model/transform.f64');
      const bytes = readFileSync(transform);
      bytes[0] = bytes[0]! ^ 1;
      writeFileSync(transform, bytes);
      const tampered = fedmed(['evaluate', ran.out, '--data', holdout, '--hospital', 'wine-b']);
      expect(tampered.code).toBe(2);
      expect(tampered.stderr).toContain('transform.f64');
      // A cut manifest is named, not a stack trace (exit 2).
      writeFileSync(
        join(ran.out, 'manifest.json'),
        readFileSync(join(ran.out, 'manifest.json')).subarray(0, 20),
      );
      const cut = fedmed(['evaluate', ran.out, '--data', holdout, '--hospital', 'wine-b']);
      expect(cut.code).toBe(2);
      expect(cut.stderr).toMatch(/manifest\.json: expected a JSON file as fedmed wrote it/);
    },
    RUN_TIMEOUT,
  );

  it(
    'diabetes (continuous outcome, a categorical feature in own codes): R² of FedAvg within 0.05 of pooled; statistics equal NumPy',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-diabetes-'));
      const ran = run(dir, {
        ...base,
        name: 'diabetes',
        rounds: 20,
        data: diabetesData(),
        hospitals: writeDiabetes(dir),
        model: { kind: 'logistic' },
        training: { localEpochs: 1, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' },
      });
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      expectNumpyStats(ran, numpy.diabetes);
      const fed = ran.summary.federated.metrics;
      const pooled = ran.summary.pooled.metrics;
      console.log(`diabetes R²: FedAvg ${fed.global_r2}, pooled ${pooled.global_r2}`);
      expect(fed.global_r2).toBeGreaterThan(0.3);
      expect(Math.abs(fed.global_r2! - pooled.global_r2!)).toBeLessThanOrEqual(0.05);
      for (const m of ['mse', 'mae', 'r2']) expect(fed[m], m).toBeTypeOf('number');
    },
    RUN_TIMEOUT,
  );

  it(
    'digits (8 × 8 PNG images, 10 classes): FedAvg within 0.05 of pooled',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-digits-'));
      const ran = run(dir, {
        ...base,
        name: 'digits',
        rounds: 8,
        data: digitsData(),
        hospitals: writeDigits(dir),
        model: { kind: 'logistic' },
        training: { localEpochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' },
      });
      expect(ran.stderr).toBe('');
      expect(ran.code).toBe(0);
      const fed = ran.summary.federated.metrics;
      const pooled = ran.summary.pooled.metrics;
      console.log(`digits accuracy: FedAvg ${fed.accuracy}, pooled ${pooled.accuracy}`);
      expect(fed.accuracy).toBeGreaterThan(0.85);
      expect(Math.abs(fed.accuracy! - pooled.accuracy!)).toBeLessThanOrEqual(0.05);
      expect(ran.summary.federated.confusion).toHaveLength(100);
      const folder = join(dir, 'digits-1');
      writeRowsWhere(join(folder, 'labels.csv'), join(folder, 'holdout.csv'), 'set', 'test');
      expectEvaluateMatchesRun(ran, 'digits-1', folder, ['--labels', join(folder, 'holdout.csv')]);
    },
    RUN_TIMEOUT,
  );
});

describe('a sweep on own data', () => {
  it(
    "runs the shipped wine federation under strategies with server and client state, tabled in the outcome's metrics",
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'fedmed-wine-sweep-'));
      const shipped = join(import.meta.dirname, '../../scenarios/wine');
      for (const f of ['wine-a.csv', 'wine-b.csv', 'wine-c.csv'])
        copyFileSync(join(shipped, f), join(dir, f));
      const scenario = {
        ...json(join(shipped, 'scenario.json')),
        rounds: 2,
        strategy: { name: 'fedavg' },
        sweep: { parameter: 'strategy.name', values: ['fedadam', 'scaffold', 'qfedavg'] },
      };
      writeFileSync(join(dir, 'sweep.json'), JSON.stringify(scenario));
      const out = join(dir, 'out');
      const r = fedmed(['run', join(dir, 'sweep.json'), '--out', out, '--quiet', '--workers', '1']);
      expect(r.stderr).not.toMatch(/error|refused|expected/i);
      expect(r.code).toBe(0);
      const [header, ...rows] = readFileSync(join(out, 'sweep.csv'), 'utf8').trim().split('\n');
      const columns = header!.split(',');
      expect(columns).toContain('federated balanced_accuracy');
      expect(columns).toContain('federated auroc_macro');
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        const cells = row.split(',');
        expect(cells[columns.indexOf('status')]).toBe('completed');
        expect(Number(cells[columns.indexOf('federated accuracy')])).toBeGreaterThan(0.4);
      }
    },
    RUN_TIMEOUT,
  );
});

describe('bad own data stops a run at setup with exit 2, before anything is trained', () => {
  it('an image of the wrong size and a label outside the class list: both named (hospital, file, sizes, row, column), no value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-bad-images-'));
    const png = (w: number, h: number) => PNG.sync.write(new PNG({ width: w, height: h }));
    for (const h of ['a', 'b']) mkdirSync(join(dir, h));
    writeFileSync(join(dir, 'a/1.png'), png(8, 8));
    writeFileSync(join(dir, 'a/2.png'), png(8, 6));
    writeFileSync(join(dir, 'a/labels.csv'), 'file,label\n1.png,x\n2.png,y\n');
    writeFileSync(join(dir, 'b/1.png'), png(8, 8));
    writeFileSync(join(dir, 'b/labels.csv'), 'file,label\n1.png,x\n1.png,secret-z\n');
    const file = join(dir, 'scenario.json');
    writeFileSync(
      file,
      JSON.stringify({
        ...base,
        name: 'bad-images',
        rounds: 1,
        minClients: 1,
        data: {
          kind: 'image-folder',
          height: 8,
          width: 8,
          outcome: { type: 'multiclass', classes: ['x', 'y'] },
        },
        hospitals: ['a', 'b'].map((h) => ({
          id: `site-${h}`,
          country: 'KR',
          patients: 20,
          source: { kind: 'image-folder', folder: h, labels: `${h}/labels.csv` },
        })),
        model: { kind: 'logistic' },
      }),
    );
    const r = fedmed(['run', file, '--out', join(dir, 'out'), '--quiet', '--workers', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/site-a.*a\/2\.png.*8×8 pixels.*this one is 8×6/);
    expect(r.stderr).toMatch(/site-b.*b\/labels\.csv.*row 2.*column "label".*declared classes/);
    expect(r.stderr).not.toContain('secret');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(dir, 'out', 'model'))).toBe(false);
  });
});
