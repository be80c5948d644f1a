import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InputError, parseScenario } from '../scenario/load.ts';
import {
  hospitalSchema,
  type BackendChoice,
  type HospitalConfig,
  type Scenario,
} from '../scenario/schema.ts';
import { parameterSpec } from '../models/architecture.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import { MAX_HOSPITAL_EXAMPLES } from '../protocol/metric-names.ts';
import { evaluateReplyOf } from '../server/boundary.ts';
import { Channel, type Received } from '../server/channel.ts';
import { SetupError } from '../server/coordinator.ts';
import { hostSetup } from '../server/host-setup.ts';
import { writeFileAtomic } from '../server/outputs/container.ts';
import { describeErrno } from '../scenario/data-paths.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';

/** Flags of `fedmed evaluate`. */
export interface EvaluateFlags {
  data: string;
  labels?: string;
  hospital?: string;
  backend?: BackendChoice;
  out?: string;
  timeout: number;
}

const SITE = 'evaluation-site';

/**
 * `fedmed evaluate`: scores a finished run's model on a hospital's new local data (a CSV in that hospital's
 * schema, or a folder of DICOM images with a labels CSV). The data is read inside a worker; only metrics return.
 */
export async function evaluateCommand(runDir: string, flags: EvaluateFlags): Promise<number> {
  const run = resolve(runDir);
  const scenario = readRun(run);
  const parameters = readParameters(run, scenario);
  const { site, root } = siteFor(scenario, flags);
  const pool = await WorkerPool.start([SITE], 1, { timeoutMs: flags.timeout * 1000 });
  const bins = scenario.evaluation.histogramBins;
  let received: Received;
  try {
    received = await new Channel(pool).exchange(
      0,
      SITE,
      'score-request',
      Channel.body([['parameters', parameters]]),
      hostSetup(
        {
          ...scenario,
          hospitals: [site],
          faults: [],
          data: { ...scenario.data, partition: { kind: 'natural' } },
        },
        flags.backend ?? scenario.backend,
        root,
        SITE,
      ),
      {
        sizes: { parameters: parameters.length, histogramBins: bins },
        vectors: bins > 0 ? ['histogram'] : [],
        counts: { numExamples: { min: 0, max: MAX_HOSPITAL_EXAMPLES } },
        files: (site.source.kind === 'csv'
          ? [site.source.path]
          : site.source.kind === 'dicom'
            ? [site.source.folder, site.source.labels]
            : []
        ).map((f) => resolve(root, f)),
      },
    );
  } finally {
    await pool.close();
  }
  if ('reason' in received) throw new SetupError(received.reason, received.report?.category === 'bad-input');
  const reply = evaluateReplyOf(received.reply);
  const result = { run, data: resolve(flags.data), numExamples: reply.numExamples, metrics: reply.metrics };
  if (flags.out !== undefined) {
    try {
      writeFileAtomic(resolve(flags.out), JSON.stringify(result, null, 2) + '\n');
    } catch (e) {
      const why = describeErrno((e as NodeJS.ErrnoException).code);
      throw new InputError(`--out ${resolve(flags.out)}: cannot write the metrics there (${why})`);
    }
  }
  const names = Object.keys(reply.metrics).filter((m) => !m.includes('__'));
  process.stdout.write(
    `${reply.numExamples} examples from ${result.data}\n` +
      names.map((m) => `  ${m.padEnd(12)} ${reply.metrics[m]!.toFixed(4)}`).join('\n') +
      '\n',
  );
  return EXIT.ok;
}

function readRun(run: string): Scenario {
  const file = join(run, 'scenario.json');
  if (!existsSync(file)) throw new InputError(`${run}: not a run folder (no scenario.json)`);
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
}

function readParameters(run: string, scenario: Scenario): Float32Array {
  const file = join(run, 'model', 'parameters.f32');
  if (!existsSync(file)) throw new InputError(`${run}: no final model (model/parameters.f32)`);
  const bytes = readFileSync(file);
  const expected = parameterSpec(scenario.model, inputShapeOf(scenario.data)).length;
  if (bytes.byteLength !== expected * 4) {
    throw new InputError(`${file}: expected ${expected} float32 parameters for the run's model`);
  }
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * The site whose data is scored: a hospital of the run (its EMR schema applies) or one on the common data
 * model. Its paths are relative to `root`, the folder holding the data named on the command line, which is
 * the data root its worker confines them to.
 */
function siteFor(scenario: Scenario, flags: EvaluateFlags): { site: HospitalConfig; root: string } {
  const base =
    flags.hospital === undefined ? undefined : scenario.hospitals.find((h) => h.id === flags.hospital);
  if (flags.hospital !== undefined && base === undefined) {
    throw new InputError(`--hospital ${flags.hospital}: the run has no such hospital`);
  }
  const data = resolve(flags.data);
  if (!existsSync(data)) throw new InputError(`--data ${flags.data}: no such file or folder`);
  const real = realpathSync(data);
  let source: { kind: 'csv'; path: string } | { kind: 'dicom'; folder: string; labels: string };
  let root: string;
  if (statSync(real).isDirectory()) {
    const labels = resolve(flags.labels ?? join(data, 'labels.csv'));
    if (!existsSync(labels)) throw new InputError(`--labels ${labels}: no such file`);
    const realLabels = realpathSync(labels);
    root = commonFolder(real, dirname(realLabels));
    source = { kind: 'dicom', folder: relative(root, real) || '.', labels: relative(root, realLabels) };
  } else {
    root = dirname(real);
    source = { kind: 'csv', path: basename(real) };
  }
  const site = hospitalSchema.parse({
    id: SITE,
    country: base?.country ?? 'ZZ',
    patients: 20,
    ...(base?.emr === undefined ? {} : { emr: base.emr }),
    source: { ...source, split: { kind: 'fraction' } },
  });
  return { site, root };
}

/** The deepest folder holding both folders. */
function commonFolder(a: string, b: string): string {
  let common = a;
  while (relative(common, b).startsWith('..')) common = dirname(common);
  return common;
}
