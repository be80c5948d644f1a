import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  applyOverrides,
  InputError,
  loadScenario,
  scenarioHash,
  scenarioJsonSchema,
} from '../scenario/load.ts';
import { backendSchema, type BackendChoice } from '../scenario/schema.ts';
import { runFederation, type RoundRecord } from '../server/coordinator.ts';
import { RunFolder } from '../server/outputs/run-folder.ts';
import { writeRunResult } from '../server/outputs/write-run.ts';
import { FEDMED_VERSION } from '../server/outputs/version.ts';
import { WorkerFailure } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';
import { createProgress } from './progress.ts';

const BACKENDS = backendSchema.options;

function integerFlag(flag: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} expects an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

interface RunFlags {
  seed?: number;
  rounds?: number;
  workers?: number;
  out?: string;
  backend?: BackendChoice;
  localOnly?: boolean;
  timeout: number;
  quiet?: boolean;
}

/** The backend asked for: flag, then FEDMED_BACKEND, then the scenario. */
function backendOverride(flag: BackendChoice | undefined): BackendChoice | undefined {
  if (flag !== undefined) return flag;
  const env = process.env.FEDMED_BACKEND;
  if (env === undefined || env === '') return undefined;
  const parsed = backendSchema.safeParse(env);
  if (!parsed.success)
    throw new InputError(`FEDMED_BACKEND must be one of ${BACKENDS.join(', ')} (got another value)`);
  return parsed.data;
}

async function run(file: string, flags: RunFlags): Promise<number> {
  const startedAt = new Date();
  const scenario = applyOverrides(loadScenario(file), {
    ...(flags.seed === undefined ? {} : { seed: flags.seed }),
    ...(flags.rounds === undefined ? {} : { rounds: flags.rounds }),
    ...(backendOverride(flags.backend) === undefined ? {} : { backend: backendOverride(flags.backend)! }),
  });
  const hash = scenarioHash(scenario);
  const threads = flags.workers ?? scenario.hospitals.length;
  const out = resolve(flags.out ?? `runs/${scenario.name}-seed${scenario.seed}`);
  const folder = new RunFolder(out);
  folder.writeJson('scenario.json', scenario);
  const progress = createProgress(scenario.rounds, flags.quiet === true);
  let result;
  try {
    result = await runFederation(scenario, {
      threads,
      backend: scenario.backend,
      localOnly: flags.localOnly === true,
      timeoutMs: flags.timeout * 1000,
      sink: {
        round: (record: RoundRecord, crossings) => {
          folder.round(record, crossings);
          progress.round(record);
        },
        crossings: (c) => folder.crossings(c),
      },
    });
  } catch (e) {
    progress.stop();
    if (e instanceof WorkerFailure || isSetupFailure(e)) folder.discard();
    else process.stderr.write(`fedmed: records so far are kept in ${folder.staging}\n`);
    throw e;
  }
  progress.stop();
  const manifest = writeRunResult(folder, scenario, hash, result, threads, startedAt);
  folder.commit();
  report(result, manifest.wallSeconds, out);
  if (result.status === 'stopped') {
    process.stderr.write(`fedmed: run stopped: ${result.stopReason}\n`);
    return EXIT.tooFewClients;
  }
  return EXIT.ok;
}

function isSetupFailure(e: unknown): boolean {
  return e instanceof Error && /^(BackendUnavailable|SetupError)$/.test(e.name);
}

function report(result: Awaited<ReturnType<typeof runFederation>>, seconds: number, out: string): void {
  const line = (label: string, m: Record<string, number>) =>
    `${label.padEnd(26)} loss ${m.loss?.toFixed(4) ?? '-'}  accuracy ${m.accuracy?.toFixed(4) ?? '-'}  auroc ${m.auroc?.toFixed(4) ?? '-'}`;
  const lines = [
    `fedmed ${FEDMED_VERSION}: ${result.status} ${result.roundsCompleted} rounds in ${seconds.toFixed(1)} s on ${result.threads.length} worker threads, backend ${result.backend}`,
  ];
  if (result.final) lines.push(line('federated (global model)', result.final.evaluate.metrics));
  if (result.localOnly) lines.push(line('local-only (mean of sites)', result.localOnly.metrics));
  lines.push(
    `bytes crossed: ${result.bytes.toHospitals} to hospitals, ${result.bytes.toCoordinator} to the coordinator, ${result.bytes.crossBorder} across borders; ${result.bytes.rejected} replies rejected`,
    `outputs: ${out}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
}

/** Runs the CLI with the given arguments and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name('fedmed')
    .description(
      'Federated-learning simulator for medical AI: hospitals in worker threads, data that never leaves them.',
    )
    .version(FEDMED_VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code: number = EXIT.ok;
  program
    .command('run')
    .description('run a scenario and write its outputs to a folder')
    .argument('<scenario>', 'scenario JSON file')
    .option('--seed <n>', 'override the scenario seed', integerFlag('--seed', 0, 2 ** 31 - 1))
    .option('--rounds <n>', 'override the number of rounds', integerFlag('--rounds', 1, 100_000))
    .option(
      '--workers <n>',
      'most worker threads (default: one per hospital)',
      integerFlag('--workers', 1, 1024),
    )
    .option('--out <dir>', 'output folder (default: runs/<name>-seed<seed>)')
    .addOption(
      new Option('--backend <name>', 'tfjs backend (overrides FEDMED_BACKEND and the scenario)').choices(
        BACKENDS,
      ),
    )
    .option('--local-only', 'also train each hospital alone for the same total epochs, for comparison')
    .option(
      '--timeout <s>',
      'real-time guard on each call to a worker, seconds',
      integerFlag('--timeout', 1, 86_400),
      600,
    )
    .option('--quiet', 'no progress display')
    .action(async (file: string, flags: RunFlags) => {
      code = await run(file, flags);
    });
  program
    .command('schema')
    .description('print the JSON Schema of scenario files')
    .action(() => {
      process.stdout.write(JSON.stringify(scenarioJsonSchema(), null, 2) + '\n');
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    return failure(e);
  }
}

function failure(e: unknown): number {
  if (e instanceof CommanderError) {
    return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0
      ? EXIT.ok
      : EXIT.badInput;
  }
  if (e instanceof InputError || isSetupFailure(e)) {
    process.stderr.write(`fedmed: ${(e as Error).message}\n`);
    return EXIT.badInput;
  }
  if (e instanceof WorkerFailure) {
    process.stderr.write(`fedmed: ${e.message}\n`);
    return EXIT.workerFailure;
  }
  process.stderr.write(
    `fedmed: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  return EXIT.internal;
}
