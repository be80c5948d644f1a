import { headlineMetrics, headOf } from '../protocol/outcome.ts';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { applyOverrides, InputError, loadScenario, parseScenario, scenarioHash } from '../scenario/load.ts';
import type { BackendChoice, BaselineName, Scenario } from '../scenario/schema.ts';
import { runFederation, type RunResult } from '../server/coordinator.ts';
import { openContainer } from '../server/outputs/container.ts';
import type { RunFolder } from '../server/outputs/run-folder.ts';
import { writeRunResult } from '../server/outputs/write-run.ts';
import { writeBenchPlots } from '../server/bench/plots.ts';
import { readBenchRuns, readManifest } from '../server/bench/read-run.ts';
import {
  BenchInputError,
  benchOverview,
  benchMetricsFor,
  summarize,
  writeBenchTables,
} from '../server/bench/report.ts';
import { selectCandidate, type Selection } from '../server/bench/selection.ts';
import type { BenchRun } from '../server/bench/types.ts';
import { createStrategy } from '../server/strategies/index.ts';
import { startHospitalPool, WorkerFailure, type WorkerPool } from '../server/worker-pool.ts';
import { withTopologies, type Arm, type ArmSpec } from './bench-arms.ts';
import { benchCountryMatrix, countryMatrixMarkdown } from '../server/bench/country-matrix.ts';
import { EXIT } from './exit-codes.ts';
import { backendOverride, checkScenarioData, dataRoot, isInputFailure } from './flags.ts';
import { exitInterrupted, interruptible, stopRequested } from './interrupt.ts';
import { canResume, keepIfResumable, openRun } from './checkpointed-run.ts';
import { expandNoiseArms, privacyWithNoise } from './bench-noise.ts';
import { writeTradeoffPlots } from '../server/bench/tradeoff-plots.ts';

/** Flags of `fedmed bench`. */
export interface BenchFlags {
  strategies: ArmSpec[];
  seeds: number[];
  /** Seeds on which grid arms choose their candidate; required when an arm is a grid. */
  tuneSeeds?: number[];
  /** Final metric that chooses a grid's candidate (default accuracy; lowest wins for losses). */
  select?: string;
  out?: string;
  target?: { metric: string; value: number };
  /** Label of the arm the others are compared with (default: the first). */
  reference?: string;
  baselines?: BaselineName[];
  /** Run every arm under each of these topologies (default: the scenario's). */
  topologies?: ('flat' | 'hierarchical')[];
  workers?: number;
  backend?: BackendChoice;
  rounds?: number;
  timeout: number;
  dataRoot?: string;
  /** DP-SGD noise multipliers to sweep: every arm once per value (0: without DP-SGD). */
  dpSgdNoise?: number[];
}

/**
 * `fedmed bench`: every strategy × seed on the scenario, the baselines once per seed (with the first
 * strategy's runs), then a table with 95% confidence intervals, the other arms' paired differences from the
 * reference arm, and plots. A grid arm (`fedprox:proximalMu=0.01|0.1|1`) first runs each candidate on the
 * tuning seeds and keeps the best by the selection metric. Worker threads are started once and set up afresh
 * for each run; a run whose folder already holds a completed run of the same resolved scenario is read back
 * instead of run again.
 */
export async function benchCommand(file: string, given: BenchFlags): Promise<number> {
  const flags =
    given.dpSgdNoise === undefined
      ? given
      : { ...given, strategies: expandNoiseArms(given.strategies, given.dpSgdNoise) };
  const grids = flags.strategies.filter((a) => a.candidates.length > 1);
  const tuneSeeds = flags.tuneSeeds ?? [];
  if (grids.length > 0 && tuneSeeds.length === 0) {
    throw new InputError(
      `--strategies: ${grids[0]!.label} lists several values, so --tune-seeds must name the seeds that choose one`,
    );
  }
  const overlap = tuneSeeds.find((s) => flags.seeds.includes(s));
  if (overlap !== undefined) {
    throw new InputError(
      `--tune-seeds: seed ${overlap} is also in --seeds; tuning and reported seeds must differ`,
    );
  }
  const reference = flags.strategies.find(
    (a) =>
      a.label === flags.reference ||
      (a.candidates.length === 1 && a.candidates[0]!.label === flags.reference),
  );
  if (flags.reference !== undefined && reference === undefined) {
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
  const baseDir = dataRoot(flags.dataRoot, file);
  checkScenarioData(base, baseDir);
  const out = resolve(flags.out ?? `runs/${base.name}-bench`);
  const baselines = flags.baselines ?? ['local-only', 'pooled'];
  const metric = flags.select ?? 'accuracy';
  const tuningPlan = tuneSeeds.flatMap((seed) =>
    grids.flatMap((g) => g.candidates.map((arm) => ({ arm, seed, scenario: variant(base, arm, seed, []) }))),
  );
  for (const p of tuningPlan) await createStrategy(p.scenario, baseDir);
  const runner = new PlanRunner(base, baseDir, flags);
  let release: (() => void) | undefined;
  return interruptible(
    () => release?.(),
    async () => {
      release = openContainer(out, 'bench', '--out', (entries) => entries.includes('bench.csv'));
      try {
        const tuning = await runner.run(join(out, 'tuning'), tuningPlan, 'tuning ');
        const selections: Selection[] = grids.map((g) => {
          try {
            return selectCandidate(
              g.label,
              g.candidates.map((c) => c.label),
              tuning,
              metric,
              tuneSeeds,
            );
          } catch (e) {
            if (e instanceof BenchInputError) throw new InputError(`--select: ${e.message}`);
            throw e;
          }
        });
        const chosen = (spec: ArmSpec): Arm =>
          spec.candidates.find((c) => c.label === selections.find((s) => s.arm === spec.label)?.chosen) ??
          spec.candidates[0]!;
        const arms = withTopologies(flags.strategies.map(chosen), flags.topologies, base.topology ?? 'flat');
        const plan = flags.seeds.flatMap((seed) =>
          arms.map((arm, i) => ({ arm, seed, scenario: variant(base, arm, seed, i === 0 ? baselines : []) })),
        );
        for (const p of plan) await createStrategy(p.scenario, baseDir);
        const runs = await runner.run(out, plan, '');
        const table = {
          ...summarize(runs, {
            head: headOf(base.data),
            ...(flags.target ? { target: flags.target } : {}),
            ...(reference === undefined ? {} : { reference: chosen(reference).label }),
          }),
          ...(selections.length > 0 ? { selections } : {}),
        };
        const files = writeBenchTables(out, table);
        for (const m of benchMetricsFor(headOf(base.data))) await writeBenchPlots(out, runs, m);
        await writeTradeoffPlots(out, runs);
        const matrix = benchCountryMatrix(runs);
        const matrixText = matrix === undefined ? '' : `\n${countryMatrixMarkdown(matrix).join('\n')}`;
        if (matrix !== undefined) {
          appendFileSync(files.markdown, matrixText);
          writeFileSync(join(out, 'country-matrix.json'), JSON.stringify(matrix, null, 2) + '\n');
        }
        process.stdout.write(`${benchOverview(table)}${matrixText}\nbench: ${files.markdown}\n`);
        return EXIT.ok;
      } finally {
        await runner.close();
        release();
      }
    },
  );
}

/** One run to make: an arm with a seed, as its resolved scenario. */
interface PlannedRun {
  readonly arm: Arm;
  readonly seed: number;
  readonly scenario: Scenario;
}

/** Runs planned runs on worker threads started at the first run that is not reused, shared by every phase. */
class PlanRunner {
  readonly #baseDir: string;
  readonly #flags: BenchFlags;
  readonly #threads: number;
  #pool: WorkerPool | undefined;

  constructor(base: Scenario, baseDir: string, flags: BenchFlags) {
    this.#baseDir = baseDir;
    this.#flags = flags;
    this.#threads = Math.min(flags.workers ?? availableParallelism(), base.hospitals.length);
  }

  /** Runs (or reads back) each planned run into `out/<arm>/seed-<n>`; `phase` prefixes its progress lines. */
  async run(out: string, plan: readonly PlannedRun[], phase: string): Promise<BenchRun[]> {
    const runs: BenchRun[] = [];
    if (plan.length > 0) mkdirSync(out, { recursive: true });
    for (const [k, p] of plan.entries()) {
      const dir = join(out, safe(p.arm.label), `seed-${p.seed}`);
      const hash = scenarioHash(p.scenario);
      const stored = readManifest(dir);
      const reused = stored !== undefined && stored.scenarioSha256 === hash && stored.status === 'completed';
      const path = reused
        ? dir
        : await runInto(
            dir,
            p.scenario,
            hash,
            this.#baseDir,
            await this.#poolFor(p.scenario),
            this.#threads,
            this.#flags.timeout,
          );
      const read = readBenchRuns(path, p.arm.label, p.seed);
      runs.push(...read);
      const m = read[0]!.final.metrics;
      const shown = headlineMetrics(headOf(p.scenario.data))
        .slice(0, 2)
        .map((name) => `${name} ${m[name]?.toFixed(4) ?? '-'}`);
      process.stderr.write(
        `[${phase}${k + 1}/${plan.length}] ${p.arm.label} seed ${p.seed}: ${shown.join(', ')}` +
          `${reused ? ' (reused)' : ` (${read[0]!.seconds.toFixed(1)} s)`}\n`,
      );
    }
    return runs;
  }

  async close(): Promise<void> {
    await this.#pool?.close();
  }

  async #poolFor(scenario: Scenario): Promise<WorkerPool> {
    this.#pool ??= await startHospitalPool(scenario.hospitals, this.#threads, {
      timeoutMs: this.#flags.timeout * 1000,
    });
    return this.#pool;
  }
}

function variant(base: Scenario, arm: Arm, seed: number, baselines: readonly BaselineName[]): Scenario {
  try {
    return parseScenario(
      {
        ...applyOverrides(base, { seed }),
        strategy: arm.strategy,
        baselines: [...baselines],
        ...(arm.dpSgdNoise === undefined ? {} : privacyWithNoise(base, arm.dpSgdNoise)),
        ...(arm.topology === undefined ? {} : { topology: arm.topology }),
      },
      `${arm.label} with seed ${seed}`,
    );
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/**
 * Runs one planned run into `dir` (continuing an interrupted run of the same scenario there) and returns where
 * it was committed (`dir`, or beside it for a stopped run when `dir` holds a completed one). A thread that died
 * or hung ends the bench (exit 4) once the run's completed rounds are written. A first SIGINT or SIGTERM stops
 * the run after its round and the bench with it, the run kept to be resumed by the next `fedmed bench`.
 */
async function runInto(
  dir: string,
  scenario: Scenario,
  hash: string,
  baseDir: string,
  pool: WorkerPool,
  threads: number,
  timeout: number,
): Promise<string> {
  const startedAt = new Date();
  // The signal handlers come first, so no moment has a folder or lock that an interruption would leave.
  let opened: RunFolder | undefined;
  return interruptible(
    (signal) => {
      const resumable = keepIfResumable(opened);
      process.stderr.write(
        `\nfedmed: ${signal}: bench interrupted; the unfinished run ${dir} was ` +
          `${resumable ? 'kept: the next fedmed bench into the same folder resumes it' : 'removed'}\n`,
      );
    },
    async () => {
      const run = openRun(dir, scenario, hash, baseDir, canResume(dir, scenario, hash, baseDir));
      const folder = run.folder;
      opened = folder;
      let result: RunResult;
      try {
        result = await runFederation(scenario, {
          threads,
          backend: scenario.backend,
          baseDir,
          timeoutMs: timeout * 1000,
          pool,
          sink: {
            round: (r, c) => folder.round(r, c),
            crossings: (c) => folder.crossings(c),
            checkpoint: (state) => folder.saveCheckpoint(state, run.identity),
          },
          ...(run.resume === undefined ? {} : { resume: run.resume }),
          stopRequested: () => stopRequested() !== undefined,
        });
      } catch (e) {
        if (run.resume !== undefined) folder.keep();
        else if (e instanceof WorkerFailure || isInputFailure(e) || e instanceof InputError) folder.discard();
        else
          process.stderr.write(`fedmed: the unfinished records of this run are kept in ${folder.keep()}\n`);
        throw e;
      }
      if (result.interrupted === true) exitInterrupted(stopRequested() ?? 'SIGINT');
      await writeRunResult(folder, scenario, hash, result, threads, startedAt, baseDir);
      const committed = folder.commit(result.status);
      if (result.workerFailure === true) {
        throw new WorkerFailure(`${result.stopReason}; the run's completed rounds are in ${committed.path}`);
      }
      return committed.path;
    },
    { graceful: true },
  );
}

const safe = (label: string) => label.replace(/[^A-Za-z0-9.=-]/g, '_');
