import { runCountryMatrix } from '../server/outputs/country-matrix.ts';
import { headOf } from '../protocol/outcome.ts';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { applyOverrides, loadScenario, scenarioHash } from '../scenario/load.ts';
import type { BackendChoice, BaselineName, Scenario } from '../scenario/schema.ts';
import { sweepVariants } from '../scenario/sweep.ts';
import { writeSweepTables, type SweepRow } from '../server/outputs/sweep-table.ts';
import { runFederation, type RunResult } from '../server/coordinator.ts';
import { openContainer } from '../server/outputs/container.ts';
import { RunFolder } from '../server/outputs/run-folder.ts';
import { writeRunResult } from '../server/outputs/write-run.ts';
import { FEDMED_VERSION } from '../server/outputs/version.ts';
import { EXIT } from './exit-codes.ts';
import { backendOverride, checkScenarioData, dataRoot, isInputFailure } from './flags.ts';
import { interruptible, SIGNAL_EXIT, stopRequested } from './interrupt.ts';
import { hasCheckpoint, interruptedRun, keepIfResumable, openRun } from './checkpointed-run.ts';
import { InputError } from '../scenario/load.ts';
import { createProgress, type Progress } from './progress.ts';
import { WorkerFailure } from '../server/worker-pool.ts';
import { defaultThreads } from '../server/thread-count.ts';
import { closeHospitalThreads, startHospitalThreads } from './hospital-threads.ts';

/** Flags of `fedmed run`. */
export interface RunFlags {
  seed?: number;
  rounds?: number;
  workers?: number;
  out?: string;
  backend?: BackendChoice;
  baselines?: BaselineName[];
  timeout: number;
  quiet?: boolean;
  dataRoot?: string;
  /** Continue the interrupted run in this folder. */
  resume?: string;
}

/**
 * `fedmed run`: runs a scenario (or each variant of its sweep) and writes its run folder; returns the exit code.
 * Every output folder is checked before any work starts.
 */
export async function runCommand(given: string | undefined, flags: RunFlags): Promise<number> {
  if (flags.resume !== undefined && flags.out !== undefined && resolve(flags.out) !== resolve(flags.resume))
    throw new InputError(
      '--resume names the folder to continue; leave out --out (or give it the same folder)',
    );
  const interrupted =
    given === undefined && flags.resume !== undefined ? interruptedRun(resolve(flags.resume)) : undefined;
  const file = given ?? interrupted?.scenarioFile;
  if (file === undefined) throw new InputError('fedmed run: expected a scenario file (or --resume <out>)');
  const backend = backendOverride(flags.backend);
  const scenario = applyOverrides(loadScenario(file), {
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.rounds === undefined ? {} : { rounds: flags.rounds }),
    ...(backend === undefined ? {} : { backend }),
    ...(flags.baselines === undefined ? {} : { baselines: flags.baselines }),
  });
  const baseDir =
    interrupted !== undefined && flags.dataRoot === undefined
      ? interrupted.baseDir
      : dataRoot(flags.dataRoot, file);
  checkScenarioData(scenario, baseDir);
  const out = resolve(flags.resume ?? flags.out ?? `runs/${scenario.name}-seed${scenario.seed}`);
  const variants = sweepVariants(scenario);
  if (variants.length === 0) {
    RunFolder.check(out);
    return (await runOnce(scenario, baseDir, out, flags)).code;
  }
  if (flags.resume !== undefined)
    throw new InputError(
      `--resume ${out}: a sweep is resumed one variant at a time: fedmed run --resume ${join(out, '<variant>')}`,
    );
  for (const v of variants) {
    checkScenarioData(v.scenario, baseDir);
    RunFolder.check(join(out, v.label));
  }
  let release: (() => void) | undefined;
  return interruptible(
    () => release?.(),
    async () => {
      release = openContainer(out, 'sweep', '--out', (entries) => entries.includes('sweep.csv'));
      try {
        const rows: SweepRow[] = [];
        let code: number = EXIT.ok;
        for (const v of variants) {
          process.stderr.write(`fedmed: sweep ${scenario.sweep!.parameter} = ${String(v.value)}\n`);
          const once = await runOnce(v.scenario, baseDir, join(out, v.label), flags);
          rows.push({
            value: v.value,
            folder: relative(out, once.path),
            result: once.result,
            seconds: once.seconds,
          });
          if (once.code !== EXIT.ok) code = once.code;
          if (once.result.interrupted === true) return code;
        }
        writeSweepTables(out, scenario.sweep!.parameter, rows, headOf(scenario.data));
        process.stdout.write(`sweep of ${rows.length} runs: ${join(out, 'sweep.md')}\n`);
        return code;
      } finally {
        release();
      }
    },
  );
}

/**
 * One run into `out` (with `--resume`, the interrupted run there, continued). Bad input or a thread that fails
 * before the first round leaves nothing; a completed run replaces the one at `out`; a stopped run (exit 3, or 4
 * for a thread that died or hung) keeps its rounds and goes beside a completed run rather than over it; an
 * internal error leaves the unfinished folder, named on stderr. A first SIGINT or SIGTERM stops the run after
 * its current round, a second at once: either way it is kept, unlinked, to be resumed (removed if no round's
 * checkpoint was written yet), and `out` still shows what it showed before.
 */
async function runOnce(
  scenario: Scenario,
  baseDir: string,
  out: string,
  flags: RunFlags,
): Promise<{ code: number; result: RunResult; seconds: number; path: string }> {
  const startedAt = new Date();
  const threads = flags.workers ?? defaultThreads(scenario.hospitals.length);
  // The signal handlers come first, so no moment has a folder or lock that an interruption would leave.
  let opened: { folder: RunFolder; progress: Progress } | undefined;
  const hash = scenarioHash(scenario);
  return interruptible(
    (signal) => {
      opened?.progress.stop();
      const resumable = keepIfResumable(opened?.folder);
      process.stderr.write(
        `\nfedmed: ${signal}: run interrupted; ` +
          (resumable
            ? `continue it with: fedmed run --resume ${out}; `
            : 'its unfinished records were removed; ') +
          `${out} ${existsSync(out) ? 'still holds the earlier run' : 'was not written'}\n`,
      );
    },
    async () => {
      const run = openRun(out, scenario, hash, baseDir, flags.resume !== undefined);
      const folder = run.folder;
      const pool = startHospitalThreads(scenario, threads, flags.timeout * 1000);
      const progress = createProgress(scenario.rounds, flags.quiet === true);
      opened = { folder, progress };
      let result: RunResult;
      try {
        result = await runFederation(scenario, {
          threads,
          pool: await pool,
          backend: scenario.backend,
          baseDir,
          timeoutMs: flags.timeout * 1000,
          sink: {
            round: (record, crossings) => {
              folder.round(record, crossings);
              progress.round(record);
            },
            crossings: (c) => folder.crossings(c),
            checkpoint: (state) => folder.saveCheckpoint(state, run.identity),
          },
          ...(run.resume === undefined ? {} : { resume: run.resume }),
          stopRequested: () => stopRequested() !== undefined,
        });
      } catch (e) {
        progress.stop();
        if (run.resume !== undefined) {
          process.stderr.write(`fedmed: the interrupted run stays in ${folder.keep()} (resumable)\n`);
        } else if (e instanceof WorkerFailure || isInputFailure(e)) folder.discard();
        else
          process.stderr.write(`fedmed: the unfinished records of this run are kept in ${folder.keep()}\n`);
        throw e;
      } finally {
        await closeHospitalThreads(pool);
      }
      progress.stop();
      // A run that checkpoints (flat or hierarchical) waits to be resumed; one without a checkpoint writes its outputs.
      if (result.interrupted === true && hasCheckpoint(folder)) {
        folder.keep();
        const signal = stopRequested() ?? 'SIGINT';
        process.stderr.write(
          `fedmed: ${signal}: run stopped after ${result.roundsCompleted} rounds; continue it with: ` +
            `fedmed run --resume ${out}\n` +
            `fedmed: ${out} ${existsSync(out) ? 'still holds the earlier run' : 'was not written'}\n`,
        );
        return { code: SIGNAL_EXIT[signal], result, seconds: 0, path: folder.folder };
      }
      const manifest = await writeRunResult(folder, scenario, hash, result, threads, startedAt, baseDir);
      const committed = folder.commit(result.status);
      report(result, manifest.wallSeconds, committed.path);
      const seconds = manifest.wallSeconds;
      if (result.status === 'completed') return { code: EXIT.ok, result, seconds, path: committed.path };
      process.stderr.write(
        `fedmed: run stopped: ${result.stopReason}; its ${result.roundsCompleted} completed rounds are in ` +
          `${committed.path}` +
          (committed.path === out ? '\n' : ` (${out} still holds the earlier completed run)\n`),
      );
      if (result.interrupted === true)
        return { code: SIGNAL_EXIT[stopRequested() ?? 'SIGINT'], result, seconds, path: committed.path };
      const code =
        result.workerFailure === true
          ? EXIT.workerFailure
          : result.violation !== undefined
            ? EXIT.jurisdiction
            : EXIT.tooFewClients;
      return { code, result, seconds, path: committed.path };
    },
    { graceful: true },
  );
}

function report(result: RunResult, seconds: number, out: string): void {
  const f = (v: number | undefined) => v?.toFixed(4) ?? '   -  ';
  const global = result.final?.evaluate.metrics.global_auroc !== undefined;
  const final = result.final?.evaluate.metrics ?? {};
  const line = (label: string, m: Record<string, number>) =>
    `${label.padEnd(28)} ` +
    (final.mse !== undefined
      ? `mse ${f(m.mse)}  mae ${f(m.mae)}  r2 ${f(m.r2)}  global r2 ${f(m.global_r2)}`
      : final.balanced_accuracy !== undefined
        ? `accuracy ${f(m.accuracy)}  balanced ${f(m.balanced_accuracy)}  macro auroc ${f(m.auroc_macro)}  ` +
          `macro f1 ${f(m.f1_macro)}  loss ${f(m.loss)}`
        : `auroc ${f(m.auroc)}  auprc ${f(m.auprc)}  accuracy ${f(m.accuracy)}  loss ${f(m.loss)}`) +
    (global ? `  global auroc ${f(m.global_auroc)}  global auprc ${f(m.global_auprc)}` : '');
  const lines = [
    `fedmed ${FEDMED_VERSION}: ${result.status} ${result.roundsCompleted} rounds in ${seconds.toFixed(1)} s ` +
      `on ${result.threads.length} worker threads, backend ${result.backend}`,
  ];
  if (result.final) lines.push(line('federated (global model)', result.final.evaluate.metrics));
  if (result.localOnly) lines.push(line('local-only (each site alone)', result.localOnly.metrics));
  if (result.pooled) lines.push(line('pooled oracle (not sovereign)', result.pooled.metrics));
  lines.push(
    `metrics are example-weighted means of per-hospital metrics on each hospital's held-out patients` +
      (global ? '; global ones rank all those patients together from per-hospital score histograms' : ''),
    `bytes crossed: ${result.bytes.toHospitals} to hospitals, ${result.bytes.toCoordinator} to the coordinator, ` +
      `${result.bytes.crossBorder} across borders; ${result.bytes.rejected} replies rejected, ` +
      `${result.bytes.errors} error reports from hospitals`,
    ...countryLines(result),
    ...privacyLines(result.privacy),
    `outputs: ${out}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

/** Bytes across each border, and the country matrix when the country-only baseline ran. */
function countryLines(result: RunResult): string[] {
  const borders = Object.entries(result.borders ?? {});
  const lines =
    borders.length === 0
      ? []
      : [
          'across borders: ' +
            borders.map(([b, t]) => `${b} ${t.bytes} bytes in ${t.messages} messages`).join(', '),
        ];
  const matrix = runCountryMatrix(result);
  if (matrix === undefined) return lines;
  const cell = (v: number | null) => (v === null ? '-' : v.toFixed(4)).padStart(9);
  lines.push(
    `${matrix.metric} by country: trained on ↓ × evaluated on →`.padEnd(28) +
      matrix.evaluatedOn.map((c) => c.padStart(9)).join(''),
    ...matrix.rows.map(
      (r) => `  ${r.trainedOn}`.padEnd(28) + matrix.evaluatedOn.map((c) => cell(r.values[c]!)).join(''),
    ),
  );
  return lines;
}

/** What the run's privacy settings hid and spent, in a line or two; none without them. */
function privacyLines(p: RunResult['privacy']): string[] {
  if (p === undefined) return [];
  const sa = p.secureAggregation;
  const lines = [
    `privacy: secure aggregation (threshold ${sa.threshold.toFixed(3)} of each ` +
      `${sa.within === 'country' ? "country's" : "round's"} hospitals` +
      `${sa.neighbours === undefined ? '' : `, ${sa.neighbours} neighbours`}, ${sa.bits} bits); ` +
      (sa.within === 'country'
        ? "each country's aggregator saw only its country's sum, the coordinator only the countries' sums"
        : 'the coordinator saw only sums'),
  ];
  const dp = p.differentialPrivacy;
  if (dp !== undefined) {
    lines.push(
      `differential privacy: ε ${dp.epsilon.toFixed(3)} at δ ${dp.delta} after ${dp.rounds} rounds ` +
        `(q ${dp.sampleRate}, z ${dp.noiseMultiplier}, C ${dp.clipNorm})` +
        (dp.stoppedBeforeRound === undefined
          ? ''
          : `; stopped before round ${dp.stoppedBeforeRound}, which would reach ε ${dp.epsilonIfRun?.toFixed(3)} ` +
            `> budget ${dp.budget}`),
    );
  }
  return lines;
}
