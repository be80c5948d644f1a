import type { Rng } from '../../common/rng.ts';
import type { SumTerm, SumWeighting } from '../../protocol/secure-sums.ts';
import type {
  EvaluateReply,
  FitInstructions,
  FitReply,
  Metrics,
  VectorName,
} from '../../protocol/messages.ts';

/** A participating hospital as the coordinator knows it: an id and a country, no data. */
export interface HospitalRef {
  readonly id: string;
  readonly country: string;
}

/** One hospital's part in a round of training. */
export interface FitAssignment {
  readonly hospital: string;
  readonly instructions: FitInstructions;
}

/** A fit reply that passed the boundary. */
export interface FitResult {
  readonly hospital: string;
  readonly reply: FitReply;
}

/** An evaluation reply that passed the boundary. */
export interface EvaluateResult {
  readonly hospital: string;
  readonly reply: EvaluateReply;
}

/** A hospital that was asked but gave no admissible reply, and why (field and expectation, never a value). */
export interface Failure {
  readonly hospital: string;
  readonly reason: string;
}

/** How the federation combines hospitals' metrics, as written into every output. */
export const AGGREGATION_RULE =
  'example-weighted mean of per-hospital metrics; a subgroup metric (name__group) is weighted by the subgroup count n__group; ' +
  'global_auroc and global_auprc, when hospitals send score histograms, rank all their held-out patients at once';

/** The federation's view of one evaluation: a mean over hospitals, since predictions never leave them. */
export interface AggregatedEvaluation {
  /** Example-weighted mean of each metric over the hospitals that reported it. */
  readonly metrics: Metrics;
  /** Held-out examples behind the means. */
  readonly numExamples: number;
  /** How each metric was combined. */
  readonly aggregation: typeof AGGREGATION_RULE;
  /** Multi-class outcomes: the K × K confusion counts summed over the hospitals (small cells withheld). */
  readonly confusion?: readonly number[];
}

/** A sum a strategy needs under secure aggregation: one term of every hospital's contribution, by name. */
export interface SumDeclaration {
  readonly name: string;
  readonly term: SumTerm;
}

/** The sums a strategy aggregates from, and how each hospital's terms are weighted in them. */
export interface SumsNeeded {
  readonly weighting: SumWeighting;
  readonly parts: readonly SumDeclaration[];
  /** q-FedAvg's fairness q, which its terms need in the hospital. */
  readonly fairness?: number;
}

/** One round's sums, decoded by the coordinator: all it learns of the hospitals' updates. */
export interface RoundSums {
  /** Each declared sum, by name: Σ_k w_k · term_k over the contributors. */
  readonly values: Readonly<Record<string, Float64Array>>;
  /** Σ_k w_k over the contributors (examples, or 1 each); with DP-FedAvg the fixed denominator q·W. */
  readonly totalWeight: number;
  /** Hospitals whose contributions are in the sums, ascending, with their training examples. */
  readonly contributors: readonly { readonly hospital: string; readonly numExamples: number }[];
}

/**
 * An aggregation algorithm, in the shape Flower made common: configure fit → aggregate fit → configure
 * evaluate → aggregate evaluate, plus a summary. The coordinator owns the round loop and the boundary;
 * a strategy sees only admitted replies, sorted by ascending hospital id.
 */
export interface Strategy {
  /** Name as written in scenarios. */
  readonly name: string;
  /** Vectors every fit reply must carry, each of the model's parameter length. */
  readonly vectors: readonly VectorName[];
  /**
   * Metrics every fit reply must carry for this strategy to aggregate it (for example `local_steps`); the
   * coordinator may reject replies lacking them at the boundary. Absent: none beyond the protocol's own.
   */
  readonly fitMetrics?: readonly string[];
  /**
   * True when the round's hospitals train one after another, each from the previous one's parameters (in the
   * order configureFit gives); aggregateFit then receives the results in that order.
   */
  readonly sequential?: boolean;
  /** Vectors broadcast with the global model this round besides the parameters (SCAFFOLD's server control). */
  broadcastVectors?(round: number, global: Float32Array): { readonly control?: Float32Array };
  /** Chooses this round's hospitals and what each is asked to do. */
  configureFit(round: number, hospitals: readonly HospitalRef[], rng: Rng): FitAssignment[];
  /** Combines admitted replies into the next global model; `global` is the model they started from. */
  aggregateFit(
    round: number,
    global: Float32Array,
    results: readonly FitResult[],
    failures: readonly Failure[],
  ): Float32Array;
  /** Chooses the hospitals that evaluate this round's global model. */
  configureEvaluate(round: number, hospitals: readonly HospitalRef[], rng: Rng): string[];
  /** Combines evaluation replies into the federation's metrics. */
  aggregateEvaluate(round: number, results: readonly EvaluateResult[]): AggregatedEvaluation;
  /** Parameters and citation, for the manifest. */
  summary(): Record<string, unknown>;
  /**
   * The sums this strategy can aggregate from instead of individual replies; absent: it needs each
   * hospital's update and cannot run under secure aggregation.
   */
  readonly sums?: SumsNeeded | undefined;
  /** The next global model from a round's sums (declared by `sums`); `global` is the model they started from. */
  aggregateSums?(round: number, global: Float32Array, sums: RoundSums): Float32Array;
  /**
   * The server state this strategy carries from one round to the next (moments, momentum, control variates),
   * for a checkpoint; `{}` for a strategy that keeps none. Absent: its state cannot be saved, and a run of it
   * cannot resume.
   */
  checkpointState?(): StrategyState;
  /** Puts back what {@link checkpointState} returned, before the next round; throws a RangeError if it does not fit. */
  restoreState?(state: StrategyState): void;
}

/** A value in a strategy's saved state: JSON values and typed vectors. */
export type StateValue =
  | number
  | string
  | boolean
  | null
  | Float32Array
  | Float64Array
  | readonly StateValue[]
  | { readonly [key: string]: StateValue };

/** A strategy's saved state, by name. */
export type StrategyState = { readonly [key: string]: StateValue };
