import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, startFedmed } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-hier-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const hospital = (id: string, patients: number) => ({
  id,
  country: id.slice(0, 2).toUpperCase(),
  patients,
  cohort: { prevalence: 0.25 },
});

/**
 * FedAdam (server moments) through two country aggregators, four rounds, on the virtual clock: cn-b, on a
 * county VPN, misses the deadline every round.
 */
const fedadam = {
  name: 'hier-fedadam',
  seed: 4,
  rounds: 4,
  minClients: 2,
  topology: 'hierarchical',
  coordinator: { site: 'neutral' },
  data: { kind: 'synthetic-cohort', testFraction: 0.3 },
  hospitals: [hospital('kr-a', 80), hospital('kr-b', 60), hospital('cn-a', 70), hospital('cn-b', 60)],
  model: { kind: 'mlp', hidden: [4] },
  backend: 'js',
  training: { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
  strategy: { name: 'fedadam', fractionFit: 1, fractionEvaluate: 1, eta: 0.05 },
  clock: {
    draw: ['tertiary-fibre'],
    hospitals: { 'cn-b': { profile: 'county-vpn' } },
    deadlineSeconds: 0.15,
  },
};

/** Secure aggregation inside each country (three hospitals each), three rounds. */
const { clock: _, ...unclocked } = fedadam;
const secure = {
  ...unclocked,
  name: 'hier-secure',
  rounds: 3,
  hospitals: ['kr-a', 'kr-b', 'kr-c', 'cn-a', 'cn-b', 'cn-c'].map((id, i) => hospital(id, 50 + 10 * i)),
  model: { kind: 'logistic' },
  strategy: { name: 'fedavg', fractionFit: 1, fractionEvaluate: 1 },
  privacy: { secureAggregation: { range: 1, bits: 16 } },
};

/** The shipped wine CSVs (own names, units, codes, imputed cells, three classes) over Korea and China. */
function ownData(): object {
  const wine = join(ROOT, 'scenarios/wine');
  for (const f of ['wine-a.csv', 'wine-b.csv', 'wine-c.csv']) copyFileSync(join(wine, f), join(dir, f));
  const shipped = JSON.parse(readFileSync(join(wine, 'scenario.json'), 'utf8')) as {
    hospitals: { id: string }[];
  };
  const country: Record<string, string> = { 'wine-a': 'KR', 'wine-b': 'KR', 'wine-c': 'CN' };
  return {
    ...shipped,
    name: 'hier-wine',
    rounds: 3,
    topology: 'hierarchical',
    hospitals: shipped.hospitals.map((h) => ({ ...h, country: country[h.id] })),
  };
}

const run = (args: readonly string[], env: Record<string, string> = {}) =>
  startFedmed([...args, '--workers', '1', '--quiet'], env).done;
const read = (out: string, file: string) => readFileSync(join(out, file), 'utf8');
const hashOf = (out: string) =>
  (JSON.parse(read(out, 'manifest.json')) as { finalModelSha256: string }).finalModelSha256;

/**
 * Runs `scenario` uninterrupted, then again killed (SIGKILL, by the test hook) at each of `kills` in turn,
 * resuming after each; the resumed run must end with the uninterrupted one's model, metrics and crossing record.
 */
async function killAndResume(scenario: object & { name: string }, kills: readonly string[]) {
  const file = join(dir, `${scenario.name}.json`);
  writeFileSync(file, JSON.stringify(scenario));
  const full = join(dir, `${scenario.name}-full`);
  const killed = join(dir, `${scenario.name}-killed`);
  const whole = await run(['run', file, '--out', full]);
  expect(whole.code, whole.stderr).toBe(0);
  let last = await run(['run', file, '--out', killed], { FEDMED_TEST_KILL_AT: kills[0]! });
  for (let i = 0; i < kills.length; i++) {
    expect(last.signal, `${kills[i]}: ${last.stderr}`).toBe('SIGKILL');
    const next = kills[i + 1];
    last = await run(['run', '--resume', killed], next === undefined ? {} : { FEDMED_TEST_KILL_AT: next });
  }
  expect(last.code, last.stderr).toBe(0);
  expect(hashOf(killed)).toBe(hashOf(full));
  expect(read(killed, 'metrics.jsonl')).toBe(read(full, 'metrics.jsonl'));
  expect(read(killed, 'crossings.jsonl')).toBe(read(full, 'crossings.jsonl'));
  expect(read(killed, 'crossings.jsonl')).toContain('"country-aggregate"');
  return read(killed, 'metrics.jsonl');
}

describe('hierarchical runs: SIGKILL, then --resume', () => {
  it('FedAdam through country aggregators on the virtual clock ends as the uninterrupted run: killed mid-training, before aggregation and while checkpointing', async () => {
    const metrics = await killAndResume(fedadam, ['fit:2:15', 'aggregate:3', 'checkpoint-written:3']);
    // The clock went on from where the checkpoint left it: four rounds, each waiting out the deadline.
    const clocks = metrics
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { clock: { startSeconds: number; late: string[] } }).clock);
    expect(clocks.map((c) => [Number(c.startSeconds.toFixed(9)), c.late])).toEqual([
      [0, ['cn-b']],
      [0.15, ['cn-b']],
      [0.3, ['cn-b']],
      [0.45, ['cn-b']],
    ]);
  }, 240_000);

  it('under secure aggregation inside each country (keys per round and country: nothing to keep) and on own data', async () => {
    await Promise.all([
      killAndResume(secure, ['aggregate:2']),
      killAndResume(ownData() as { name: string }, ['round-written:2']),
    ]);
  }, 240_000);
});
