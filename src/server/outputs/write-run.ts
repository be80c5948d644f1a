import { sha256 } from '../../common/hash.ts';
import type { Scenario } from '../../scenario/schema.ts';
import type { RunResult } from '../coordinator.ts';
import type { RunFolder } from './run-folder.ts';
import { FEDMED_VERSION } from './version.ts';

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
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallSeconds: number;
  /** Real seconds of the federation (setup and rounds) and of each baseline that ran. */
  readonly seconds: RunResult['seconds'];
}

/** Writes the model, the final summary and the manifest of a finished or stopped run. */
export async function writeRunResult(
  folder: RunFolder,
  scenario: Scenario,
  scenarioSha256: string,
  result: RunResult,
  workersRequested: number,
  startedAt: Date,
): Promise<Manifest> {
  const finalModelSha256 = sha256(result.parameters);
  folder.writeBytes('model/parameters.f32', result.parameters);
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
  const tfjs = await exportTfjsModel(scenario.model, result.inputShape, result.parameters);
  folder.writeJson('model/tfjs/model.json', tfjs.modelJson);
  folder.writeBytes(`model/tfjs/${WEIGHTS_FILE}`, tfjs.weights);
  folder.writeJson('summary.json', {
    status: result.status,
    ...(result.stopReason === undefined ? {} : { stopReason: result.stopReason }),
    roundsCompleted: result.roundsCompleted,
    federated: result.final?.evaluate ?? null,
    ...(result.localOnly === undefined ? {} : { localOnly: result.localOnly }),
    ...(result.pooled === undefined ? {} : { pooled: result.pooled }),
    bytes: result.bytes,
    ...(result.faults === undefined ? {} : { faults: result.faults }),
    ...(result.clock === undefined ? {} : { clock: result.clock }),
  });
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
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    wallSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    seconds: result.seconds,
  };
  folder.writeJson('manifest.json', manifest);
  return manifest;
}
