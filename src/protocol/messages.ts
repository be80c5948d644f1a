/** Vectors the protocol lets a hospital return in a fit reply, each of the model's parameter length. */
export const VECTOR_NAMES = ['parameters', 'control'] as const;
/** Name of a declared fit vector. */
export type VectorName = (typeof VECTOR_NAMES)[number];

/** Named finite scalars a hospital reports about its own data; a metric that is undefined is absent. */
export type Metrics = Record<string, number>;

/** Most metrics one reply may carry. */
export const MAX_METRICS = 64;
/** The form of a metric name. */
export const METRIC_NAME = /^[a-z][a-z0-9_]{0,31}$/;
/** Metric names only the coordinator computes (from score histograms); a hospital may not send them. */
export const RESERVED_METRIC_PREFIX = 'global_';

/** How a hospital trains locally: the protocol's own copy of the scenario's training settings. */
export interface TrainingInstructions {
  readonly localEpochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: 'sgd' | 'adam';
}

/** What the coordinator asks of a hospital for one round of local training (besides the global model). */
export interface FitInstructions {
  readonly round: number;
  readonly training: TrainingInstructions;
  /** Also report `initial_loss`: the training loss of the received model before local training (q-FedAvg). */
  readonly reportInitialLoss?: boolean;
  /** FedProx: add (μ/2)·‖w − w_global‖² to the local loss. */
  readonly proximalMu?: number;
  /** SCAFFOLD: correct gradients with the broadcast server control variate and return the control update. */
  readonly scaffold?: boolean;
  /**
   * Stop after this many optimizer steps: the partial work a straggler fits before the round's deadline on the
   * virtual clock (decided by the coordinator, so the same in any thread). All epochs if absent.
   */
  readonly maxSteps?: number;
}

/** What the coordinator asks of a hospital to evaluate the global model on its held-out split. */
export interface EvaluateInstructions {
  readonly round: number;
}

/** What local-only training asks: train alone for `epochs` epochs, then evaluate. */
export interface LocalOnlyInstructions {
  readonly training: TrainingInstructions;
  readonly epochs: number;
}

/** A hospital's reply to fit: only declared vectors, an example count and named scalars. */
export interface FitReply {
  readonly vectors: { readonly [K in VectorName]?: Float32Array };
  /** Training examples used; FedAvg's weight. */
  readonly numExamples: number;
  readonly metrics: Metrics;
}

/** Half-width of the logit range that score histograms divide into equal bins; beyond it, the end bins. */
export const HISTOGRAM_LOGIT_RANGE = 10;

/**
 * Held-out patients counted per bin of predicted logit, by true class. With B bins, bin k covers logits in
 * [−R + 2Rk/B, −R + 2R(k+1)/B) for R = {@link HISTOGRAM_LOGIT_RANGE}, the end bins everything beyond. The
 * coordinator sums them to rank every hospital's patients at once (a federation-wide ROC) while no single
 * prediction leaves a hospital as such. On the wire it is one uint32 vector: the positives, then the negatives.
 */
export interface ScoreHistogram {
  /** Counts of patients with the condition, one per bin. */
  readonly positives: readonly number[];
  /** Counts of patients without it, one per bin. */
  readonly negatives: readonly number[];
}

/** A hospital's reply to evaluate. */
export interface EvaluateReply {
  /** Held-out examples evaluated; the weight of its metrics in the federation's mean. */
  readonly numExamples: number;
  readonly metrics: Metrics;
  /** The same examples' predictions as counts per bin and class, when the scenario asks for them. */
  readonly histogram?: ScoreHistogram;
  /** Multi-class outcomes: K × K counts (true class by row, predicted by column), small cells sent as 0. */
  readonly confusion?: readonly number[];
  /** Multi-class outcomes: each class's one-vs-rest score histogram (its probability), when asked for. */
  readonly classHistograms?: readonly ScoreHistogram[];
}
