import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fedmed } from '../helpers/cli.ts';

const root = resolve(import.meta.dirname, '../..');

const tiny = {
  name: 'cli-tiny',
  seed: 3,
  rounds: 2,
  minClients: 2,
  coordinator: { site: 'CN' },
  data: { kind: 'synthetic-cohort' },
  hospitals: [
    { id: 'kr-1', country: 'KR', patients: 120 },
    { id: 'cn-1', country: 'CN', patients: 150 },
    { id: 'cn-2', country: 'CN', patients: 100 },
  ],
  model: { kind: 'logistic' },
};

function scenarioFile(dir: string, content: unknown): string {
  const file = join(dir, 'scenario.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const dir = () => mkdtempSync(join(tmpdir(), 'fedmed-cli-'));

describe('fedmed run rejects bad input with exit code 2, naming what is wrong, without a stack trace', () => {
  it.each([
    ['an unknown key', { ...tiny, rouds: 3 }, /\$: unknown key "rouds"/],
    ['a wrong type', { ...tiny, rounds: 'ten' }, /\$\.rounds: expected number, received string/],
    ['negative rounds', { ...tiny, rounds: -2 }, /\$\.rounds: Too small: expected number to be >=1/],
    [
      'a bad nested field',
      { ...tiny, hospitals: [{ ...tiny.hospitals[0], patients: 5 }] },
      /\$\.hospitals\[0\]\.patients: Too small/,
    ],
    [
      'an unknown fault target',
      { ...tiny, faults: [{ hospital: 'kr-9', behaviour: 'throw' }] },
      /\$\.faults\[0\]\.hospital: no hospital has id "kr-9"/,
    ],
    ['invalid JSON', '{"name": ', /not valid JSON/],
  ])('%s', (_what, content, message) => {
    const d = dir();
    const r = fedmed(['run', scenarioFile(d, content), '--out', join(d, 'out'), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(d, 'out'))).toBe(false);
  });

  it('a missing scenario file', () => {
    const r = fedmed(['run', '/nonexistent/scenario.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/nonexistent\/scenario\.json: cannot read the scenario \(no such file\)/);
  });

  it.each([
    [['--seed', '-1'], /--seed expects an integer from 0/],
    [['--workers', 'two'], /--workers expects an integer from 1/],
    [['--backend', 'gpu'], /--backend.*Allowed choices are auto, tensorflow, wasm, cpu/],
    [['--colour'], /unknown option '--colour'/],
  ])('a bad flag %j', (flags, message) => {
    const d = dir();
    const r = fedmed(['run', scenarioFile(d, tiny), ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a bad FEDMED_BACKEND', () => {
    const d = dir();
    const r = fedmed(['run', scenarioFile(d, tiny)], { FEDMED_BACKEND: 'gpu' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/FEDMED_BACKEND must be one of auto, tensorflow, wasm, cpu/);
  });

  it.skipIf(existsSync(join(root, 'node_modules/@tensorflow/tfjs-node')))(
    'a backend that cannot load, leaving an earlier run in place',
    () => {
      const d = dir();
      const out = join(d, 'out');
      const file = scenarioFile(d, tiny);
      expect(fedmed(['run', file, '--out', out, '--quiet']).code).toBe(0);
      const before = readFileSync(join(out, 'manifest.json'), 'utf8');
      const r = fedmed(['run', file, '--out', out, '--backend', 'tensorflow', '--quiet']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/backend 'tensorflow' needs @tensorflow\/tfjs-node/);
      expect(readFileSync(join(out, 'manifest.json'), 'utf8')).toBe(before);
    },
  );
});

describe('fedmed run writes a complete run folder', () => {
  it('writes the resolved scenario, manifest, metrics, crossings and model', () => {
    const d = dir();
    const out = join(d, 'out');
    const r = fedmed([
      'run',
      scenarioFile(d, tiny),
      '--out',
      out,
      '--rounds',
      '3',
      '--seed',
      '9',
      '--workers',
      '2',
    ]);
    expect(r.code).toBe(0);
    // 'auto': tfjs-node where it is installed, else fedmed's fused loops for this dense model.
    expect(r.stdout).toMatch(/completed 3 rounds .* on 2 worker threads, backend (js|tensorflow)/);
    const scenario = JSON.parse(readFileSync(join(out, 'scenario.json'), 'utf8'));
    expect(scenario).toMatchObject({ rounds: 3, seed: 9, training: { localEpochs: 1 } });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ status: 'completed', seed: 9, roundsCompleted: 3 });
    expect(manifest.backend).toMatch(/^(js|tensorflow)$/);
    expect(manifest.workers.started).toBe(2);
    expect(manifest.scenarioSha256).toMatch(/^[0-9a-f]{64}$/);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.round)).toEqual([1, 2, 3]);
    expect(Object.keys(lines[2].evaluate.hospitals).sort()).toEqual(['cn-1', 'cn-2', 'kr-1']);
    expect(lines[2].evaluate.aggregation).toMatch(/^example-weighted mean of per-hospital metrics/);
    const params = readFileSync(join(out, 'model/parameters.f32'));
    const spec = JSON.parse(readFileSync(join(out, 'model/spec.json'), 'utf8'));
    expect(params.byteLength).toBe(spec.length * 4);
    expect(spec.tensors.map((t: { name: string }) => t.name)).toEqual(['output/kernel', 'output/bias']);
    const crossings = readFileSync(join(out, 'crossings.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const broadcasts = crossings.filter((c) => c.kind === 'fit-request' && c.round === 1);
    expect(broadcasts).toHaveLength(3);
    expect(crossings.filter((c) => c.kind === 'evaluate-request' && c.round === 1)).toHaveLength(3);
    // the model's bytes (padded to 8) and the instructions' JSON, one envelope each
    for (const c of broadcasts) expect(c.bytes - Math.ceil(spec.length / 2) * 8).toBeGreaterThan(100);
    for (const c of broadcasts) expect(c.bytes - Math.ceil(spec.length / 2) * 8).toBeLessThan(1024);
    expect(crossings.filter((c) => c.hospital === 'kr-1').every((c) => c.crossesBorder)).toBe(true);
    expect(crossings.filter((c) => c.hospital !== 'kr-1').some((c) => c.crossesBorder)).toBe(false);
  });

  it('prints the global metrics beside the means when the scenario asks for score histograms', () => {
    const d = dir();
    const withHistograms = { ...tiny, evaluation: { histogramBins: 100 } };
    const on = fedmed([
      'run',
      scenarioFile(d, withHistograms),
      '--out',
      join(d, 'on'),
      '--quiet',
      '--workers',
      '1',
    ]);
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toMatch(
      /federated \(global model\) .* global auroc \d\.\d{4} {2}global auprc \d\.\d{4}/,
    );
    const off = fedmed(['run', scenarioFile(d, tiny), '--out', join(d, 'off'), '--quiet', '--workers', '1']);
    expect(off.stdout).not.toContain('global auroc');
  });

  it('exits 3 when too few hospitals reply validly, keeping the rounds before', () => {
    const d = dir();
    const out = join(d, 'out');
    const faulty = {
      ...tiny,
      rounds: 3,
      minClients: 3,
      faults: [{ hospital: 'cn-2', behaviour: 'rows-in-metrics', rounds: [2] }],
    };
    const r = fedmed(['run', scenarioFile(d, faulty), '--out', out, '--quiet', '--workers', '1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /round 2: 2 valid fit replies, fewer than minClients = 3; hospital cn-2: metrics\.rows/,
    );
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ status: 'stopped', roundsCompleted: 1 });
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
  });

  it('counts a hospital that fails every round among error reports, not as a clean run', () => {
    const d = dir();
    const failing = { ...tiny, faults: [{ hospital: 'cn-2', behaviour: 'throw' }] };
    const r = fedmed(['run', scenarioFile(d, failing), '--out', join(d, 'out'), '--quiet', '--workers', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/; 0 replies rejected, 2 error reports from hospitals\n/);
  });

  it('prints the JSON Schema', () => {
    const r = fedmed(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout);
    expect(schema.required).toEqual(
      expect.arrayContaining(['name', 'rounds', 'coordinator', 'hospitals', 'model']),
    );
    expect(schema.additionalProperties).toBe(false);
  });
});
