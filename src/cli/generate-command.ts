import { join, relative, resolve } from 'node:path';
import { applyOverrides, InputError, loadScenario, parseScenario } from '../scenario/load.ts';
import type { Scenario, SourceConfig } from '../scenario/schema.ts';
import { hostSetup } from '../server/host-setup.ts';
import type { AdmittedReply } from '../server/boundary.ts';
import { Channel, type ExchangeFailure } from '../server/channel.ts';
import { SetupError } from '../server/setup-error.ts';
import { openContainer, writeFileAtomic } from '../server/outputs/container.ts';
import { startHospitalPool } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';
import { checkScenarioData, dataRoot } from './flags.ts';
import { defaultThreads } from '../server/thread-count.ts';

/** The column of each generated CSV that records the split. */
const SPLIT_COLUMN = 'split';

/** Flags of `fedmed generate`. */
export interface GenerateFlags {
  out: string;
  seed?: number;
  workers?: number;
  timeout: number;
  dataRoot?: string;
}

/**
 * `fedmed generate`: each hospital's worker writes its synthetic records as the files that hospital would
 * keep (CSV in its own EMR schema, or DICOM with a labels CSV), and a scenario that reads them back.
 */
export async function generateCommand(file: string, flags: GenerateFlags): Promise<number> {
  const scenario = applyOverrides(loadScenario(file), flags.seed === undefined ? {} : { seed: flags.seed });
  const baseDir = dataRoot(flags.dataRoot, file);
  checkScenarioData(scenario, baseDir);
  const out = resolve(flags.out);
  const ids = scenario.hospitals.map((h) => h.id);
  const emrClash = scenario.hospitals.findIndex((h) =>
    Object.values(h.emr?.columns ?? {}).includes(SPLIT_COLUMN),
  );
  if (emrClash >= 0) {
    throw new InputError(
      `$.hospitals[${emrClash}].emr.columns: "${SPLIT_COLUMN}" is the column generate writes each record's split into; ` +
        'expected another name',
    );
  }
  const release = openContainer(out, 'generate', '--out', (entries) =>
    entries.every((e) => e === 'scenario.json' || ids.includes(e)),
  );
  try {
    const sources = await exportAll(scenario, ids, baseDir, out, flags);
    const fromFiles = readingScenario(scenario, sources);
    writeFileAtomic(join(out, 'scenario.json'), JSON.stringify(fromFiles, null, 2) + '\n');
  } finally {
    release();
  }
  process.stdout.write(
    `wrote ${ids.length} hospitals' files and ${relative(process.cwd(), join(out, 'scenario.json'))}\n` +
      `run it with: node bin/fedmed.mjs run ${relative(process.cwd(), join(out, 'scenario.json'))}\n`,
  );
  return EXIT.ok;
}

/** Has each hospital's worker write its files into `out`; returns the sources that read them back. */
async function exportAll(
  scenario: Scenario,
  ids: readonly string[],
  baseDir: string,
  out: string,
  flags: GenerateFlags,
): Promise<SourceConfig[]> {
  const pool = await startHospitalPool(scenario.hospitals, flags.workers ?? defaultThreads(ids.length), {
    timeoutMs: flags.timeout * 1000,
  });
  try {
    const channel = new Channel(pool);
    const received = await Promise.all(
      ids.map((id) =>
        channel.exchange(
          0,
          id,
          'export-request',
          Channel.body(),
          { setup: hostSetup(scenario, scenario.backend, baseDir, id), outDir: out },
          { sizes: { parameters: 0, histogramBins: 0 }, vectors: [], counts: {} },
        ),
      ),
    );
    const failed = received.filter((r): r is ExchangeFailure => 'reason' in r);
    if (failed.length > 0) throw new SetupError(failed.map((f) => f.reason).join('; '), true);
    return received.map((r) => (r as { reply: AdmittedReply }).reply.fields.source as SourceConfig);
  } finally {
    await pool.close();
  }
}

/** The scenario with every hospital reading its generated files (already partitioned, so partition natural). */
function readingScenario(scenario: Scenario, sources: readonly SourceConfig[]): Scenario {
  return parseScenario(
    {
      ...scenario,
      name: `${scenario.name}-files`.slice(0, 63),
      data: { ...scenario.data, partition: { kind: 'natural' } },
      hospitals: scenario.hospitals.map((h, i) => ({ ...h, source: sources[i] })),
    },
    'the generated scenario',
  );
}
