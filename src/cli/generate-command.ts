import { join, relative, resolve } from 'node:path';
import { applyOverrides, InputError, loadScenario, parseScenario } from '../scenario/load.ts';
import type { BackendChoice, Scenario, SourceConfig } from '../scenario/schema.ts';
import { hostSetup } from '../server/host-setup.ts';
import { openContainer, writeFileAtomic } from '../server/outputs/container.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';
import { checkScenarioData, dataRoot } from './flags.ts';

/** The column of each generated CSV that records the split. */
const SPLIT_COLUMN = 'split';

/** Flags of `fedmed generate`. */
export interface GenerateFlags {
  out: string;
  seed?: number;
  workers?: number;
  backend?: BackendChoice;
  timeout: number;
  dataRoot?: string;
}

/**
 * `fedmed generate`: each hospital's worker writes its synthetic records as the files that hospital would
 * keep (CSV in its own EMR schema, or DICOM with a labels CSV), and a scenario that reads them back.
 */
export async function generateCommand(file: string, flags: GenerateFlags): Promise<number> {
  const scenario = applyOverrides(loadScenario(file), flags.seed === undefined ? {} : { seed: flags.seed });
  const root = dataRoot(flags.dataRoot, file);
  checkScenarioData(scenario, root);
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
    const pool = await WorkerPool.start(
      ids,
      flags.workers ?? ids.length,
      () => hostSetup(scenario, flags.backend ?? 'cpu', root, []),
      flags.timeout * 1000,
    );
    let sources: SourceConfig[];
    try {
      sources = await Promise.all(
        ids.map((id) =>
          pool.call(
            id,
            'writing files',
            async (host): Promise<SourceConfig> => (await host.exportData(id, out)) as SourceConfig,
          ),
        ),
      );
    } finally {
      await pool.close();
    }
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
