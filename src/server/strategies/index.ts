import type { Scenario } from '../../scenario/schema.ts';
import { Bulyan } from './bulyan.ts';
import { FedAdagrad } from './fedadagrad.ts';
import { FedAdam } from './fedadam.ts';
import { FedAvg } from './fedavg.ts';
import { FedAvgM } from './fedavgm.ts';
import { FedMedian } from './fedmedian.ts';
import { FedNova } from './fednova.ts';
import { FedTrimmedAvg } from './fedtrimmedavg.ts';
import { FedYogi } from './fedyogi.ts';
import { Krum, MultiKrum } from './krum.ts';
import { QFedAvg } from './qfedavg.ts';
import type { Strategy } from './strategy.ts';
import { Cyclic } from './cyclic.ts';
import { loadCustomStrategy } from './custom.ts';
import { FedProx } from './fedprox.ts';
import { Scaffold } from './scaffold.ts';
import { clientsPerRound } from './validate.ts';

/**
 * The strategy a scenario names, configured from it. Throws a RangeError naming the parameter and its valid
 * range for any value the strategy cannot work with, including cross-field checks that depend on how many
 * hospitals a round samples (Krum's n ≥ 2f + 3, Bulyan's n ≥ 4f + 3) — call it before starting any worker.
 */
export async function createStrategy(scenario: Scenario, baseDir = process.cwd()): Promise<Strategy> {
  try {
    return await build(scenario, baseDir);
  } catch (e) {
    if (e instanceof RangeError) throw new StrategyConfigError(e.message);
    throw e;
  }
}

/** A strategy parameter outside its valid range; names the parameter and the range. */
export class StrategyConfigError extends Error {
  override readonly name = 'StrategyConfigError';
}

async function build(scenario: Scenario, baseDir: string): Promise<Strategy> {
  const s = scenario.strategy;
  const base = {
    fractionFit: s.fractionFit,
    fractionEvaluate: s.fractionEvaluate,
    minClients: scenario.minClients,
    training: scenario.training,
  };
  const n = clientsPerRound(scenario.hospitals.length, s.fractionFit, scenario.minClients);
  switch (s.name) {
    case 'fedavg':
      return new FedAvg(base);
    case 'fedavgm':
      return new FedAvgM({
        ...base,
        serverLearningRate: s.serverLearningRate,
        serverMomentum: s.serverMomentum,
      });
    case 'fedadam':
      return new FedAdam({ ...base, eta: s.eta, etaL: s.etaL, beta1: s.beta1, beta2: s.beta2, tau: s.tau });
    case 'fedyogi':
      return new FedYogi({ ...base, eta: s.eta, etaL: s.etaL, beta1: s.beta1, beta2: s.beta2, tau: s.tau });
    case 'fedadagrad':
      return new FedAdagrad({ ...base, eta: s.eta, etaL: s.etaL, beta1: s.beta1, tau: s.tau });
    case 'fedmedian':
      return new FedMedian(base);
    case 'fedtrimmedavg':
      return new FedTrimmedAvg({ ...base, beta: s.beta });
    case 'krum':
      return new Krum({ ...base, f: s.f, clientsPerRound: n });
    case 'multikrum':
      return new MultiKrum({ ...base, f: s.f, m: s.m, clientsPerRound: n });
    case 'bulyan':
      return new Bulyan({ ...base, f: s.f, clientsPerRound: n });
    case 'qfedavg':
      return new QFedAvg({ ...base, q: s.q });
    case 'fednova':
      return new FedNova(base);
    case 'fedprox':
      return new FedProx({ ...base, proximalMu: s.proximalMu });
    case 'scaffold':
      return new Scaffold({
        ...base,
        serverLearningRate: s.serverLearningRate,
        weighting: s.weighting,
        hospitals: scenario.hospitals.length,
      });
    case 'cyclic':
      return new Cyclic({ ...base, order: s.order });
    case 'custom': {
      const loaded = await loadCustomStrategy(scenario, s.module, s.options, base, baseDir);
      const summary = loaded.strategy.summary.bind(loaded.strategy);
      return Object.assign(loaded.strategy, {
        summary: () => ({
          ...summary(),
          module: loaded.path,
          moduleSha256: loaded.sha256,
          moduleGraph: loaded.graph,
        }),
      });
    }
  }
}

/** Checks the scenario's strategy without keeping it: throws what {@link createStrategy} would. */
export async function validateStrategy(scenario: Scenario, baseDir?: string): Promise<void> {
  await createStrategy(scenario, baseDir);
}
