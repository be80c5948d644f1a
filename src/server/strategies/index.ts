import type { Scenario } from '../../scenario/schema.ts';
import { FedAvg } from './fedavg.ts';
import type { Strategy } from './strategy.ts';

/** The strategy a scenario names, configured from it. */
export function createStrategy(scenario: Scenario): Strategy {
  const s = scenario.strategy;
  switch (s.name) {
    case 'fedavg':
      return new FedAvg({
        fractionFit: s.fractionFit,
        fractionEvaluate: s.fractionEvaluate,
        minClients: scenario.minClients,
        training: scenario.training,
      });
  }
}
