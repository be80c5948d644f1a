import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { applyOverrides, InputError, loadScenario, parseScenario, scenarioHash } from '../scenario/load.ts';
import type { BackendChoice, BaselineName, Scenario } from '../scenario/schema.ts';
import { strategySchema } from '../scenario/strategy-schema.ts';
import { runFederation } from '../server/coordinator.ts';
import { hostSetup } from '../server/host-setup.ts';
import { RunFolder } from '../server/outputs/run-folder.ts';
import { writeRunResult } from '../server/outputs/write-run.ts';
import { writeBenchPlots } from '../server/bench/plots.ts';
import { readBenchRuns, readManifest } from '../server/bench/read-run.ts';
import { benchOverview, DEFAULT_BENCH_METRICS, summarize, writeBenchTables } from '../server/bench/report.ts';
import type { BenchRun } from '../server/bench/types.ts';
import { createStrategy } from '../server/strategies/index.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';
import { backendOverride } from './flags.ts';

/** Flags of `fedmed bench`. */
export interface BenchFlags {
  strategies: Arm[];
  seeds: number[];
  out?: string;
  target?: { metric: string; value: number };
  /** Label of the arm the others are compared with (default: the first). */
  reference?: string;
  baselines?: BaselineName[];
  workers?: number;
  backend?: BackendChoice;
  rounds?: number;
  timeout: number;
}

/** One arm of a bench: a strategy name with parameters, labelled as written (`fedprox:proximalMu=0.1`). */
export interface Arm {
  readonly label: string;
  readonly strategy: Record<string, unknown>;
}

/** Parses `--strategies fedavg,fedprox:proximalMu=0.1,fedadam:eta=0.01:beta1=0.9`. */
export function parseArms(text: string): Arm[] {
  const arms = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((label) => {
      const [name, ...params] = label.split(':');
      const strategy: Record<string, unknown> = { name };
      for (const p of params) {
        const [key, value] = p.split('=');
        if (key === undefined || value === undefined || key === '') {
          throw new InvalidArgumentError(`--strategies: "${p}" in "${label}" is not parameter=value.`);
        }
        const n = Number(value);
        strategy[key] = value === 'true' ? true : value === 'false' ? false : Number.isFinite(n) ? n : value;
      }
      const parsed = strategySchema.safeParse(strategy);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new InvalidArgumentError(
          `--strategies: ${label}: ${issue.path.join('.') || 'name'}: ${issue.message}`,
        );
      }
      return { label, strategy };
    });
  if (arms.length === 0) throw new InvalidArgumentError('--strategies needs at least one strategy.');
  if (new Set(arms.map((a) => a.label)).size !== arms.length) {
    throw new InvalidArgumentError('--strategies lists the same arm twice.');
  }
  return arms;
}

/** Parses `--seeds 5` (seeds 1…5) or `--seeds 3,7,11`. */
export function parseSeeds(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const ints = items.map(Number);
  if (ints.some((n) => !Number.isSafeInteger(n) || n < 0) || items.some((s) => s === '')) {
    throw new InvalidArgumentError('--seeds takes a count (5: seeds 1…5) or a list of seeds (3,7,11).');
  }
  if (items.length === 1) {
    if (ints[0]! < 1 || ints[0]! > 1000) throw new InvalidArgumentError('--seeds: a count from 1 to 1000.');
    return Array.from({ length: ints[0]! }, (_, i) => i + 1);
  }
  return ints;
}

/** Parses `--target auroc=0.8`. */
export function parseTarget(text: string): { metric: string; value: number } {
  const m = /^([a-z][a-z0-9_]*)=([0-9.]+)$/.exec(text.trim());
  if (m === null || !Number.isFinite(Number(m[2]))) {
    throw new InvalidArgumentError('--target takes metric=value, such as auroc=0.8.');
  }
  return { metric: m[1]!, value: Number(m[2]) };
}

/**
 * `fedmed bench`: every strategy × seed on the scenario, the baselines once per seed (with the first
 * strategy's runs), then a table with 95% confidence intervals, the other arms' paired differences from the
 * reference arm, and plots. Worker threads are started once and set up afresh for each run; a run whose folder
 * already holds a completed run of the same resolved scenario is read back instead of run again.
 */
export async function benchCommand(file: string, flags: BenchFlags): Promise<number> {
  if (flags.reference !== undefined && !flags.strategies.some((a) => a.label === flags.reference)) {
    throw new InputError(
      `--reference: "${flags.reference}" is not one of the --strategies arms: ` +
        flags.strategies.map((a) => a.label).join(', '),
    );
  }
  const backend = backendOverride(flags.backend);
  const base = applyOverrides(loadScenario(file), {
    ...(backend === undefined ? {} : { backend }),
    ...(flags.rounds === undefined ? {} : { rounds: flags.rounds }),
  });
  const baseDir = dirname(resolve(file));
  const out = resolve(flags.out ?? `runs/${base.name}-bench`);
  const baselines = flags.baselines ?? ['local-only', 'pooled'];
  const plan = flags.seeds.flatMap((seed) =>
    flags.strategies.map((arm, i) => ({
      arm,
      seed,
      scenario: variant(base, arm, seed, i === 0 ? baselines : []),
    })),
  );
  for (const p of plan) await createStrategy(p.scenario, baseDir);
  mkdirSync(out, { recursive: true });
  const ids = base.hospitals.map((h) => h.id);
  const threads = Math.min(flags.workers ?? availableParallelism(), ids.length);
  let pool: WorkerPool | undefined;
  const runs: BenchRun[] = [];
  try {
    for (const [k, p] of plan.entries()) {
      const dir = join(out, safe(p.arm.label), `seed-${p.seed}`);
      const hash = scenarioHash(p.scenario);
      const stored = readManifest(dir);
      const reused = stored !== undefined && stored.scenarioSha256 === hash && stored.status === 'completed';
      if (!reused) {
        pool ??= await WorkerPool.start(
          ids,
          threads,
          (hosted) => hostSetup(p.scenario, p.scenario.backend, baseDir, hosted),
          flags.timeout * 1000,
        );
        await runInto(dir, p.scenario, hash, baseDir, pool, threads, flags.timeout);
      }
      const read = readBenchRuns(dir, p.arm.label, p.seed);
      runs.push(...read);
      const m = read[0]!.final.metrics;
      process.stderr.write(
        `[${k + 1}/${plan.length}] ${p.arm.label} seed ${p.seed}: auroc ${m.auroc?.toFixed(4) ?? '-'}, ` +
          `accuracy ${m.accuracy?.toFixed(4) ?? '-'}${reused ? ' (reused)' : ` (${read[0]!.seconds.toFixed(1)} s)`}\n`,
      );
    }
  } finally {
    await pool?.close();
  }
  const table = summarize(runs, {
    metrics: DEFAULT_BENCH_METRICS,
    ...(flags.target ? { target: flags.target } : {}),
    ...(flags.reference === undefined ? {} : { reference: flags.reference }),
  });
  const files = writeBenchTables(out, table);
  for (const metric of DEFAULT_BENCH_METRICS) await writeBenchPlots(out, runs, metric);
  process.stdout.write(`${benchOverview(table)}\nbench: ${files.markdown}\n`);
  return EXIT.ok;
}

function variant(base: Scenario, arm: Arm, seed: number, baselines: readonly BaselineName[]): Scenario {
  try {
    return parseScenario(
      { ...applyOverrides(base, { seed }), strategy: arm.strategy, baselines: [...baselines] },
      `${arm.label} with seed ${seed}`,
    );
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

async function runInto(
  dir: string,
  scenario: Scenario,
  hash: string,
  baseDir: string,
  pool: WorkerPool,
  threads: number,
  timeout: number,
): Promise<void> {
  const startedAt = new Date();
  const folder = new RunFolder(dir);
  folder.writeJson('scenario.json', scenario);
  const result = await runFederation(scenario, {
    threads,
    backend: scenario.backend,
    baseDir,
    timeoutMs: timeout * 1000,
    pool,
    sink: { round: (r, c) => folder.round(r, c), crossings: (c) => folder.crossings(c) },
  });
  await writeRunResult(folder, scenario, hash, result, threads, startedAt);
  folder.commit();
}

const safe = (label: string) => label.replace(/[^A-Za-z0-9.=-]/g, '_');
