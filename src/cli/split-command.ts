import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MAX_HOSPITAL_EXAMPLES } from '../protocol/metric-names.ts';
import { InputError } from '../scenario/load.ts';
import type { PartitionConfig } from '../scenario/schema.ts';
import { Channel } from '../server/channel.ts';
import { SetupError } from '../server/setup-error.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { EXIT } from './exit-codes.ts';

/** Flags of `fedmed split`. */
export interface SplitFlags {
  hospitals: number;
  partition: 'iid' | 'dirichlet' | 'pathological' | 'quantity-skew';
  alpha?: number;
  minPerHospital?: number;
  classesPerHospital?: number;
  sigma?: number;
  seed: number;
  out: string;
  label?: string;
  labels?: string;
  fileColumn: string;
  timeout: number;
}

/** The name under which the worker that reads the pooled dataset is reached. */
const READER = 'dataset';

/**
 * `fedmed split`: one pooled CSV or image folder into per-hospital files and a scenario that reads them. The
 * dataset is read in a worker thread (the CLI never touches records); the same seed gives the same files.
 */
export async function splitCommand(dataset: string, flags: SplitFlags): Promise<number> {
  const path = resolve(dataset);
  if (!existsSync(path)) throw new InputError(`${dataset}: expected an existing CSV file or image folder`);
  const out = resolve(flags.out);
  if (existsSync(out) && (!statSync(out).isDirectory() || existsSync(join(out, 'scenario.json')))) {
    throw new InputError(
      `--out ${flags.out}: expected a new or empty folder (it already holds a scenario or is a file)`,
    );
  }
  const partition = partitionOf(flags);
  const ids = Array.from({ length: flags.hospitals }, (_, h) => `hospital-${h + 1}`);
  const labels = flags.labels === undefined ? undefined : resolve(flags.labels);
  const pool = await WorkerPool.start([READER], 1, { timeoutMs: flags.timeout * 1000 });
  try {
    const received = await new Channel(pool).exchange(
      0,
      READER,
      'split-request',
      Channel.body(),
      {
        dataset: path,
        ...(labels === undefined ? {} : { labels }),
        ...(flags.label === undefined ? {} : { labelColumn: flags.label }),
        fileColumn: flags.fileColumn,
        hospitals: flags.hospitals,
        partition,
        seed: flags.seed,
        outDir: out,
      },
      {
        sizes: { parameters: 0, histogramBins: 0 },
        vectors: [],
        counts: Object.fromEntries(ids.map((id) => [`rows.${id}`, { min: 2, max: MAX_HOSPITAL_EXAMPLES }])),
        hospitals: ids,
        files: [path, ...(labels === undefined ? [] : [labels])],
      },
    );
    if ('reason' in received)
      throw new SetupError(received.reason, received.report?.category === 'bad-input');
    const rows = received.reply.fields.rows as Record<string, number>;
    process.stdout.write(
      `fedmed split: ${ids.map((id) => `${id} ${rows[id]} rows`).join(', ')}\nscenario: ${join(out, 'scenario.json')}\n`,
    );
    return EXIT.ok;
  } finally {
    await pool.close();
  }
}

function partitionOf(f: SplitFlags): PartitionConfig {
  switch (f.partition) {
    case 'iid':
      return { kind: 'iid' };
    case 'dirichlet':
      if (f.alpha === undefined) throw new InputError('--partition dirichlet needs --alpha');
      return { kind: 'dirichlet', alpha: f.alpha, minPerHospital: f.minPerHospital ?? 2 };
    case 'pathological':
      if (f.classesPerHospital === undefined)
        throw new InputError('--partition pathological needs --classes-per-hospital');
      return { kind: 'pathological', classesPerClient: f.classesPerHospital };
    case 'quantity-skew':
      return {
        kind: 'quantity-skew',
        distribution: 'lognormal',
        sigma: f.sigma ?? 1,
        exponent: 1,
      } as PartitionConfig;
  }
}
