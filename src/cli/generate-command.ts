import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { applyOverrides, loadScenario, parseScenario } from '../scenario/load.ts';
import type { BackendChoice, Scenario, SourceConfig } from '../scenario/schema.ts';
import { hostSetup } from '../server/host-setup.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';
import { checkScenarioData, dataRoot } from './flags.ts';

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
  mkdirSync(out, { recursive: true });
  const ids = scenario.hospitals.map((h) => h.id);
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
  writeFileSync(join(out, 'scenario.json'), JSON.stringify(fromFiles, null, 2) + '\n');
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
