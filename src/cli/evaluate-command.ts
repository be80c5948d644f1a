import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { InputError, parseScenario } from '../scenario/load.ts';
import {
  hospitalSchema,
  type BackendChoice,
  type HospitalConfig,
  type Scenario,
  type SourceConfig,
} from '../scenario/schema.ts';
import { parameterSpec } from '../models/architecture.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import { headOf } from '../protocol/outcome.ts';
import { MAX_HOSPITAL_EXAMPLES } from '../protocol/metric-names.ts';
import type { MessageSizes } from '../protocol/kinds.ts';
import { isOwnData, usesFederatedStatistics } from '../protocol/own-data-layout.ts';
import { TRANSFORM_VECTORS } from '../common/column-stats.ts';
import { readBounded } from '../common/bounded-read.ts';
import { readRunText } from '../report/read-json.ts';
import { sha256 } from '../common/hash.ts';
import { evaluationVectors, ownDataSizes } from '../server/preprocessing.ts';
import { TRANSFORM_FILE } from '../server/outputs/write-run.ts';
import { evaluateReplyOf } from '../server/boundary.ts';
import { Channel, type Received } from '../server/channel.ts';
import { SetupError } from '../server/setup-error.ts';
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
  const { site, root, files } = siteFor(scenario, flags);
  const transform =
    isOwnData(scenario.data) && usesFederatedStatistics(scenario.data) ? readTransform(run, scenario) : [];
  const sizes: MessageSizes = {
    parameters: parameters.length,
    histogramBins: scenario.evaluation.histogramBins,
    ...ownDataSizes(scenario.data),
  };
  const pool = await WorkerPool.start([SITE], 1, { timeoutMs: flags.timeout * 1000 });
  let received: Received;
  try {
    received = await new Channel(pool).exchange(
      0,
      SITE,
      'score-request',
      Channel.body([['parameters', parameters], ...transform]),
      hostSetup(
        {
          ...scenario,
          hospitals: [site],
          faults: [],
          data: { ...scenario.data, partition: { kind: 'natural' } } as Scenario['data'],
        },
        flags.backend ?? scenario.backend,
        root,
        SITE,
      ),
      {
        sizes,
        vectors: evaluationVectors(sizes),
        counts: { numExamples: { min: 0, max: MAX_HOSPITAL_EXAMPLES } },
        files: files.map((f) => resolve(root, f)),
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
  return parseScenario(readRunJson(file), file);
}

function readParameters(run: string, scenario: Scenario): Float32Array {
  const file = join(run, 'model', 'parameters.f32');
  if (!existsSync(file)) throw new InputError(`${run}: no final model (model/parameters.f32)`);
  const bytes = readFileSync(file);
  const expected = parameterSpec(scenario.model, inputShapeOf(scenario.data), headOf(scenario.data)).length;
  if (bytes.byteLength !== expected * 4) {
    throw new InputError(`${file}: expected ${expected} float32 parameters for the run's model`);
  }
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * The site whose data is scored: a hospital of the run (its EMR schema, or its own column names, units and
 * codes, apply) or one on the run's declared layout. Its paths are relative to `root`, the folder holding the
 * data named on the command line, which is the data root its worker confines them to.
 */
function siteFor(
  scenario: Scenario,
  flags: EvaluateFlags,
): { site: HospitalConfig; root: string; files: string[] } {
  const base =
    flags.hospital === undefined ? undefined : scenario.hospitals.find((h) => h.id === flags.hospital);
  if (flags.hospital !== undefined && base === undefined) {
    throw new InputError(`--hospital ${flags.hospital}: the run has no such hospital`);
  }
  const data = resolve(flags.data);
  if (!existsSync(data)) throw new InputError(`--data ${flags.data}: no such file or folder`);
  const real = realpathSync(data);
  const kind = scenario.data.kind;
  const folder = statSync(real).isDirectory();
  const images = kind === 'image-folder' || kind === 'synthetic-imaging';
  if (folder !== images) {
    throw new InputError(
      `--data ${flags.data}: the run's data is ${kind}; expected ${images ? 'a folder of images' : 'a CSV file'}`,
    );
  }
  let source: SourceConfig;
  let root: string;
  let files: string[];
  if (folder) {
    const labels = resolve(flags.labels ?? join(data, 'labels.csv'));
    if (!existsSync(labels)) throw new InputError(`--labels ${labels}: no such file`);
    const realLabels = realpathSync(labels);
    root = commonFolder(real, dirname(realLabels));
    const where = { folder: relative(root, real) || '.', labels: relative(root, realLabels) };
    const own = base?.source.kind === 'image-folder' ? base.source : undefined;
    source =
      kind === 'image-folder'
        ? {
            kind: 'image-folder',
            ...where,
            fileColumn: own?.fileColumn ?? 'file',
            labelColumn: own?.labelColumn ?? 'label',
            codes: own?.codes ?? {},
            split: { kind: 'fraction' },
          }
        : { kind: 'dicom', ...where, fileColumn: 'file', labelColumn: 'lesion', split: { kind: 'fraction' } };
    files = [where.folder, where.labels];
  } else {
    root = dirname(real);
    const path = basename(real);
    const own = base?.source.kind === 'table' ? base.source : undefined;
    source =
      kind === 'tabular'
        ? {
            kind: 'table',
            path,
            columns: own?.columns ?? {},
            units: own?.units ?? {},
            codes: own?.codes ?? {},
            missing: own?.missing ?? [''],
            split: { kind: 'fraction' },
          }
        : { kind: 'csv', path, split: { kind: 'fraction' } };
    files = [path];
  }
  const site = hospitalSchema.parse({
    id: SITE,
    country: base?.country ?? 'ZZ',
    patients: 20,
    ...(base?.emr === undefined ? {} : { emr: base.emr }),
    source,
  });
  return { site, root, files };
}

/**
 * The run's federated input transform, as its worker needs it: read from the run folder and checked against
 * the hash the manifest recorded, so a replaced file cannot silently rescale the site's data.
 */
function readTransform(run: string, scenario: Scenario): [string, Float64Array][] {
  const file = join(run, TRANSFORM_FILE);
  const columns = ownDataSizes(scenario.data).columns ?? 0;
  const fail = (expected: string): never => {
    throw new InputError(`${file}: expected ${expected}`);
  };
  const bytes = readBounded(file, 3 * 8 * columns, fail);
  if (bytes.byteLength !== 3 * 8 * columns) fail(`${3 * columns} float64 values (centre, scale, fill)`);
  const manifestFile = join(run, 'manifest.json');
  const manifest = readRunJson(manifestFile) as {
    preprocessing?: { transformSha256?: unknown };
  } | null;
  const recorded: unknown = manifest?.preprocessing?.transformSha256;
  if (recorded !== sha256(bytes)) fail("the transform whose SHA-256 the run's manifest records");
  const all = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const vectors = TRANSFORM_VECTORS.map(
    (name, i) => [name, all.slice(i * columns, (i + 1) * columns)] as const,
  );
  for (const [name, v] of vectors)
    if (!v.every((x) => Number.isFinite(x) && (name !== 'scale' || x !== 0)))
      fail(`finite centres and fills and non-zero finite scales (its ${name} is not)`);
  return vectors.map(([name, v]) => [name, v]);
}

/** A run folder's JSON file, read bounded; an InputError names it when it does not parse (cut or edited). */
function readRunJson(file: string): unknown {
  const text = readRunText(file);
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`${file}: expected a JSON file as fedmed wrote it; it does not parse`);
  }
}

/** The deepest folder holding both folders. */
function commonFolder(a: string, b: string): string {
  let common = a;
  while (relative(common, b).startsWith('..')) common = dirname(common);
  return common;
}
