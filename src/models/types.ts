import type { ParamSpec } from '../common/params.ts';
import type { Rng } from '../common/rng.ts';
import type { TrainingConfig } from '../scenario/schema.ts';
import type { DpSgdStep } from './dp-sgd.ts';

/** Examples held inside one hospital: row-major inputs and one target per example. */
export interface Examples {
  /** `n × prod(inputShape)` inputs, row-major, already on the common data model's scale. */
  readonly x: Float32Array;
  /** `n` targets: 0 or 1 (binary), a class index (multi-class) or a value (continuous). */
  readonly y: Float32Array;
  readonly n: number;
  /** Shape of one example's input, e.g. `[9]` or `[32, 32, 1]`. */
  readonly inputShape: readonly number[];
}

/**
 * How one call to {@link LocalTrainer.train} trains: `localEpochs` passes in seeded-shuffled minibatches,
 * plus the optional client-side instructions of FedProx and SCAFFOLD (without them: plain local SGD or Adam).
 */
export interface TrainOptions extends TrainingConfig {
  /** FedProx (Li et al., MLSys 2020): adds (mu/2)·‖w − reference‖² (flat, as `getParameters`); mu 0: off. */
  readonly proximal?: { readonly mu: number; readonly reference: Float32Array };
  /** SCAFFOLD II (Karimireddy et al., ICML 2020): flat c − c_i added to each minibatch gradient; SGD only. */
  readonly gradientCorrection?: Float32Array;
  /** Most optimizer steps to take (partial work of a straggler, decided by the coordinator); all epochs if absent. */
  readonly maxSteps?: number;
  /**
   * Sample-level DP-SGD: Poisson-sampled minibatches, per-example clipping, Gaussian noise (see dp-sgd.ts);
   * `batchSize` is then unused. Only the fused trainer (backend js) does it; the tfjs trainer refuses it.
   */
  readonly dpSgd?: DpSgdStep;
}

/** What one call to {@link LocalTrainer.train} measured. */
export interface TrainResult {
  /** Mean data loss (without FedProx's proximal term) over the minibatches of the last epoch. */
  readonly loss: number;
  /** Optimizer steps taken: SCAFFOLD's K in its control-variate update (with η = `learningRate`). */
  readonly steps: number;
}

/**
 * A model that trains locally on one hospital's examples. The training engine (tfjs, or the fused typed-array
 * loops of backend 'js') hides behind this interface; clients and strategies see only flat vectors.
 */
export interface LocalTrainer {
  readonly spec: ParamSpec;
  /** Overwrites the model's parameters with a flat vector of `spec.length` floats (copied). */
  setParameters(params: Float32Array): void;
  /** A fresh copy of the parameters, safe to transfer to another thread. */
  getParameters(): Float32Array;
  /** Trains in place; minibatch order comes from `rng` only. */
  train(data: Examples, options: TrainOptions, rng: Rng): TrainResult;
  /**
   * Per example: the predicted probability of the positive class (binary), the K class probabilities laid
   * row by row (multi-class, n × K values), or the predicted value (continuous).
   */
  predict(data: Examples): Float32Array;
  /** Frees the model's tensors. */
  dispose(): void;
}
