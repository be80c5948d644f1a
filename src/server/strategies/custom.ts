import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../../common/hash.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { weightedMetricMeans } from '../aggregate-metrics.ts';
import { sampleHospitals } from '../sampling.ts';
import { FedAvg, weightedAverage, type FedAvgOptions } from './fedavg.ts';
import { moduleGraph, type ModuleGraph } from './module-graph.ts';
import type { Strategy } from './strategy.ts';

/** A strategy definition the scenario names that cannot be used; names the module and what is wrong. */
export class StrategyModuleError extends Error {
  override readonly name = 'StrategyModuleError';
}

/** What a user's strategy module's `createStrategy(context)` receives. */
export interface CustomStrategyContext {
  /** The scenario's `strategy.options`, as written. */
  readonly options: Readonly<Record<string, unknown>>;
  /** The resolved scenario (configuration only, never data). */
  readonly scenario: Scenario;
  /** Sampling and training settings a FedAvg-like strategy takes. */
  readonly base: FedAvgOptions;
  /** Building blocks: FedAvg to extend, and the aggregation and sampling helpers fedmed uses itself. */
  readonly toolkit: {
    readonly FedAvg: typeof FedAvg;
    readonly weightedAverage: typeof weightedAverage;
    readonly weightedMetricMeans: typeof weightedMetricMeans;
    readonly sampleHospitals: typeof sampleHospitals;
  };
}

const METHODS = [
  'configureFit',
  'aggregateFit',
  'configureEvaluate',
  'aggregateEvaluate',
  'summary',
] as const;

/**
 * Loads a user-written strategy: a module (JavaScript, or TypeScript where the runtime loads it) exporting
 * `createStrategy(context)`. Returns it with the SHA-256 of the module file and of every local module it
 * imports (with the versions of the packages it imports), which go into the manifest.
 */
export async function loadCustomStrategy(
  scenario: Scenario,
  module: string,
  options: Readonly<Record<string, unknown>>,
  base: FedAvgOptions,
  baseDir: string,
): Promise<{ strategy: Strategy; path: string; sha256: string; graph: ModuleGraph }> {
  const path = resolve(baseDir, module);
  if (!existsSync(path)) throw new StrategyModuleError(`$.strategy.module: no file ${path}`);
  let source: Buffer;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      throw new StrategyModuleError(
        `$.strategy.module ${path}: expected a module file (this is ${stat.isDirectory() ? 'a folder' : 'not a regular file'})`,
      );
    }
    source = readFileSync(path);
  } catch (e) {
    if (e instanceof StrategyModuleError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'read error';
    throw new StrategyModuleError(`$.strategy.module ${path}: expected a readable module file (${code})`);
  }
  const hash = sha256(source);
  const graph = await moduleGraph(path);
  let exported: unknown;
  try {
    // TypeScript (the module or a file it imports) loads through tsx: the compiled CLI has no loader hooks.
    exported = graph.modules.some((m) => /\.[cm]?ts$/.test(m.path))
      ? await (await import('tsx/esm/api')).tsImport(pathToFileURL(path).href, import.meta.url)
      : await import(pathToFileURL(path).href);
  } catch (e) {
    throw new StrategyModuleError(
      `$.strategy.module ${path}: cannot be loaded (${(e as Error).message.split('\n', 1)[0]})`,
    );
  }
  const create = (exported as { createStrategy?: unknown }).createStrategy;
  if (typeof create !== 'function') {
    throw new StrategyModuleError(
      `$.strategy.module ${path}: expected an exported function createStrategy(context)`,
    );
  }
  const context: CustomStrategyContext = {
    options,
    scenario,
    base,
    toolkit: { FedAvg, weightedAverage, weightedMetricMeans, sampleHospitals },
  };
  const strategy = (await (create as (c: CustomStrategyContext) => unknown)(
    context,
  )) as Partial<Strategy> | null;
  if (strategy === null || typeof strategy !== 'object') {
    throw new StrategyModuleError(`$.strategy.module ${path}: createStrategy must return a strategy object`);
  }
  for (const m of METHODS) {
    if (typeof strategy[m] !== 'function') {
      throw new StrategyModuleError(`$.strategy.module ${path}: the strategy lacks the method ${m}()`);
    }
  }
  if (typeof strategy.name !== 'string' || !Array.isArray(strategy.vectors)) {
    throw new StrategyModuleError(`$.strategy.module ${path}: the strategy needs a name and a vectors list`);
  }
  return { strategy: strategy as Strategy, path, sha256: hash, graph };
}
