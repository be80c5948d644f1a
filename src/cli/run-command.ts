import { dirname, join, resolve } from 'node:path';
import { applyOverrides, loadScenario, scenarioHash } from '../scenario/load.ts';
import type { BackendChoice, BaselineName, Scenario } from '../scenario/schema.ts';
import { sweepVariants } from '../scenario/sweep.ts';
import { writeSweepTables, type SweepRow } from '../server/outputs/sweep-table.ts';
import { runFederation, type RunResult } from '../server/coordinator.ts';
import { RunFolder } from '../server/outputs/run-folder.ts';
import { writeRunResult } from '../server/outputs/write-run.ts';
import { FEDMED_VERSION } from '../server/outputs/version.ts';
import { EXIT } from './exit-codes.ts';
import { backendOverride, isInputFailure } from './flags.ts';
import { createProgress } from './progress.ts';
import { WorkerFailure } from '../server/worker-pool.ts';

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
}

/** `fedmed run`: runs a scenario (or each variant of its sweep) and writes its run folder; returns the exit code. */
export async function runCommand(file: string, flags: RunFlags): Promise<number> {
  const backend = backendOverride(flags.backend);
  const scenario = applyOverrides(loadScenario(file), {
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.rounds === undefined ? {} : { rounds: flags.rounds }),
    ...(backend === undefined ? {} : { backend }),
    ...(flags.baselines === undefined ? {} : { baselines: flags.baselines }),
  });
  const baseDir = dirname(resolve(file));
  const out = resolve(flags.out ?? `runs/${scenario.name}-seed${scenario.seed}`);
  const variants = sweepVariants(scenario);
  if (variants.length === 0) return (await runOnce(scenario, baseDir, out, flags)).code;
  const rows: SweepRow[] = [];
  let code: number = EXIT.ok;
  for (const v of variants) {
    process.stderr.write(`fedmed: sweep ${scenario.sweep!.parameter} = ${String(v.value)}\n`);
    const once = await runOnce(v.scenario, baseDir, join(out, v.label), flags);
    rows.push({ value: v.value, folder: v.label, result: once.result, seconds: once.seconds });
    if (once.code !== EXIT.ok) code = once.code;
  }
  writeSweepTables(out, scenario.sweep!.parameter, rows);
  process.stdout.write(`sweep of ${rows.length} runs: ${join(out, 'sweep.md')}\n`);
  return code;
}

async function runOnce(
  scenario: Scenario,
  baseDir: string,
  out: string,
  flags: RunFlags,
): Promise<{ code: number; result: RunResult; seconds: number }> {
  const startedAt = new Date();
  const threads = flags.workers ?? scenario.hospitals.length;
  const folder = new RunFolder(out);
  folder.writeJson('scenario.json', scenario);
  const progress = createProgress(scenario.rounds, flags.quiet === true);
  let result: RunResult;
  try {
    result = await runFederation(scenario, {
      threads,
      backend: scenario.backend,
      baseDir,
      timeoutMs: flags.timeout * 1000,
      sink: {
        round: (record, crossings) => {
          folder.round(record, crossings);
          progress.round(record);
        },
        crossings: (c) => folder.crossings(c),
      },
    });
  } catch (e) {
    progress.stop();
    if (e instanceof WorkerFailure || isInputFailure(e)) folder.discard();
    else process.stderr.write(`fedmed: records so far are kept in ${folder.staging}\n`);
    throw e;
  }
  progress.stop();
  const manifest = await writeRunResult(
    folder,
    scenario,
    scenarioHash(scenario),
    result,
    threads,
    startedAt,
    baseDir,
  );
  folder.commit();
  report(result, manifest.wallSeconds, out);
  if (result.status === 'stopped') {
    process.stderr.write(`fedmed: run stopped: ${result.stopReason}\n`);
    const code = result.violation === undefined ? EXIT.tooFewClients : EXIT.jurisdiction;
    return { code, result, seconds: manifest.wallSeconds };
  }
  return { code: EXIT.ok, result, seconds: manifest.wallSeconds };
}

function report(result: RunResult, seconds: number, out: string): void {
  const f = (v: number | undefined) => v?.toFixed(4) ?? '   -  ';
  const global = result.final?.evaluate.metrics.global_auroc !== undefined;
  const line = (label: string, m: Record<string, number>) =>
    `${label.padEnd(28)} auroc ${f(m.auroc)}  auprc ${f(m.auprc)}  accuracy ${f(m.accuracy)}  loss ${f(m.loss)}` +
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
      `${result.bytes.crossBorder} across borders; ${result.bytes.rejected} replies rejected`,
    `outputs: ${out}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}
