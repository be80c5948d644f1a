import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DP_EPSILON_METRIC, readBenchRuns } from '../../../src/server/bench/read-run.ts';
import { summarize } from '../../../src/server/bench/report.ts';

const root = mkdtempSync(join(tmpdir(), 'fedmed-bench-read-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A run folder as `fedmed run` writes it, with ε per round when `epsilons` is given. */
function runFolder(name: string, auroc: readonly number[], epsilons?: readonly number[]): string {
  const dir = join(root, name);
  const rounds = auroc.map((v, i) => ({
    round: i + 1,
    evaluate: { metrics: { auroc: v }, hospitals: { 'kr-a': { metrics: { auroc: v } } } },
    ...(epsilons === undefined
      ? {}
      : { privacy: { differentialPrivacy: { epsilon: epsilons[i], delta: 1e-5, rounds: i + 1 } } }),
  }));
  mkdirSync(dir);
  writeFileSync(join(dir, 'metrics.jsonl'), rounds.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      scenarioSha256: 'x',
      status: 'completed',
      wallSeconds: 2,
      seconds: { federation: 1.5 },
      bytes: { toHospitals: 300, toCoordinator: 200, crossBorder: 100 },
    }),
  );
  writeFileSync(join(dir, 'summary.json'), '{}');
  return dir;
}

describe('the bench reads the ε a DP run spent', () => {
  it('puts ε after each round beside the federation metrics, and in the table only when a run has it', () => {
    const dp = readBenchRuns(runFolder('dp', [0.6, 0.7], [2.5, 3.75]), 'fedavg', 1);
    expect(dp[0]!.curve.map((p) => p.metrics[DP_EPSILON_METRIC])).toEqual([2.5, 3.75]);
    expect(dp[0]!.final.metrics).toEqual({ auroc: 0.7, [DP_EPSILON_METRIC]: 3.75 });
    expect(dp[0]!.final.hospitals).toEqual({ 'kr-a': { auroc: 0.7 } });

    const plain = readBenchRuns(runFolder('plain', [0.6, 0.8]), 'fedprox', 1);
    expect(plain[0]!.final.metrics).toEqual({ auroc: 0.8 });

    const table = summarize([...dp, ...plain]);
    expect(table.metrics).toContain(DP_EPSILON_METRIC);
    expect(table.rows.find((r) => r.arm === 'fedavg')!.overall[DP_EPSILON_METRIC]?.mean).toBe(3.75);
    expect(table.rows.find((r) => r.arm === 'fedprox')!.overall[DP_EPSILON_METRIC]).toBeUndefined();
    expect(summarize(plain).metrics).not.toContain(DP_EPSILON_METRIC);
  });
});
