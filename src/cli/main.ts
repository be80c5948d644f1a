import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { InputError, scenarioJsonSchema } from '../scenario/load.ts';
import { FEDMED_VERSION } from '../server/outputs/version.ts';
import { ProtocolViolation } from '../server/boundary.ts';
import { SetupError } from '../server/coordinator.ts';
import { WorkerFailure } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';
import { parseArms } from './bench-arms.ts';
import { parseNoiseList } from './bench-noise.ts';
import type { BenchFlags } from './bench-command.ts';
import { parseSeeds, parseTarget } from './bench-flags.ts';
import type { EvaluateFlags } from './evaluate-command.ts';
import { BACKENDS, integerFlag, isInputFailure, listFlag } from './flags.ts';
import type { GenerateFlags } from './generate-command.ts';
import type { ReportFlags } from './report-command.ts';
// Each command's module loads when that command runs, so a command does not load what only the others use.
import type { RunFlags } from './run-command.ts';
import type { VerifyFlags } from './verify-command.ts';
import { JurisdictionViolation } from '../server/jurisdiction/violation.ts';
import type { SplitFlags } from './split-command.ts';
import type { ServeFlags } from './serve-command.ts';

const backendOption = () =>
  new Option('--backend <name>', 'training backend (overrides FEDMED_BACKEND and the scenario)').choices(
    BACKENDS,
  );
const dataRootOption = () =>
  new Option(
    '--data-root <dir>',
    "folder the scenario's relative paths resolve against and hospitals' data may not leave (default: the scenario's folder)",
  );
const timeoutOption = () =>
  new Option('--timeout <s>', 'real-time guard on each call to a worker, seconds')
    .argParser(integerFlag('--timeout', 1, 86_400))
    .default(600);

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
    .argument('[scenario]', 'scenario JSON file (optional with --resume)')
    .option('--seed <n>', 'override the scenario seed', integerFlag('--seed', 0, 2 ** 31 - 1))
    .option('--rounds <n>', 'override the number of rounds', integerFlag('--rounds', 1, 100_000))
    .option(
      '--workers <n>',
      'most worker threads (default: the cores, at most one per hospital)',
      integerFlag('--workers', 1, 1024),
    )
    .option('--out <dir>', 'output folder (default: runs/<name>-seed<seed>)')
    .addOption(backendOption())
    .option(
      '--baselines <list>',
      'override the scenario baselines: local-only,pooled,country-only (empty for none)',
      listFlag('--baselines', ['local-only', 'pooled', 'country-only'] as const),
    )
    .addOption(timeoutOption())
    .addOption(dataRootOption())
    .option('--quiet', 'no progress display')
    .option('--resume <out>', 'continue the run in <out> that Ctrl-C, SIGTERM or a kill interrupted')
    .action(async (file: string | undefined, flags: RunFlags) => {
      code = await (await import('./run-command.ts')).runCommand(file, flags);
    });
  program
    .command('generate')
    .description("write each hospital's synthetic records as its own files, and a scenario that reads them")
    .argument('<scenario>', 'scenario JSON file')
    .requiredOption('--out <dir>', 'folder for the files')
    .option('--seed <n>', 'override the scenario seed', integerFlag('--seed', 0, 2 ** 31 - 1))
    .option(
      '--workers <n>',
      'most worker threads (default: the cores, at most one per hospital)',
      integerFlag('--workers', 1, 1024),
    )
    .addOption(timeoutOption())
    .addOption(dataRootOption())
    .action(async (file: string, flags: GenerateFlags) => {
      code = await (await import('./generate-command.ts')).generateCommand(file, flags);
    });
  program
    .command('evaluate')
    .description("score a finished run's model on a hospital's new local data")
    .argument('<run>', 'run folder written by fedmed run')
    .requiredOption('--data <path>', 'CSV file, or folder of DICOM images')
    .option('--labels <csv>', 'labels CSV for DICOM images (default: <folder>/labels.csv)')
    .option('--hospital <id>', "read the data in this run hospital's EMR schema")
    .option('--out <file>', 'also write the metrics as JSON')
    .addOption(backendOption())
    .addOption(timeoutOption())
    .action(async (run: string, flags: EvaluateFlags) => {
      code = await (await import('./evaluate-command.ts')).evaluateCommand(run, flags);
    });
  program
    .command('bench')
    .description(
      'compare strategies over seeds, beside local-only and pooled baselines, with 95% CIs and plots',
    )
    .argument('<scenario>', 'scenario JSON file')
    .requiredOption(
      '--strategies <list>',
      'arms: fedavg,fedprox:proximalMu=0.1,fedadam:eta=0.01,…; a|b|c lists a grid',
      parseArms,
    )
    .option('--seeds <n|list>', 'seed count (seeds 1…n) or list', parseSeeds, [1, 2, 3, 4, 5])
    .option(
      '--tune-seeds <list>',
      'seeds on which a grid arm (fedprox:proximalMu=0.01|0.1|1) chooses its candidate; none of --seeds',
      parseSeeds,
    )
    .option('--select <metric>', "final metric that chooses a grid's candidate (default accuracy)")
    .option('--reference <arm>', 'arm the others are compared with, paired by seed (default: the first)')
    .option('--out <dir>', 'output folder (default: runs/<name>-bench); completed runs in it are reused')
    .option(
      '--target <metric=value>',
      'also count rounds until the aggregated metric reaches value',
      parseTarget,
    )
    .option(
      '--baselines <list>',
      'baselines per seed (default local-only,pooled; empty for none)',
      listFlag('--baselines', ['local-only', 'pooled', 'country-only'] as const),
    )
    .option(
      '--topologies <list>',
      "run every arm under each topology: flat,hierarchical (default: the scenario's)",
      listFlag('--topologies', ['flat', 'hierarchical'] as const),
    )
    .option('--rounds <n>', 'override the number of rounds', integerFlag('--rounds', 1, 100_000))
    .option(
      '--workers <n>',
      'worker threads (default: the cores, at most one per hospital)',
      integerFlag('--workers', 1, 1024),
    )
    .option(
      '--dp-sgd-noise <list>',
      "sweep DP-SGD's noise multiplier: every arm once per value (0: without DP-SGD), for the privacy–utility plots",
      parseNoiseList,
    )
    .addOption(backendOption())
    .addOption(timeoutOption())
    .addOption(dataRootOption())
    .action(async (file: string, flags: BenchFlags) => {
      code = await (await import('./bench-command.ts')).benchCommand(file, flags);
    });
  const numberFlag = (flag: string, min: number, max: number) => (text: string) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} expects a number from ${min} to ${max}.`);
    return n;
  };
  program
    .command('split')
    .description(
      'divide one pooled CSV or image folder into per-hospital files and a scenario that reads them',
    )
    .argument('<dataset>', 'CSV file (label in its last column, or --label), or image folder with labels.csv')
    .requiredOption('--hospitals <n>', 'number of hospitals', integerFlag('--hospitals', 2, 1000))
    .addOption(
      new Option('--partition <kind>', 'how records are divided')
        .choices(['iid', 'dirichlet', 'pathological', 'quantity-skew'])
        .default('iid'),
    )
    .option(
      '--alpha <a>',
      'dirichlet: concentration (small: strong label skew)',
      numberFlag('--alpha', 0.001, 1e6),
    )
    .option(
      '--min-per-hospital <n>',
      'dirichlet: redraw until each hospital holds this many',
      integerFlag('--min-per-hospital', 2, 1e9),
    )
    .option(
      '--classes-per-hospital <k>',
      'pathological: classes each hospital holds',
      integerFlag('--classes-per-hospital', 1, 256),
    )
    .option('--sigma <s>', 'quantity-skew: standard deviation of log size', numberFlag('--sigma', 0.001, 5))
    .option('--seed <n>', 'seed of the partition', integerFlag('--seed', 0, 2 ** 31 - 1), 1)
    .requiredOption('--out <dir>', "new folder for the hospitals' files and scenario.json")
    .option('--label <column>', 'the outcome column (default: the last column; label for images)')
    .option('--labels <csv>', 'labels CSV of an image folder (default: <folder>/labels.csv)')
    .option('--file-column <column>', 'image file column of the labels CSV', 'file')
    .addOption(timeoutOption())
    .action(async (dataset: string, flags: SplitFlags) => {
      code = await (await import('./split-command.ts')).splitCommand(dataset, flags);
    });
  program
    .command('verify')
    .description(
      "check a run folder: the crossing record's hash chain, every total, each crossing against the policies",
    )
    .argument('<run>', 'run folder written by fedmed run')
    .option('--rerun', 'also run the scenario again and compare the final model and the chain head')
    .option(
      '--workers <n>',
      'worker threads for --rerun (default: the cores, at most one per hospital)',
      integerFlag('--workers', 1, 1024),
    )
    .addOption(timeoutOption())
    .action(async (run: string, flags: VerifyFlags) => {
      code = await (await import('./verify-command.ts')).verifyCommand(run, flags);
    });
  program
    .command('report')
    .description('write one self-contained HTML file showing a run or a bench folder')
    .argument('<folder>', 'run folder (fedmed run) or bench folder (fedmed bench)')
    .option('--out <file>', 'where to write it (default: <folder>/report.html)')
    .action(async (folder: string, flags: ReportFlags) => {
      code = await (await import('./report-command.ts')).reportCommand(folder, flags);
    });
  program
    .command('serve')
    .description('the live dashboard: start, watch and replay federations in a browser')
    .option('--host <address>', 'address to listen on (an IP address of this machine)', '127.0.0.1')
    .option('--port <n>', 'port to listen on (0: any free port)', integerFlag('--port', 0, 65_535), 8080)
    .option('--runs <dir>', 'folder of run folders: runs are written and replayed here', 'runs')
    .option(
      '--workers <n>',
      'most worker threads per run (default: the cores, at most one per hospital)',
      integerFlag('--workers', 1, 1024),
    )
    .addOption(timeoutOption())
    .action(async (flags: ServeFlags) => {
      code = await (await import('./serve-command.ts')).serveCommand(flags);
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
  if (e instanceof InputError || e instanceof ProtocolViolation || isInputFailure(e)) {
    process.stderr.write(`fedmed: ${(e as Error).message}\n`);
    return EXIT.badInput;
  }
  if (e instanceof SetupError) {
    process.stderr.write(`fedmed: ${e.message}\n`);
    return EXIT.internal;
  }
  if (e instanceof JurisdictionViolation) {
    process.stderr.write(`fedmed: ${e.message}\n`);
    return EXIT.jurisdiction;
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
