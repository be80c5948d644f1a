import { stream } from '../src/common/rng.ts';
import type { ScenarioInput } from '../src/scenario/schema.ts';

/** How {@link scaleScenario} varies. */
export interface ScaleOptions {
  readonly hospitals: number;
  readonly rounds?: number;
  readonly hospitalData?: 'keep' | 'release';
}

/**
 * Many small clinics, half in Korea and half in China, of 20–200 patients each (drawn from the seeded stream
 * `7/scale-scenario/sizes`), 1% sampled per round for training and for evaluation (at least one), training one
 * logistic-regression model on backend js with their data released between rounds. scenarios/scale.json is
 * this with 10,000 hospitals and 100 rounds (`npx tsx scripts/scale-scenario.ts` writes it).
 */
export function scaleScenario({
  hospitals,
  rounds = 100,
  hospitalData = 'release',
}: ScaleOptions): ScenarioInput {
  const sizes = stream(7, 'scale-scenario', 'sizes');
  const width = String(hospitals - 1).length;
  return {
    $schema: './scenario.schema.json',
    name: hospitals === 10_000 ? 'scale' : `scale-${hospitals}`,
    description:
      `${hospitals.toLocaleString('en')} small clinics of 20–200 patients, half in Korea and half in China, 1% ` +
      'sampled per round, train one logistic-regression risk model; each clinic’s data is rebuilt when it is ' +
      'sampled and released after, so memory follows the clinics in flight, not their number.',
    seed: 1,
    rounds,
    minClients: 1,
    backend: 'js',
    coordinator: { site: 'neutral', name: 'neutral coordination site' },
    data: { kind: 'synthetic-cohort', testFraction: 0.3 },
    hospitalData,
    hospitals: Array.from({ length: hospitals }, (_, i) => ({
      id: `${i % 2 === 0 ? 'kr' : 'cn'}-clinic-${String(i).padStart(width, '0')}`,
      country: i % 2 === 0 ? 'KR' : 'CN',
      patients: 20 + sizes.int(181),
    })),
    model: { kind: 'logistic' },
    training: { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    strategy: { name: 'fedavg', fractionFit: 0.01, fractionEvaluate: 0.01 },
  };
}
