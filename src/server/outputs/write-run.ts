import { runCountryMatrix } from './country-matrix.ts';
import { sha256 } from '../../common/hash.ts';
import { headOf } from '../../protocol/outcome.ts';
import type { Scenario } from '../../scenario/schema.ts';
import type { RunResult } from '../coordinator.ts';
import { complianceMarkdown } from '../compliance/markdown.ts';
import type { ChainHead } from '../ledger.ts';
import type { RunFolder } from './run-folder.ts';
import { FEDMED_VERSION } from './version.ts';

/**
 * The federated input transform of a run on own data (little-endian float64: centre, scale, fill per input
 * column), which scoring new data needs; its SHA-256 is the manifest's `preprocessing.transformSha256`.
 */
export const TRANSFORM_FILE = 'model/transform.f64';

/** What identifies a run and what it produced; written as manifest.json. */
export interface Manifest {
  readonly fedmed: string;
  readonly node: string;
  readonly platform: string;
  readonly backend: string;
  /** tfjs-core version the hospitals trained with; `unused` on backend js. */
  readonly tfjs: string;
  readonly workers: {
    readonly requested: number;
    /** Worker threads actually started and set up. */
    readonly started: number;
    readonly threadIds: readonly number[];
    /** Thread index of each hospital. */
    readonly assignment: Record<string, number>;
  };
  readonly seed: number;
  /** SHA-256 of the resolved scenario's canonical JSON. */
  readonly scenarioSha256: string;
  /** SHA-256 of the final model's parameters (little-endian float32). */
  readonly finalModelSha256: string;
  readonly status: RunResult['status'];
  readonly stopReason?: string;
  readonly roundsCompleted: number;
  readonly strategy: Record<string, unknown>;
  readonly evaluation: string;
  readonly bytes: RunResult['bytes'];
  readonly baselineBytes: RunResult['baselineBytes'];
  /** The crossing record's hash chain: how many entries, what the first links to, the last one's hash. */
  readonly ledger: ChainHead;
  /** Whether policies were declared, and whether the federation kept to them (details in compliance.json). */
  readonly jurisdiction: {
    readonly policies: boolean;
    readonly status: RunResult['compliance']['status'];
    readonly violations: number;
  };
  /** Folder the scenario's relative paths resolved against (part of what hospitals were told at setup). */
  readonly baseDir: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  /** Real seconds of the federation (setup and rounds) and of each baseline that ran. */
  readonly seconds: RunResult['seconds'];
  /** Privacy settings and the ε spent, when the scenario asks for privacy. */
  readonly privacy?: RunResult['privacy'];
  /** Own data: the scaling chosen, the transform's hash and what each hospital reported missing. */
  readonly preprocessing?: RunResult['preprocessing'];
}

/** The topology, traffic per border, the country-only baseline and the country matrix, for summary.json. */
function countrySummary(scenario: Scenario, result: RunResult): Record<string, unknown> {
  const matrix = runCountryMatrix(result);
  return {
    ...(scenario.topology === undefined ? {} : { topology: scenario.topology }),
    ...(result.borders === undefined ? {} : { borders: result.borders }),
    ...(result.countryOnly === undefined ? {} : { countryOnly: result.countryOnly }),
    ...(matrix === undefined ? {} : { countryMatrix: matrix }),
  };
}

/** Writes the model, the final summary and the manifest of a finished or stopped run. */
export async function writeRunResult(
  folder: RunFolder,
  scenario: Scenario,
  scenarioSha256: string,
  result: RunResult,
  workersRequested: number,
  startedAt: Date,
  baseDir: string,
): Promise<Manifest> {
  const finalModelSha256 = sha256(result.parameters);
  folder.writeBytes('model/parameters.f32', result.parameters);
  if (result.transform !== undefined) folder.writeBytes(TRANSFORM_FILE, result.transform);
  folder.writeJson('model/spec.json', {
    format: 'flat little-endian float32, tensors laid end to end in this order',
    model: scenario.model,
    inputShape: result.inputShape,
    length: result.spec.length,
    tensors: result.spec.tensors,
    sha256: finalModelSha256,
  });
  // tfjs is loaded only now, once the run is over: the coordinator itself runs without it.
  const { exportTfjsModel, WEIGHTS_FILE } = await import('../../models/export.ts');
  const tfjs = await exportTfjsModel(
    scenario.model,
    result.inputShape,
    result.parameters,
    headOf(scenario.data),
  );
  folder.writeJson('model/tfjs/model.json', tfjs.modelJson);
  folder.writeBytes(`model/tfjs/${WEIGHTS_FILE}`, tfjs.weights);
  folder.writeJson('summary.json', {
    status: result.status,
    ...(result.stopReason === undefined ? {} : { stopReason: result.stopReason }),
    roundsCompleted: result.roundsCompleted,
    federated: result.final?.evaluate ?? null,
    ...(result.localOnly === undefined ? {} : { localOnly: result.localOnly }),
    ...(result.pooled === undefined ? {} : { pooled: result.pooled }),
    ...countrySummary(scenario, result),
    bytes: result.bytes,
    ...(result.privacy === undefined ? {} : { privacy: result.privacy }),
    ...(result.faults === undefined ? {} : { faults: result.faults }),
    ...(result.clock === undefined ? {} : { clock: result.clock }),
    ...(result.audit === undefined ? {} : { audit: result.audit }),
  });
  folder.writeJson('compliance.json', result.compliance);
  folder.writeText('compliance.md', complianceMarkdown(result.compliance, result.ledger.head));
  const finishedAt = new Date();
  const manifest: Manifest = {
    fedmed: FEDMED_VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backend: result.backend,
    tfjs: [...new Set(result.threads.map((t) => t.tfjs))].join(', '),
    workers: {
      requested: workersRequested,
      started: result.threads.length,
      threadIds: result.threads.map((t) => t.threadId),
      assignment: result.assignment,
    },
    seed: scenario.seed,
    scenarioSha256,
    finalModelSha256,
    status: result.status,
    ...(result.stopReason === undefined ? {} : { stopReason: result.stopReason }),
    roundsCompleted: result.roundsCompleted,
    strategy: result.strategy,
    evaluation:
      'federated: each hospital evaluates the global model on its own held-out split; federation metrics are ' +
      'example-weighted means of per-hospital metrics (predictions never leave a hospital)',
    bytes: result.bytes,
    baselineBytes: result.baselineBytes,
    ledger: result.ledger,
    jurisdiction: {
      policies: result.compliance.policies,
      status: result.compliance.status,
      violations: result.compliance.violations.length,
    },
    baseDir,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    seconds: result.seconds,
    ...(result.privacy === undefined ? {} : { privacy: result.privacy }),
    ...(result.preprocessing === undefined ? {} : { preprocessing: result.preprocessing }),
  };
  folder.writeJson('manifest.json', manifest);
  return manifest;
}
