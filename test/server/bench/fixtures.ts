import type { BenchCurvePoint, BenchRun } from '../../../src/server/bench/types.ts';

const curve = (auroc: readonly number[]): BenchCurvePoint[] =>
  auroc.map((v, i) => ({ round: i + 1, metrics: { auroc: v, accuracy: v - 0.05 } }));

function strategy(
  arm: string,
  seed: number,
  final: Record<string, number>,
  hospitals: Record<string, Record<string, number>>,
  auroc: readonly number[],
  crossBorder: number,
  seconds: number,
): BenchRun {
  return {
    arm,
    seed,
    kind: 'strategy',
    curve: curve(auroc),
    final: { metrics: final, hospitals },
    bytes: { total: 2 * crossBorder, crossBorder },
    seconds,
  };
}

/** Two strategies × three seeds and two one-seed baselines, deliberately out of order. */
export const RUNS: readonly BenchRun[] = [
  {
    arm: 'local-only',
    seed: 1,
    kind: 'baseline',
    curve: [],
    final: {
      metrics: { accuracy: 0.7, auroc: 0.75 },
      hospitals: { 'kr-b': { accuracy: 0.6, auroc: 0.7 }, 'cn-a': { accuracy: 0.8, auroc: 0.8 } },
    },
    bytes: { total: 0, crossBorder: 0 },
    seconds: 2,
  },
  strategy(
    'fedavg',
    2,
    { accuracy: 0.82, auroc: 0.86, global_auroc: 0.84 },
    { 'cn-a': { accuracy: 0.88, auroc: 0.9 }, 'kr-b': { accuracy: 0.78, auroc: 0.82 } },
    [0.7, 0.72, 0.75, 0.79, 0.8, 0.83],
    2000,
    11,
  ),
  strategy(
    'fedavg',
    1,
    { accuracy: 0.8, auroc: 0.85, global_auroc: 0.83 },
    { 'cn-a': { accuracy: 0.9, auroc: 0.9 }, 'kr-b': { accuracy: 0.7, auroc: 0.8 } },
    [0.6, 0.75, 0.81, 0.85],
    1000,
    10,
  ),
  strategy(
    'fedprox',
    3,
    { accuracy: 0.84, auroc: 0.9, auprc: Number.NaN },
    { 'cn-a': { accuracy: 0.85 }, 'kr-b': { accuracy: 0.83 } },
    [0.7, 0.8],
    3000,
    20,
  ),
  strategy(
    'fedavg',
    3,
    { accuracy: 0.84, auroc: 0.87, global_auroc: 0.85 },
    { 'cn-a': { accuracy: 0.86, auroc: 0.9 }, 'kr-b': { accuracy: 0.9, auroc: 0.84 } },
    [0.7, 0.75, 0.79],
    3000,
    12,
  ),
  strategy(
    'fedprox',
    1,
    { accuracy: 0.81, auroc: 0.88, auprc: 0.5 },
    { 'cn-a': { accuracy: 0.85 }, 'kr-b': { accuracy: 0.8 } },
    [0.7, 0.82],
    3000,
    20,
  ),
  strategy(
    'fedprox',
    2,
    { accuracy: 0.81, auroc: 0.89, auprc: 0.6 },
    { 'cn-a': { accuracy: 0.85 }, 'kr-b': { accuracy: 0.81 } },
    [0.7, 0.85],
    3000,
    20,
  ),
  {
    arm: 'pooled',
    seed: 1,
    kind: 'baseline',
    curve: [],
    final: {
      metrics: { accuracy: 0.9, auroc: 0.93 },
      hospitals: { 'cn-a': { accuracy: 0.92 }, 'kr-b': { accuracy: 0.88 } },
    },
    bytes: { total: 0, crossBorder: 0 },
    seconds: 3,
  },
];

/** A strategy run that reports only final overall metrics. */
export function finalOnly(arm: string, seed: number, metrics: Record<string, number>): BenchRun {
  return {
    arm,
    seed,
    kind: 'strategy',
    curve: [],
    final: { metrics, hospitals: {} },
    bytes: { total: 0, crossBorder: 0 },
    seconds: 1,
  };
}

/**
 * Arms a and b over seeds 1–3: b's accuracy is 0.1 higher on every seed (CIs apart), its loss 0.08–0.10 lower
 * (CIs overlap). c has seeds 2–4 only, with a's accuracy + 0.05 on the shared seeds 2 and 3.
 */
export const PAIRED: readonly BenchRun[] = [
  finalOnly('a', 1, { accuracy: 0.7, loss: 0.5 }),
  finalOnly('a', 2, { accuracy: 0.71, loss: 0.52 }),
  finalOnly('a', 3, { accuracy: 0.72, loss: 0.54 }),
  finalOnly('b', 1, { accuracy: 0.8, loss: 0.4 }),
  finalOnly('b', 2, { accuracy: 0.81, loss: 0.43 }),
  finalOnly('b', 3, { accuracy: 0.82, loss: 0.46 }),
  finalOnly('c', 2, { accuracy: 0.76 }),
  finalOnly('c', 3, { accuracy: 0.77 }),
  finalOnly('c', 4, { accuracy: 0.5 }),
];
