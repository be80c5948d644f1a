import type { ParamSpec } from '../common/params.ts';
import type { Rng } from '../common/rng.ts';
import type { ModelConfig } from '../scenario/schema.ts';
import { modelPlan, parameterSpec } from './architecture.ts';
import { activeTerms, batchSizeFor, checkExamples, runEpochs } from './trainer-contract.ts';
import type { Examples, LocalTrainer, TrainOptions, TrainResult } from './types.ts';

/** Rows per predict chunk, unless training has already reserved more. */
const PREDICT_ROWS = 256;

/** tfjs' Adam defaults (`tf.train.adam(lr)`), and its float32 backend epsilon. */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

const f32 = Math.fround;

/** Why backend 'js' refuses a cnn. */
export const JS_BACKEND_CNN_ERROR =
  "backend 'js' trains dense models only (logistic, mlp); use wasm for a cnn";

/** The activation a dense layer applies; the output layer's sigmoid is left to the loss and `predict`. */
type Activation = 'relu' | 'tanh' | 'linear';

/** One dense layer: its sizes, where its kernel (`inputs × units`, row-major) and bias sit in the flat vector. */
interface DenseLayer {
  readonly inputs: number;
  readonly units: number;
  readonly kernel: number;
  readonly bias: number;
  readonly activation: Activation;
}

/** A strided matrix: element (i, j) at `data[offset + i·row + j·col]`, so a transpose is a swap of strides. */
interface View {
  readonly data: Float32Array;
  readonly offset: number;
  readonly row: number;
  readonly col: number;
}

/** The operands of one dense layer's products in the row buffers, made once per buffer size. */
interface LayerOperands {
  /** Input × kernel: the layer's pre-activations. */
  readonly forward: readonly [View, View];
  /** Inputᵀ × delta: the kernel's gradient. */
  readonly kernelGrad: readonly [View, View];
  /** Delta × kernelᵀ: the layer below's delta before its activation's derivative; null for the first layer. */
  readonly inputDelta: readonly [View, View] | null;
}

/** FedProx's and SCAFFOLD's per-call gradient terms, validated; null where one is off. */
interface Adjustment {
  readonly proximal: { readonly mu: number; readonly reference: Float32Array } | null;
  readonly correction: Float32Array | null;
}

/** Updates parameters in place from a gradient of the same flat layout. */
interface Optimizer {
  step(w: Float32Array, g: Float32Array): void;
}

/**
 * A {@link LocalTrainer} for the dense models (logistic, mlp) in plain Float32Array loops, without tfjs.
 * It reproduces the tfjs trainer's semantics: the flat layout of `parameterSpec`, one seeded permutation
 * per epoch drawn from `rng`, minibatches in that order with a smaller last one, BCE from the logit,
 * FedProx and SCAFFOLD terms added to the gradient, and tfjs' SGD and Adam updates rounded to float32 op
 * by op. Matrix products accumulate in float64 in a fixed order, so results are bit-identical across runs
 * and threads, and agree with tfjs to float32 rounding of the gradients.
 */
export function createFusedTrainer(model: ModelConfig, inputShape: readonly number[]): LocalTrainer {
  if (model.kind === 'cnn') {
    throw new Error(JS_BACKEND_CNN_ERROR);
  }
  return new FusedTrainer(model, inputShape);
}

class FusedTrainer implements LocalTrainer {
  readonly spec: ParamSpec;
  readonly #layers: readonly DenseLayer[];
  readonly #inputShape: readonly number[];
  readonly #rowSize: number;
  readonly #params: Float32Array;
  readonly #grad: Float32Array;
  readonly #moment1: Float32Array;
  readonly #moment2: Float32Array;
  #rows = 0;
  #x = new Float32Array(0);
  #y = new Float32Array(0);
  #acts: Float32Array[] = [];
  /** The same memory as `#acts`, as bits: relu's derivative without a branch. */
  #actBits: Int32Array[] = [];
  #deltas: Float32Array[] = [];
  #operands: LayerOperands[] = [];
  #disposed = false;

  constructor(model: ModelConfig, inputShape: readonly number[]) {
    const plan = modelPlan(model, inputShape);
    this.spec = parameterSpec(model, inputShape);
    this.#inputShape = [...inputShape];
    this.#rowSize = plan.inputShape.reduce((a, b) => a * b, 1);
    this.#layers = plan.layers.map((layer, i) => {
      const kernel = this.spec.tensors[2 * i]!;
      const bias = this.spec.tensors[2 * i + 1]!;
      if (layer.kind !== 'dense') throw new Error(`layer ${layer.name} is not dense`);
      if (kernel.name !== `${layer.name}/kernel` || bias.name !== `${layer.name}/bias`) {
        throw new Error(`spec lists ${kernel.name}, ${bias.name} where layer ${layer.name} expects its own`);
      }
      return {
        inputs: layer.inputs,
        units: layer.units,
        kernel: kernel.offset,
        bias: bias.offset,
        activation: i === plan.layers.length - 1 ? 'linear' : hiddenActivation(layer.activation),
      };
    });
    this.#params = new Float32Array(this.spec.length);
    this.#grad = new Float32Array(this.spec.length);
    this.#moment1 = new Float32Array(this.spec.length);
    this.#moment2 = new Float32Array(this.spec.length);
  }

  setParameters(params: Float32Array): void {
    this.#live();
    if (params.length !== this.spec.length) {
      throw new Error(`expected ${this.spec.length} parameters, got ${params.length}`);
    }
    this.#params.set(params);
  }

  getParameters(): Float32Array {
    this.#live();
    return this.#params.slice();
  }

  train(data: Examples, options: TrainOptions, rng: Rng): TrainResult {
    this.#live();
    this.#check(data);
    const batch = batchSizeFor(data.n, options);
    this.#reserve(batch);
    const adjust = this.#adjustment(options);
    const optimizer =
      options.optimizer === 'adam'
        ? new Adam(options.learningRate, this.#moment1, this.#moment2)
        : new Sgd(options.learningRate);
    return runEpochs(data.n, batch, options.localEpochs, rng, (order, start, b) => {
      this.#gather(data, order, start, b);
      const loss = this.#gradient(b);
      if (adjust !== null) adjustGradient(this.#grad, this.#params, adjust);
      optimizer.step(this.#params, this.#grad);
      return loss;
    });
  }

  predict(data: Examples): Float32Array {
    this.#live();
    this.#check(data);
    const row = this.#rowSize;
    const out = new Float32Array(data.n);
    this.#reserve(Math.min(data.n, PREDICT_ROWS));
    const chunk = this.#rows;
    for (let start = 0; start < data.n; start += chunk) {
      const b = Math.min(chunk, data.n - start);
      const z = this.#forward(b, view(data.x, start * row, row, 1));
      for (let k = 0; k < b; k++) out[start + k] = sigmoid(z[k]!);
    }
    return out;
  }

  dispose(): void {
    this.#disposed = true;
    this.#x = new Float32Array(0);
    this.#y = new Float32Array(0);
    this.#acts = [];
    this.#actBits = [];
    this.#deltas = [];
    this.#operands = [];
  }

  /** Grows the per-row buffers (inputs, labels, each layer's activations and deltas) to `rows` rows. */
  #reserve(rows: number): void {
    if (rows <= this.#rows) return;
    this.#rows = rows;
    this.#x = new Float32Array(rows * this.#rowSize);
    this.#y = new Float32Array(rows);
    this.#acts = this.#layers.map((l) => new Float32Array(rows * l.units));
    this.#actBits = this.#acts.map((a) => new Int32Array(a.buffer));
    this.#deltas = this.#layers.map((l) => new Float32Array(rows * l.units));
    this.#operands = this.#layers.map((_, l) => this.#layerOperands(l));
  }

  /** Views of layer `l`'s operands in the current buffers, so a minibatch allocates nothing. */
  #layerOperands(l: number): LayerOperands {
    const { inputs, units, kernel } = this.#layers[l]!;
    const input = l === 0 ? this.#x : this.#acts[l - 1]!;
    const delta = this.#deltas[l]!;
    const w = this.#params;
    return {
      forward: [view(input, 0, inputs, 1), view(w, kernel, units, 1)],
      kernelGrad: [view(input, 0, 1, inputs), view(delta, 0, units, 1)],
      inputDelta: l === 0 ? null : [view(delta, 0, units, 1), view(w, kernel, 1, units)],
    };
  }

  /** Copies the minibatch `order[start … start+b)` into the input and label buffers. */
  #gather(data: Examples, order: Uint32Array, start: number, b: number): void {
    const row = this.#rowSize;
    const x = this.#x;
    const y = this.#y;
    const src = data.x;
    for (let k = 0; k < b; k++) {
      const r = order[start + k]!;
      const from = r * row;
      const to = k * row;
      for (let j = 0; j < row; j++) x[to + j] = src[from + j]!;
      y[k] = data.y[r]!;
    }
  }

  /**
   * Forward pass of `b` rows; the first layer reads `input` when given (examples in place), else the
   * gathered minibatch. Returns the logits buffer (its first `b` entries).
   */
  #forward(b: number, input?: View): Float32Array {
    const w = this.#params;
    for (let l = 0; l < this.#layers.length; l++) {
      const { inputs, units, bias, activation } = this.#layers[l]!;
      const [x, kernel] = this.#operands[l]!.forward;
      const out = this.#acts[l]!;
      matmul(b, units, inputs, l === 0 && input !== undefined ? input : x, kernel, out, 0);
      biasActivate(out, b, units, w, bias, activation);
    }
    return this.#acts[this.#layers.length - 1]!;
  }

  /** Gradient of the gathered minibatch's mean BCE into `#grad`; returns that mean loss. */
  #gradient(b: number): number {
    const layers = this.#layers;
    const last = layers.length - 1;
    const loss = outputDelta(this.#forward(b), this.#y, b, this.#deltas[last]!);
    const g = this.#grad;
    for (let l = last; l >= 0; l--) {
      const { inputs, units, kernel, bias } = layers[l]!;
      const { kernelGrad, inputDelta } = this.#operands[l]!;
      matmul(inputs, units, b, kernelGrad[0], kernelGrad[1], g, kernel);
      columnSums(this.#deltas[l]!, b, units, g, bias);
      if (inputDelta !== null) {
        const below = this.#deltas[l - 1]!;
        matmul(b, inputs, units, inputDelta[0], inputDelta[1], below, 0);
        activationGradient(
          below,
          this.#acts[l - 1]!,
          this.#actBits[l - 1]!,
          b * inputs,
          layers[l - 1]!.activation,
        );
      }
    }
    return loss;
  }

  /** FedProx's and SCAFFOLD's per-call terms, checked by {@link activeTerms}; null when neither applies. */
  #adjustment(options: TrainOptions): Adjustment | null {
    const terms = activeTerms(options, this.spec.length);
    if (terms === null) return null;
    return {
      proximal:
        terms.proximal === undefined
          ? null
          : { mu: f32(terms.proximal.mu), reference: terms.proximal.reference.slice() },
      correction: terms.correction === undefined ? null : terms.correction.slice(),
    };
  }

  #check(data: Examples): void {
    checkExamples(data, this.#inputShape);
  }

  #live(): void {
    if (this.#disposed) throw new Error('trainer has been disposed');
  }
}

function hiddenActivation(a: 'relu' | 'tanh' | 'sigmoid'): Activation {
  if (a === 'sigmoid') throw new Error('hidden sigmoid layers are not in the model zoo');
  return a;
}

function view(data: Float32Array, offset: number, row: number, col: number): View {
  return { data, offset, row, col };
}

/**
 * C = A·B for A of `m × depth` and B of `depth × n` (strided {@link View}s, so transposes cost nothing),
 * C written row-major with row stride `n` from `cOff`. Blocks of 2 rows × 4 columns accumulate in float64
 * registers over the full depth, in a fixed order.
 */
function matmul(
  m: number,
  n: number,
  depth: number,
  av: View,
  bv: View,
  c: Float32Array,
  cOff: number,
): void {
  const { data: a, offset: aOff, row: aRow, col: aCol } = av;
  const { data: b, offset: bOff, row: bRow, col: bCol } = bv;
  const bCol2 = 2 * bCol;
  const bCol3 = 3 * bCol;
  let r = 0;
  for (; r + 2 <= m; r += 2) {
    const a0 = aOff + r * aRow;
    const a1 = a0 + aRow;
    const c0 = cOff + r * n;
    const c1 = c0 + n;
    let col = 0;
    for (; col + 4 <= n; col += 4) {
      let s00 = 0,
        s01 = 0,
        s02 = 0,
        s03 = 0,
        s10 = 0,
        s11 = 0,
        s12 = 0,
        s13 = 0;
      let ia0 = a0;
      let ia1 = a1;
      let ib = bOff + col * bCol;
      for (let p = 0; p < depth; p++) {
        const x0 = a[ia0]!;
        const x1 = a[ia1]!;
        const w0 = b[ib]!;
        const w1 = b[ib + bCol]!;
        const w2 = b[ib + bCol2]!;
        const w3 = b[ib + bCol3]!;
        s00 += x0 * w0;
        s01 += x0 * w1;
        s02 += x0 * w2;
        s03 += x0 * w3;
        s10 += x1 * w0;
        s11 += x1 * w1;
        s12 += x1 * w2;
        s13 += x1 * w3;
        ia0 += aCol;
        ia1 += aCol;
        ib += bRow;
      }
      c[c0 + col] = s00;
      c[c0 + col + 1] = s01;
      c[c0 + col + 2] = s02;
      c[c0 + col + 3] = s03;
      c[c1 + col] = s10;
      c[c1 + col + 1] = s11;
      c[c1 + col + 2] = s12;
      c[c1 + col + 3] = s13;
    }
    for (; col < n; col++) {
      let s0 = 0;
      let s1 = 0;
      let ia0 = a0;
      let ia1 = a1;
      let ib = bOff + col * bCol;
      for (let p = 0; p < depth; p++) {
        const w = b[ib]!;
        s0 += a[ia0]! * w;
        s1 += a[ia1]! * w;
        ia0 += aCol;
        ia1 += aCol;
        ib += bRow;
      }
      c[c0 + col] = s0;
      c[c1 + col] = s1;
    }
  }
  if (r < m) matmulRow(n, depth, a, aOff + r * aRow, aCol, bv, c, cOff + r * n);
}

/** The last row of an odd-height {@link matmul}, in the same accumulation order. */
function matmulRow(
  n: number,
  depth: number,
  a: Float32Array,
  a0: number,
  aCol: number,
  bv: View,
  c: Float32Array,
  c0: number,
): void {
  const { data: b, offset: bOff, row: bRow, col: bCol } = bv;
  for (let col = 0; col < n; col++) {
    let s = 0;
    let ia = a0;
    let ib = bOff + col * bCol;
    for (let p = 0; p < depth; p++) {
      s += a[ia]! * b[ib]!;
      ia += aCol;
      ib += bRow;
    }
    c[c0 + col] = s;
  }
}

/**
 * out[k, j] = activation(f32(out[k, j] + bias[j])) over the first `rows` rows. relu is ½(v + |v|), exact and
 * branch-free: signs of hidden units are random, and a mispredicted branch per unit cost more than the sum.
 */
function biasActivate(
  out: Float32Array,
  rows: number,
  units: number,
  params: Float32Array,
  bias: number,
  activation: Activation,
): void {
  const end = rows * units;
  if (activation === 'relu') {
    for (let k = 0; k < end; k += units) {
      for (let j = 0; j < units; j++) {
        const v = f32(out[k + j]! + params[bias + j]!);
        out[k + j] = 0.5 * (v + Math.abs(v));
      }
    }
  } else if (activation === 'tanh') {
    for (let k = 0; k < end; k += units) {
      for (let j = 0; j < units; j++) out[k + j] = Math.tanh(f32(out[k + j]! + params[bias + j]!));
    }
  } else {
    for (let k = 0; k < end; k += units) {
      for (let j = 0; j < units; j++) out[k + j] = out[k + j]! + params[bias + j]!;
    }
  }
}

/**
 * delta ·= activation′, from the activation's output `act` (`bits`: the same memory as Int32): relu passes
 * where act > 0, read branch-free from the sign of −bits (act is +0 or positive); tanh scales by 1 − act².
 */
function activationGradient(
  delta: Float32Array,
  act: Float32Array,
  bits: Int32Array,
  count: number,
  activation: Activation,
): void {
  if (activation === 'relu') {
    for (let i = 0; i < count; i++) delta[i] = delta[i]! * ((0 - bits[i]!) >>> 31);
  } else if (activation === 'tanh') {
    for (let i = 0; i < count; i++) {
      const h = act[i]!;
      delta[i] = delta[i]! * f32(1 - f32(h * h));
    }
  }
}

/** Writes dL/dz = (σ(z) − y)/b of the batch-mean BCE into `delta`; returns the mean of softplus(z) − y·z. */
function outputDelta(z: Float32Array, y: Float32Array, b: number, delta: Float32Array): number {
  let sum = 0;
  for (let k = 0; k < b; k++) {
    const zk = z[k]!;
    const yk = y[k]!;
    sum += softplus(zk) - yk * zk;
    delta[k] = (sigmoid(zk) - yk) / b;
  }
  return sum / b;
}

/** out[off + j] = Σ_k m[k, j] over `rows` rows, accumulated in float64. */
function columnSums(m: Float32Array, rows: number, cols: number, out: Float32Array, off: number): void {
  for (let j = 0; j < cols; j++) {
    let s = 0;
    for (let k = 0, i = j; k < rows; k++, i += cols) s += m[i]!;
    out[off + j] = s;
  }
}

/** g += mu·(w − reference), then g += correction, each rounded to float32 as tfjs' ops round them. */
function adjustGradient(g: Float32Array, w: Float32Array, adjust: Adjustment): void {
  const { proximal, correction } = adjust;
  if (proximal !== null) {
    const { mu, reference } = proximal;
    for (let i = 0; i < g.length; i++) g[i] = g[i]! + f32(mu * f32(w[i]! - reference[i]!));
  }
  if (correction !== null) {
    for (let i = 0; i < g.length; i++) g[i] = g[i]! + correction[i]!;
  }
}

/** tfjs' `SGDOptimizer`: w ← (−lr)·g + w, each op in float32. */
class Sgd implements Optimizer {
  readonly #negLr: number;

  constructor(learningRate: number) {
    this.#negLr = f32(-learningRate);
  }

  step(w: Float32Array, g: Float32Array): void {
    const c = this.#negLr;
    for (let i = 0; i < w.length; i++) w[i] = f32(c * g[i]!) + w[i]!;
  }
}

/**
 * tfjs' `AdamOptimizer` with its defaults (β1 0.9, β2 0.999, ε 1e-7 added to √v̂, bias corrections from
 * float32 running powers β^t), each op rounded to float32 as tfjs computes it; moments start at zero.
 */
class Adam implements Optimizer {
  readonly #negLr: number;
  readonly #m: Float32Array;
  readonly #v: Float32Array;
  #accBeta1 = f32(BETA1);
  #accBeta2 = f32(BETA2);

  constructor(learningRate: number, m: Float32Array, v: Float32Array) {
    this.#negLr = f32(-learningRate);
    this.#m = m.fill(0);
    this.#v = v.fill(0);
  }

  step(w: Float32Array, g: Float32Array): void {
    const b1 = f32(BETA1);
    const b2 = f32(BETA2);
    const oneMinusB1 = f32(1 - BETA1);
    const oneMinusB2 = f32(1 - BETA2);
    const eps = f32(EPSILON);
    const negLr = this.#negLr;
    const correction1 = f32(1 - this.#accBeta1);
    const correction2 = f32(1 - this.#accBeta2);
    const m = this.#m;
    const v = this.#v;
    for (let i = 0; i < w.length; i++) {
      const gi = g[i]!;
      const mi = f32(f32(m[i]! * b1) + f32(gi * oneMinusB1));
      const vi = f32(f32(v[i]! * b2) + f32(f32(gi * gi) * oneMinusB2));
      m[i] = mi;
      v[i] = vi;
      const mHat = f32(mi / correction1);
      const vHat = f32(vi / correction2);
      const ratio = f32(mHat / f32(f32(Math.sqrt(vHat)) + eps));
      w[i] = f32(ratio * negLr) + w[i]!;
    }
    this.#accBeta1 = f32(this.#accBeta1 * b1);
    this.#accBeta2 = f32(this.#accBeta2 * b2);
  }
}

/** softplus(z) = log(1 + e^z) without overflow, in float64. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** σ(z) in float64 without overflow. */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
