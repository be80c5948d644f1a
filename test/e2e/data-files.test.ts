import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';

const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));

/** Two sites with their own EMR schemas (Korean columns and mmol/L; Chinese codes), one on the common model. */
const cohortScenario = {
  name: 'files-cohort',
  seed: 4,
  rounds: 6,
  minClients: 2,
  backend: 'wasm',
  coordinator: { site: 'neutral' },
  data: { kind: 'synthetic-cohort', testFraction: 0.3 },
  hospitals: [
    {
      id: 'kr-1',
      country: 'KR',
      patients: 300,
      emr: {
        columns: { age: '나이', sex: '성별', glucose: '공복혈당', disease: '진단' },
        units: { glucose: 'mmol/L', cholesterol: 'mmol/L' },
        codes: { sex: { male: '1', female: '2' }, disease: { yes: 'Y', no: 'N' } },
      },
    },
    {
      id: 'cn-1',
      country: 'CN',
      patients: 260,
      emr: {
        codes: {
          sex: { male: '男', female: '女' },
          smoking: { never: '从不', former: '已戒', current: '现在' },
        },
      },
    },
    { id: 'cn-2', country: 'CN', patients: 200, cohort: { measurement: { glucose: { offset: 8, sd: 3 } } } },
  ],
  model: { kind: 'logistic' },
  training: { localEpochs: 1, batchSize: 16, learningRate: 0.3 },
};

describe('hospital-local files give the same model as the data generated in memory', () => {
  it("cohort: generate CSVs in each site's schema, run from them, same final-model hash; evaluate scores new data", () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-files-'));
    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(cohortScenario));
    expect(fedmed(['run', scenarioFile, '--out', join(dir, 'memory'), '--quiet']).code).toBe(0);
    const gen = fedmed(['generate', scenarioFile, '--out', join(dir, 'files')]);
    expect(gen.code).toBe(0);
    const header = readFileSync(join(dir, 'files/kr-1/records.csv'), 'utf8').split('\n')[0]!;
    expect(header).toContain('공복혈당');
    expect(readFileSync(join(dir, 'files/cn-1/records.csv'), 'utf8')).toMatch(/[男女]/);
    const fromFiles = fedmed([
      'run',
      join(dir, 'files/scenario.json'),
      '--out',
      join(dir, 'from-files'),
      '--quiet',
    ]);
    expect(fromFiles.code).toBe(0);
    expect(manifest(join(dir, 'from-files')).finalModelSha256).toBe(
      manifest(join(dir, 'memory')).finalModelSha256,
    );

    const scored = fedmed([
      'evaluate',
      join(dir, 'memory'),
      '--data',
      join(dir, 'files/kr-1/records.csv'),
      '--hospital',
      'kr-1',
      '--out',
      join(dir, 'scores.json'),
    ]);
    expect(scored.code).toBe(0);
    const scores = JSON.parse(readFileSync(join(dir, 'scores.json'), 'utf8'));
    expect(scores.numExamples).toBe(300);
    expect(scores.metrics.auroc).toBeGreaterThan(0.65);
    expect(scores.metrics.auprc).toBeGreaterThan(0);

    const wrongSchema = fedmed([
      'evaluate',
      join(dir, 'memory'),
      '--data',
      join(dir, 'files/kr-1/records.csv'),
    ]);
    expect(wrongSchema.code).toBe(2);
    expect(wrongSchema.stderr).toMatch(/records\.csv/);
  });

  it('a bad CSV fails the run with exit 2, naming hospital, file, row and column but not the value', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-badcsv-'));
    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(scenarioFile, JSON.stringify(cohortScenario));
    expect(fedmed(['generate', scenarioFile, '--out', join(dir, 'files')]).code).toBe(0);
    const csv = join(dir, 'files/cn-1/records.csv');
    const lines = readFileSync(csv, 'utf8').split('\n');
    const header = lines[0]!.split(',');
    const cells = lines[3]!.split(',');
    cells[header.indexOf('glucose')] = '9x7.5';
    lines[3] = cells.join(',');
    writeFileSync(csv, lines.join('\n'));
    const r = fedmed(['run', join(dir, 'files/scenario.json'), '--out', join(dir, 'out'), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/hospital cn-1/);
    expect(r.stderr).toMatch(/records\.csv/);
    expect(r.stderr).toMatch(/row 3/);
    expect(r.stderr).toMatch(/column "glucose"/);
    expect(r.stderr).not.toContain('9x7.5');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('imaging: DICOM files written per hospital give the same model as images generated in memory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedmed-dicom-'));
    const scenarioFile = join(dir, 'scenario.json');
    writeFileSync(
      scenarioFile,
      JSON.stringify({
        name: 'files-imaging',
        seed: 2,
        rounds: 2,
        minClients: 2,
        backend: 'wasm',
        coordinator: { site: 'KR' },
        data: { kind: 'synthetic-imaging', size: 16, testFraction: 0.25 },
        hospitals: [
          { id: 'kr-1', country: 'KR', patients: 60, imaging: { scanner: { noise: 0.2 } } },
          { id: 'cn-1', country: 'CN', patients: 50, imaging: { scanner: { blur: 1, shift: 0.3 } } },
        ],
        model: { kind: 'cnn', filters: [4], dense: 8 },
        training: { localEpochs: 1, batchSize: 16, learningRate: 0.05 },
      }),
    );
    expect(fedmed(['run', scenarioFile, '--out', join(dir, 'memory'), '--quiet']).code).toBe(0);
    expect(fedmed(['generate', scenarioFile, '--out', join(dir, 'files')]).code).toBe(0);
    const r = fedmed(['run', join(dir, 'files/scenario.json'), '--out', join(dir, 'from-files'), '--quiet']);
    expect(r.code).toBe(0);
    expect(manifest(join(dir, 'from-files')).finalModelSha256).toBe(
      manifest(join(dir, 'memory')).finalModelSha256,
    );
  });
});
