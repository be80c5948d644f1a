import type { Rng } from '../../common/rng.ts';
import type { FitInstructions, VectorName } from '../../protocol/messages.ts';
import type { TrainingConfig } from '../../scenario/schema.ts';
import { STRATEGY_PARAMETERS, type StrategyName } from '../../scenario/strategy-schema.ts';
import { weightedMetricMeans } from '../aggregate-metrics.ts';
import { sampleHospitals } from '../sampling.ts';
import { checkParameter } from './validate.ts';
import type {
  AggregatedEvaluation,
  EvaluateResult,
  Failure,
  FitAssignment,
  FitResult,
  HospitalRef,
  RoundSums,
  Strategy,
  StrategyState,
  SumsNeeded,
} from './strategy.ts';
import { meanOfAll } from '../streaming-mean.ts';

/** Options of {@link FedAvg}. */
export interface FedAvgOptions {
  /** Share of hospitals sampled for training each round, in (0, 1]. Default 1. */
  readonly fractionFit: number;
  /** Share of hospitals sampled for evaluation each round, in (0, 1]. Default 1. */
  readonly fractionEvaluate: number;
  /** Fewest hospitals sampled per round; the coordinator's `minClients`. Default 1. */
  readonly minClients: number;
  /** Local training every sampled hospital runs. */
  readonly training: TrainingConfig;
}

/**
 * Federated Averaging: the next global model is the mean of the hospitals' parameters weighted by their
 * training example counts. McMahan et al., "Communication-Efficient Learning of Deep Networks from
 * Decentralized Data", AISTATS 2017.
 */
export class FedAvg implements Strategy {
  /** Name as written in scenarios; each subclass declares its own. */
  static readonly strategyName: StrategyName = 'fedavg';
  readonly name: StrategyName;
  readonly vectors: readonly VectorName[] = ['parameters'];
  /** The example-weighted sum of the hospitals' updates, Σ n_k (x_k − g). */
  readonly sums: SumsNeeded | undefined = {
    weighting: 'examples',
    parts: [{ name: 'update', term: 'update' }],
  };
  protected readonly options: FedAvgOptions;

  constructor(options: FedAvgOptions) {
    this.name = new.target.strategyName;
    for (const key of ['fractionFit', 'fractionEvaluate'] as const) {
      checkParameter(this.name, key, options[key], STRATEGY_PARAMETERS.common[key]);
    }
    if (!Number.isInteger(options.minClients) || options.minClients < 1) {
      throw new RangeError(`${this.name}: minClients must be an integer ≥ 1, got ${options.minClients}`);
    }
    this.options = options;
  }

  configureFit(round: number, hospitals: readonly HospitalRef[], rng: Rng): FitAssignment[] {
    const chosen = sampleHospitals(hospitals, this.options.fractionFit, this.options.minClients, rng);
    const instructions = this.fitInstructions(round);
    return chosen.map((h) => ({ hospital: h.id, instructions }));
  }

  /** What every sampled hospital is asked to do this round; subclasses add their client-side parts. */
  protected fitInstructions(round: number): FitInstructions {
    return { round, training: this.options.training };
  }

  aggregateFit(
    _round: number,
    global: Float32Array,
    results: readonly FitResult[],
    _failures: readonly Failure[],
  ): Float32Array {
    return meanOfAll(
      global.length,
      results.map((r) => ({ vector: r.reply.vectors.parameters!, weight: r.reply.numExamples })),
      foldsAdmittedCopies(this),
    );
  }

  /** g + Σ n_k (x_k − g) / Σ n_k: the same mean as {@link aggregateFit}, from the sum of updates. */
  aggregateSums(_round: number, global: Float32Array, sums: RoundSums): Float32Array {
    const mean = meanUpdate(this.name, global.length, sums);
    const out = new Float32Array(global.length);
    for (let i = 0; i < out.length; i++) out[i] = global[i]! + mean[i]!;
    return out;
  }

  configureEvaluate(_round: number, hospitals: readonly HospitalRef[], rng: Rng): string[] {
    return sampleHospitals(hospitals, this.options.fractionEvaluate, 1, rng).map((h) => h.id);
  }

  aggregateEvaluate(_round: number, results: readonly EvaluateResult[]): AggregatedEvaluation {
    return weightedMetricMeans(results.map((r) => r.reply));
  }

  /** FedAvg keeps nothing between rounds; subclasses with server state override both methods. */
  checkpointState(): StrategyState {
    return {};
  }

  restoreState(state: StrategyState): void {
    if (Object.keys(state).length > 0)
      throw new RangeError(`${this.name} keeps no state between rounds, but the checkpoint holds some`);
  }

  summary(): Record<string, unknown> {
    return {
      name: this.name,
      citation:
        'McMahan et al., Communication-Efficient Learning of Deep Networks from Decentralized Data, AISTATS 2017',
      fractionFit: this.options.fractionFit,
      fractionEvaluate: this.options.fractionEvaluate,
      minClients: this.options.minClients,
    };
  }
}

/** The weighted mean update Σ w_k (x_k − g) / Σ w_k from a round's sums (its `update` sum). */
export function meanUpdate(strategy: string, length: number, sums: RoundSums): Float64Array {
  const update = sums.values.update;
  if (update === undefined || update.length !== length)
    throw new Error(`${strategy}: the round's sums lack the update`);
  if (!(sums.totalWeight > 0)) throw new RangeError(`${strategy}: the contributors' weights sum to zero`);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = update[i]! / sums.totalWeight;
  return out;
}

/** Σ wᵢ·vᵢ / Σ wᵢ, accumulated in Float64 in the order given (see {@link meanOfAll}). */
export function weightedAverage(
  length: number,
  items: readonly { readonly vector: Float32Array; readonly weight: number }[],
): Float32Array {
  return meanOfAll(length, items);
}

/**
 * Whether `strategy`'s mean folds the update arena's copies of the admitted parameters: FedAvg's own
 * aggregateFit only (a subclass's override may have written to the vectors first, and robust rules never read them).
 */
export function foldsAdmittedCopies(strategy: Strategy): boolean {
  return strategy instanceof FedAvg && strategy.aggregateFit === FedAvg.prototype.aggregateFit;
}
