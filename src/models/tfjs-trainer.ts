import * as tf from '@tensorflow/tfjs-core';
import type { Sequential } from '@tensorflow/tfjs-layers';
import type { ParamSpec } from '../common/params.ts';
import type { Rng } from '../common/rng.ts';
import type { ModelConfig } from '../scenario/schema.ts';
import { modelPlan, parameterSpec } from './architecture.ts';
import { buildModel } from './build.ts';
import { BINARY_HEAD, outputUnits, type OutputHead } from '../protocol/outcome.ts';
import { activeTerms, batchSizeFor, checkExamples, runEpochs } from './trainer-contract.ts';
import type { Examples, LocalTrainer, TrainOptions, TrainResult } from './types.ts';

/** Elements of activations per predict chunk: bounds memory on large cohorts and images. */
const PREDICT_BUDGET = 1 << 21;

/**
 * A {@link LocalTrainer} on the active tfjs backend (call `selectBackend` first). Training is a manual
 * loop: per epoch a seeded permutation, minibatches gathered into a reused buffer, one optimizer step
 * each; nothing draws unseeded randomness, so equal parameters, data and rng give bit-identical results
 * on the same backend.
 *
 * Loss is binary cross-entropy computed from the logit z (the model's last layer is built linear and the
 * sigmoid is applied only in `predict`): `softplus(z) − y·z`, which equals `−y·log σ(z) − (1−y)·log(1−σ(z))`
 * but neither overflows nor saturates its gradient (`σ(z) − y`) for large |z|, unlike clipping σ(z).
 *
 * FedProx's proximal term and SCAFFOLD's gradient correction (see {@link TrainOptions}) are added to each
 * minibatch gradient before the optimizer step; without them (or with mu = 0) the step is exactly
 * `optimizer.minimize`, so results are bit-identical to plain training.
 */
export function createTfjsTrainer(
  model: ModelConfig,
  inputShape: readonly number[],
  head: OutputHead = BINARY_HEAD,
): LocalTrainer {
  return new TfjsTrainer(model, inputShape, head);
}

class TfjsTrainer implements LocalTrainer {
  readonly spec: ParamSpec;
  readonly #net: Sequential;
  readonly #vars: tf.Variable[];
  readonly #inputShape: readonly number[];
  readonly #batchShape: readonly number[];
  readonly #rowSize: number;
  readonly #predictChunk: number;
  readonly #head: OutputHead;
  #xBuf = new Float32Array(0);
  #yBuf = new Float32Array(0);
  #disposed = false;

  constructor(model: ModelConfig, inputShape: readonly number[], head: OutputHead) {
    const plan = modelPlan(model, inputShape, head);
    this.#head = head;
    this.spec = parameterSpec(model, inputShape, head);
    this.#inputShape = [...inputShape];
    this.#batchShape = plan.inputShape;
    this.#rowSize = plan.inputShape.reduce((a, b) => a * b, 1);
    this.#net = buildModel(model, inputShape, 'logit', head);
    this.#vars = this.#net.weights.map((w) => {
      const v = w.read();
      if (!(v instanceof tf.Variable)) throw new Error(`weight ${w.name} is not a tf.Variable`);
      return v;
    });
    const widest = Math.max(
      this.#rowSize,
      ...plan.layers.map((l) => (l.kind === 'dense' ? l.units : this.#rowSize * l.filters)),
    );
    this.#predictChunk = Math.max(1, Math.floor(PREDICT_BUDGET / widest));
    if (this.#vars.length !== this.spec.tensors.length) {
      throw new Error(`model has ${this.#vars.length} weights, spec lists ${this.spec.tensors.length}`);
    }
    this.#vars.forEach((v, i) => {
      const t = this.spec.tensors[i]!;
      if (v.shape.join() !== t.shape.join()) {
        throw new Error(`weight ${i} has shape [${v.shape}], spec ${t.name} says [${t.shape}]`);
      }
    });
  }

  setParameters(params: Float32Array): void {
    this.#live();
    if (params.length !== this.spec.length) {
      throw new Error(`expected ${this.spec.length} parameters, got ${params.length}`);
    }
    this.spec.tensors.forEach((t, i) => {
      // slice(): on the cpu backend a tensor keeps the array it was made from, so it must be our own copy.
      const value = tf.tensor(params.slice(t.offset, t.offset + t.size), [...t.shape], 'float32');
      this.#vars[i]!.assign(value);
      value.dispose();
    });
  }

  getParameters(): Float32Array {
    this.#live();
    const out = new Float32Array(this.spec.length);
    this.spec.tensors.forEach((t, i) => out.set(this.#vars[i]!.dataSync(), t.offset));
    return out;
  }

  train(data: Examples, options: TrainOptions, rng: Rng): TrainResult {
    this.#live();
    this.#check(data);
    if (options.dpSgd !== undefined) {
      throw new Error(
        "DP-SGD needs per-example gradients, which this tfjs trainer does not compute: use backend 'js'",
      );
    }
    const row = this.#rowSize;
    const batch = batchSizeFor(data.n, options);
    if (this.#xBuf.length < batch * row) this.#xBuf = new Float32Array(batch * row);
    if (this.#yBuf.length < batch) this.#yBuf = new Float32Array(batch);
    const xBuf = this.#xBuf;
    const yBuf = this.#yBuf;
    const adjust = this.#adjustment(options);
    const optimizer =
      options.optimizer === 'adam' ? tf.train.adam(options.learningRate) : tf.train.sgd(options.learningRate);
    try {
      return runEpochs(
        data.n,
        batch,
        options.localEpochs,
        rng,
        (order, start, b) => {
          for (let k = 0; k < b; k++) {
            const r = order[start + k]!;
            xBuf.set(data.x.subarray(r * row, r * row + row), k * row);
            yBuf[k] = data.y[r]!;
          }
          // The cpu backend may keep these views as the tensors' storage; both are disposed before reuse.
          const xs = tf.tensor(xBuf.subarray(0, b * row), [b, ...this.#batchShape], 'float32');
          const ys = tf.tensor2d(yBuf.subarray(0, b), [b, 1], 'float32');
          const cost =
            adjust === null
              ? optimizer.minimize(() => this.#loss(xs, ys), true, this.#vars)
              : this.#adjustedStep(optimizer, adjust, xs, ys);
          xs.dispose();
          ys.dispose();
          if (cost === null) throw new Error('optimizer returned no loss');
          const loss = cost.dataSync()[0]!;
          cost.dispose();
          return loss;
        },
        options.maxSteps,
      );
    } finally {
      optimizer.dispose();
      if (adjust !== null) disposeAdjustment(adjust);
    }
  }

  predict(data: Examples): Float32Array {
    this.#live();
    this.#check(data);
    const row = this.#rowSize;
    const units = outputUnits(this.#head);
    const out = new Float32Array(data.n * units);
    for (let start = 0; start < data.n; start += this.#predictChunk) {
      const b = Math.min(this.#predictChunk, data.n - start);
      const probs = tf.tidy(() => {
        const xs = tf.tensor(
          data.x.subarray(start * row, (start + b) * row),
          [b, ...this.#batchShape],
          'float32',
        );
        const z = this.#logits(xs);
        const kind = this.#head.kind;
        return kind === 'binary' ? tf.sigmoid(z) : kind === 'multiclass' ? tf.softmax(z) : z;
      });
      out.set(probs.dataSync(), start * units);
      probs.dispose();
    }
    return out;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#net.dispose();
  }

  /** FedProx's and SCAFFOLD's per-call tensors, checked by {@link activeTerms}; null when neither applies. */
  #adjustment(options: TrainOptions): Adjustment | null {
    const terms = activeTerms(options, this.spec.length);
    if (terms === null) return null;
    // slice(): per-call copies, since the cpu backend may keep a tensor's source array as its storage.
    const perTensor = (flat: Float32Array): tf.Tensor[] =>
      this.spec.tensors.map((t) =>
        tf.tensor(flat.slice(t.offset, t.offset + t.size), [...t.shape], 'float32'),
      );
    return {
      proximal:
        terms.proximal === undefined
          ? null
          : { mu: tf.scalar(terms.proximal.mu, 'float32'), reference: perTensor(terms.proximal.reference) },
      correction: terms.correction === undefined ? null : perTensor(terms.correction),
    };
  }

  /** One optimizer step on g + mu·(w − reference) + correction (each if present); returns the data loss. */
  #adjustedStep(optimizer: tf.Optimizer, adjust: Adjustment, xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
    return tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.#loss(xs, ys), this.#vars);
      const adjusted = this.#vars.map((v, i) => {
        let g = grads[v.name];
        if (g === undefined) throw new Error(`no gradient for weight ${v.name}`);
        if (adjust.proximal !== null) {
          g = tf.add(g, tf.mul(adjust.proximal.mu, tf.sub(v, adjust.proximal.reference[i]!)));
        }
        if (adjust.correction !== null) g = tf.add(g, adjust.correction[i]!);
        return { name: v.name, tensor: g };
      });
      optimizer.applyGradients(adjusted);
      return value;
    });
  }

  #logits(xs: tf.Tensor): tf.Tensor {
    let h = xs;
    for (const layer of this.#net.layers) {
      const out = layer.call(h, {});
      if (!(out instanceof tf.Tensor)) throw new Error(`layer ${layer.name} did not return one tensor`);
      h = out;
    }
    return h;
  }

  /** Mean BCE from the logit, softmax cross-entropy (logsumexp(z) − z_y), or squared error, by the head. */
  #loss(xs: tf.Tensor, ys: tf.Tensor): tf.Scalar {
    const z = this.#logits(xs);
    if (this.#head.kind === 'continuous') return tf.mean(tf.square(tf.sub(z, ys))) as tf.Scalar;
    if (this.#head.kind === 'multiclass') {
      const onehot = tf.oneHot(tf.cast(tf.reshape(ys, [-1]), 'int32'), this.#head.classes);
      return tf.mean(tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(onehot, z), 1))) as tf.Scalar;
    }
    return tf.mean(tf.sub(tf.softplus(z), tf.mul(ys, z))) as tf.Scalar;
  }

  #check(data: Examples): void {
    checkExamples(data, this.#inputShape);
  }

  #live(): void {
    if (this.#disposed) throw new Error('trainer has been disposed');
  }
}

/** Per-call tensors of FedProx and SCAFFOLD, one per parameter tensor; null where one is off. */
interface Adjustment {
  readonly proximal: { readonly mu: tf.Scalar; readonly reference: readonly tf.Tensor[] } | null;
  readonly correction: readonly tf.Tensor[] | null;
}

function disposeAdjustment(a: Adjustment): void {
  if (a.proximal !== null) tf.dispose([a.proximal.mu, ...a.proximal.reference]);
  if (a.correction !== null) tf.dispose([...a.correction]);
}
