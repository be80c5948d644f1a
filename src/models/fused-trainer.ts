import type { ParamSpec } from '../common/params.ts';
import type { Rng } from '../common/rng.ts';
import type { ModelConfig } from '../scenario/schema.ts';
import { modelPlan, parameterSpec } from './architecture.ts';
import { KernelArena, type GemmCall } from './kernels.ts';
import { BINARY_HEAD, outputUnits, type OutputHead } from '../protocol/outcome.ts';
import { activeTerms, batchSizeFor, checkExamples, runEpochs } from './trainer-contract.ts';
import type { Examples, LocalTrainer, TrainOptions, TrainResult } from './types.ts';
import { fillGaussian } from '../common/dp/gaussian.ts';
import {
  checkDpSgdStep,
  clipFactor,
  dpSteps,
  dpStepsPerEpoch,
  poissonSample,
  type DpSgdStep,
} from './dp-sgd.ts';

/** A trainer that can sum per-example clipped gradients (dense models of the fused trainer). */
export interface PerExampleClipping {
  /**
   * Σ over `data`'s examples of each one's loss gradient clipped to L2 norm `clipNorm` (∞: not clipped), the
   * sum DP-SGD adds its noise to, at the current parameters.
   */
  clippedGradientSum(data: Examples, clipNorm: number): Float32Array;
}

/** Rows (examples) per predict chunk for dense models and for conv nets, unless training reserved more. */
const PREDICT_ROWS = 256;
const PREDICT_IMAGES = 32;

/** tfjs' Adam defaults (`tf.train.adam(lr)`), and its float32 backend epsilon. */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

const f32 = Math.fround;

/**
 * How the matrix products accumulate: 'float64' (backend js) rounds each output once, as exact as float32
 * inputs allow; 'float32' (backend js-f32) rounds every product and sum, with twice the SIMD lanes.
 */
export type Accumulation = 'float64' | 'float32';

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

/** One conv block (k × k 'same' conv, relu, 2×2 max-pool) on h × w × cin images; kernel and bias offsets as above. */
interface ConvLayer {
  readonly size: number;
  /** Rows and columns of zeros before the image ('same' padding: ⌊(size − 1)/2⌋, the rest after). */
  readonly pad: number;
  readonly h: number;
  readonly w: number;
  readonly cin: number;
  readonly filters: number;
  readonly kernel: number;
  readonly bias: number;
}

/** Byte offsets of one conv block's minibatch buffers in the kernel arena. */
interface ConvBuffers {
  /** im2col of the block's input. */
  readonly cols: number;
  /** Pre-activations, then (in place) the relu output. */
  readonly act: number;
  readonly pooled: number;
  /** Index of each pooled value's source in `act`. */
  readonly argmax: number;
  /** Gradient with respect to `pooled`. */
  readonly dPooled: number;
  readonly dAct: number;
  /** im2col of `dAct` and the flipped kernel that carry the gradient to the block's input; 0 for the first block. */
  readonly dCols: number;
  readonly flipped: number;
}

/** Byte offsets of one dense layer's minibatch buffers in the kernel arena. */
interface DenseBuffers {
  readonly input: number;
  readonly act: number;
  readonly delta: number;
  /** The kernel transposed (units × inputs), for the gradient with respect to the input. */
  readonly kernelT: number;
  /** Where the gradient with respect to the input goes; 0 for the first layer of a dense model. */
  readonly inputDelta: number;
}

/**
 * FedProx's and SCAFFOLD's per-call gradient terms, validated; null where one is off. The vectors are the caller's,
 * not copies: training reads them synchronously and writes only its own buffers.
 */
interface Adjustment {
  readonly proximal: {
    readonly mu: number;
    readonly reference: Float32Array;
  } | null;
  readonly correction: Float32Array | null;
}

/** Updates parameters in place from a gradient of the same flat layout. */
interface Optimizer {
  step(w: Float32Array, g: Float32Array): void;
}

/**
 * A {@link LocalTrainer} for every model of the zoo (logistic, mlp, cnn) in fused loops without tfjs: the
 * matrix products, im2col, relu and max-pooling run in WebAssembly SIMD kernels (src/models/kernels.ts) on
 * buffers allocated once, the loss and optimizer in plain Float32Array loops. It reproduces the tfjs trainer's
 * semantics: the flat layout of `parameterSpec`, one seeded permutation per epoch drawn from `rng`, minibatches
 * in that order with a smaller last one, BCE from the logit, FedProx and SCAFFOLD terms added to the gradient,
 * and tfjs' SGD and Adam updates rounded to float32 op by op. Every product (convolutions as im2col products)
 * accumulates over its depth in a fixed order, in float64 rounded to float32 once (or, with `accumulation`
 * 'float32', in float32), so results are bit-identical across runs and threads; in float64 they agree with tfjs
 * to float32 rounding of the gradients.
 */
export function createFusedTrainer(
  model: ModelConfig,
  inputShape: readonly number[],
  accumulation: Accumulation = 'float64',
  head: OutputHead = BINARY_HEAD,
): LocalTrainer & PerExampleClipping {
  return new FusedTrainer(model, inputShape, accumulation, head);
}

class FusedTrainer implements LocalTrainer, PerExampleClipping {
  readonly spec: ParamSpec;
  readonly #convs: readonly ConvLayer[];
  readonly #layers: readonly DenseLayer[];
  readonly #inputShape: readonly number[];
  readonly #rowSize: number;
  readonly #predictRows: number;
  readonly #head: OutputHead;
  /** Units of the output layer. */
  readonly #outputs: number;
  readonly #arena = new KernelArena();
  readonly #paramsAt: number;
  readonly #gradAt: number;
  readonly #moment1At: number;
  readonly #moment2At: number;
  #params: Float32Array = new Float32Array(0);
  #grad: Float32Array = new Float32Array(0);
  #moment1: Float32Array = new Float32Array(0);
  #moment2: Float32Array = new Float32Array(0);
  #rows = 0;
  #xAt = 0;
  /** Scratch of the float64 products (packed operands, partial sums). */
  #scratchAt = 0;
  #x: Float32Array = new Float32Array(0);
  #y = new Float32Array(0);
  #convBuffers: ConvBuffers[] = [];
  #denseBuffers: DenseBuffers[] = [];
  /** Each dense layer's activations and deltas as views, for the steps done in JavaScript. */
  #acts: Float32Array[] = [];
  #deltas: Float32Array[] = [];
  /** DP-SGD: each gathered row's squared gradient norm. */
  #rowNorms = new Float64Array(0);
  #disposed = false;

  /** C = A·B with the accumulation chosen at construction (see wasm/kernels.ts `gemm`). */
  readonly #gemm: GemmCall;

  constructor(
    model: ModelConfig,
    inputShape: readonly number[],
    accumulation: Accumulation,
    head: OutputHead,
  ) {
    this.#head = head;
    this.#outputs = outputUnits(head);
    const product = accumulation === 'float64' ? this.#arena.k.gemm : this.#arena.k.gemm32;
    this.#gemm = (m, n, depth, a, aRow, aCol, b, bRow, c, cRow) =>
      product(m, n, depth, a, aRow, aCol, b, bRow, c, cRow, this.#scratchAt);
    const plan = modelPlan(model, inputShape, head);
    this.spec = parameterSpec(model, inputShape, head);
    this.#inputShape = [...inputShape];
    this.#rowSize = plan.inputShape.reduce((a, b) => a * b, 1);
    const convs: ConvLayer[] = [];
    const layers: DenseLayer[] = [];
    let [h, w, c] = plan.inputShape.length === 3 ? (plan.inputShape as [number, number, number]) : [1, 1, 1];
    plan.layers.forEach((layer, i) => {
      const kernel = this.spec.tensors[2 * i]!;
      const bias = this.spec.tensors[2 * i + 1]!;
      if (kernel.name !== `${layer.name}/kernel` || bias.name !== `${layer.name}/bias`) {
        throw new Error(`spec lists ${kernel.name}, ${bias.name} where layer ${layer.name} expects its own`);
      }
      if (layer.kind === 'conv') {
        convs.push({
          size: layer.kernelSize,
          pad: Math.floor((layer.kernelSize - 1) / 2),
          h,
          w,
          cin: c,
          filters: layer.filters,
          kernel: kernel.offset,
          bias: bias.offset,
        });
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        c = layer.filters;
        return;
      }
      layers.push({
        inputs: layer.inputs,
        units: layer.units,
        kernel: kernel.offset,
        bias: bias.offset,
        activation: i === plan.layers.length - 1 ? 'linear' : hiddenActivation(layer.activation),
      });
    });
    this.#convs = convs;
    this.#layers = layers;
    this.#predictRows = convs.length > 0 ? PREDICT_IMAGES : PREDICT_ROWS;
    const n = this.spec.length;
    this.#paramsAt = this.#arena.alloc(n);
    this.#gradAt = this.#arena.alloc(n);
    this.#moment1At = this.#arena.alloc(n);
    this.#moment2At = this.#arena.alloc(n);
    this.#views();
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
    if (options.dpSgd !== undefined) return this.#trainDp(data, options, options.dpSgd, rng);
    const batch = batchSizeFor(data.n, options);
    this.#reserve(batch);
    const adjust = this.#adjustment(options);
    const optimizer = this.#optimizer(options);
    return runEpochs(
      data.n,
      batch,
      options.localEpochs,
      rng,
      (order, start, b) => {
        this.#gather(data, order, start, b);
        const loss = this.#gradient(b);
        if (adjust !== null) adjustGradient(this.#grad, this.#params, adjust);
        optimizer.step(this.#params, this.#grad);
        return loss;
      },
      options.maxSteps,
    );
  }

  clippedGradientSum(data: Examples, clipNorm: number): Float32Array {
    this.#live();
    this.#check(data);
    this.#denseOnly();
    const order = new Uint32Array(data.n);
    for (let i = 0; i < data.n; i++) order[i] = i;
    this.#reserve(Math.max(1, Math.min(data.n, PREDICT_ROWS)));
    this.#clippedSum(data, order, data.n, 1, clipNorm);
    return this.#grad.slice();
  }

  /**
   * DP-SGD (see dp-sgd.ts): `dpSteps` steps, each on a Poisson sample of the examples drawn from `rng`, the
   * per-example gradients clipped and summed, noise from `rng` added, divided by q·n, then the optimizer's
   * update. With C = ∞, z = 0 and q = 1 a step is the plain step on all examples (in index order). Returns the
   * mean per-example loss over the last epoch's samples (NaN if they were all empty) and the steps taken.
   */
  #trainDp(data: Examples, options: TrainOptions, dp: DpSgdStep, rng: Rng): TrainResult {
    checkDpSgdStep(dp);
    this.#denseOnly();
    const n = data.n;
    const q = dp.sampleRate;
    const expected = q * n;
    this.#reserve(Math.min(n, Math.ceil(expected + 6 * Math.sqrt(expected) + 16)));
    const adjust = this.#adjustment(options);
    const optimizer = this.#optimizer(options);
    const steps = dpSteps(q, options.localEpochs, options.maxSteps);
    const perEpoch = dpStepsPerEpoch(q);
    const chosen = new Uint32Array(n);
    const noise = dp.noiseMultiplier > 0 ? new Float64Array(this.spec.length) : undefined;
    const sigma = (dp.noiseMultiplier * dp.clipNorm) / expected;
    let lossSum = 0;
    let lossCount = 0;
    for (let s = 0; s < steps; s++) {
      if (s % perEpoch === 0) {
        lossSum = 0;
        lossCount = 0;
      }
      const m = poissonSample(n, q, rng, chosen);
      lossSum += this.#clippedSum(data, chosen, m, expected, dp.clipNorm);
      lossCount += m;
      if (noise !== undefined) {
        fillGaussian(noise, sigma, rng);
        const g = this.#grad;
        for (let j = 0; j < g.length; j++) g[j] = g[j]! + noise[j]!;
      }
      if (adjust !== null) adjustGradient(this.#grad, this.#params, adjust);
      optimizer.step(this.#params, this.#grad);
    }
    return { loss: lossCount > 0 ? lossSum / lossCount : NaN, steps };
  }

  /**
   * Σ_k clip(g_k)/`scale` over the examples `order[0 … m)` into `#grad`, in chunks of the reserved rows
   * (summed in float64 when there are several); returns the sum of their losses.
   */
  #clippedSum(data: Examples, order: Uint32Array, m: number, scale: number, clipNorm: number): number {
    const g = this.#grad;
    if (m === 0) {
      g.fill(0);
      return 0;
    }
    const rows = this.#rows;
    let acc: Float64Array | undefined;
    let loss = 0;
    for (let start = 0; start < m; start += rows) {
      const b = Math.min(rows, m - start);
      this.#gather(data, order, start, b);
      loss += this.#clippedGradient(b, scale, clipNorm);
      if (m > rows) {
        acc ??= new Float64Array(g.length);
        for (let j = 0; j < g.length; j++) acc[j]! += g[j]!;
      }
    }
    if (acc !== undefined) for (let j = 0; j < g.length; j++) g[j] = acc[j]!;
    return loss;
  }

  /**
   * The gathered rows' gradients, each clipped to `clipNorm` / `scale` after the loss is divided by `scale`,
   * summed into `#grad`; returns the rows' summed loss. Each example's gradient is never materialised: a dense
   * layer's is the outer product of its input row a and output delta δ, of squared norm (‖a‖² + 1)·‖δ‖² with
   * the bias (Goodfellow 2015), so the deltas of all layers are computed first, each row's norm summed over the
   * layers, the rows scaled by their clipping factors, and the kernel gradients taken as one product per layer.
   * Unclipped (every factor 1), it does exactly the operations of {@link #gradient} with b replaced by `scale`.
   */
  #clippedGradient(b: number, scale: number, clipNorm: number): number {
    const k = this.#arena.k;
    const gemm = this.#gemm;
    const layers = this.#layers;
    const last = layers.length - 1;
    const z = this.#forward(b);
    const delta = this.#deltas[last]!;
    const meanLoss =
      this.#head.kind === 'binary'
        ? outputDelta(z, this.#y, b, delta, scale)
        : this.#head.kind === 'continuous'
          ? squaredErrorDelta(z, this.#y, b, delta, scale)
          : softmaxDelta(z, this.#y, b, this.#outputs, delta, scale);
    for (let i = last; i > 0; i--) {
      const { inputs, units, kernel } = layers[i]!;
      const buf = this.#denseBuffers[i]!;
      k.transpose(this.#at(kernel), inputs, units, buf.kernelT);
      gemm(b, inputs, units, buf.delta, units, 1, buf.kernelT, inputs, buf.inputDelta, inputs);
      const below = layers[i - 1]!.activation;
      if (below === 'relu') k.reluGrad(buf.inputDelta, buf.input, b * inputs);
      else if (below === 'tanh') tanhGradient(this.#deltas[i - 1]!, this.#acts[i - 1]!, b * inputs);
    }
    if (clipNorm !== Number.POSITIVE_INFINITY) {
      if (this.#rowNorms.length < b) this.#rowNorms = new Float64Array(this.#rows);
      const norms = this.#rowNorms;
      norms.fill(0, 0, b);
      for (let i = 0; i <= last; i++) {
        const l = layers[i]!;
        const input = i === 0 ? this.#x : this.#acts[i - 1]!;
        const d = this.#deltas[i]!;
        for (let r = 0; r < b; r++) {
          let aa = 1;
          for (let j = r * l.inputs, end = j + l.inputs; j < end; j++) aa += input[j]! * input[j]!;
          let dd = 0;
          for (let j = r * l.units, end = j + l.units; j < end; j++) dd += d[j]! * d[j]!;
          norms[r]! += aa * dd;
        }
      }
      for (let r = 0; r < b; r++) {
        const c = clipFactor(Math.sqrt(norms[r]!), clipNorm, scale);
        if (c === 1) continue;
        for (let i = 0; i <= last; i++) {
          const d = this.#deltas[i]!;
          for (let j = r * layers[i]!.units, end = j + layers[i]!.units; j < end; j++) d[j] = d[j]! * c;
        }
      }
    }
    for (let i = last; i >= 0; i--) {
      const { inputs, units, kernel, bias } = layers[i]!;
      const buf = this.#denseBuffers[i]!;
      gemm(inputs, units, b, buf.input, 1, inputs, buf.delta, units, this.#at(kernel, true), units);
      k.columnSums(buf.delta, b, units, this.#at(bias, true));
    }
    return meanLoss * scale;
  }

  #optimizer(options: TrainOptions): Sgd | Adam {
    return options.optimizer === 'adam'
      ? new Adam(options.learningRate, this.#moment1, this.#moment2)
      : new Sgd(options.learningRate);
  }

  #denseOnly(): void {
    if (this.#convs.length > 0)
      throw new Error('DP-SGD clips per-example gradients of dense models only (logistic, mlp)');
  }

  predict(data: Examples): Float32Array {
    this.#live();
    this.#check(data);
    const row = this.#rowSize;
    const units = this.#outputs;
    const out = new Float32Array(data.n * units);
    this.#reserve(Math.min(data.n, this.#predictRows));
    const chunk = this.#rows;
    for (let start = 0; start < data.n; start += chunk) {
      const b = Math.min(chunk, data.n - start);
      this.#x.set(data.x.subarray(start * row, (start + b) * row));
      const z = this.#forward(b);
      if (this.#head.kind === 'binary') {
        for (let k = 0; k < b; k++) out[start + k] = sigmoid(z[k]!);
      } else if (this.#head.kind === 'continuous') {
        out.set(z.subarray(0, b), start);
      } else {
        for (let k = 0; k < b; k++) softmaxRow(z, k * units, units, out, (start + k) * units);
      }
    }
    return out;
  }

  dispose(): void {
    this.#disposed = true;
    this.#params = new Float32Array(0);
    this.#grad = new Float32Array(0);
    this.#moment1 = new Float32Array(0);
    this.#moment2 = new Float32Array(0);
    this.#x = new Float32Array(0);
    this.#y = new Float32Array(0);
    this.#acts = [];
    this.#deltas = [];
  }

  /** Grows the minibatch buffers (inputs, labels, every layer's activations and gradients) to `rows` examples. */
  #reserve(rows: number): void {
    if (rows <= this.#rows) return;
    this.#rows = rows;
    const arena = this.#arena;
    this.#xAt = arena.alloc(rows * this.#rowSize);
    const scratch = this.#products(rows).map(([m, n, depth]) => arena.k.gemmScratch(m, n, depth));
    this.#scratchAt = arena.alloc(Math.ceil(Math.max(0, ...scratch) / 4));
    this.#y = new Float32Array(rows);
    let input = this.#xAt;
    this.#convBuffers = this.#convs.map((l, i) => {
      const pixels = rows * l.h * l.w;
      const pooled = rows * Math.floor(l.h / 2) * Math.floor(l.w / 2) * l.filters;
      const buffers: ConvBuffers = {
        cols: arena.alloc(pixels * l.size * l.size * l.cin),
        act: arena.alloc(pixels * l.filters),
        pooled: arena.alloc(pooled),
        argmax: arena.alloc(pooled),
        dPooled: arena.alloc(pooled),
        dAct: arena.alloc(pixels * l.filters),
        dCols: i === 0 ? 0 : arena.alloc(pixels * l.size * l.size * l.filters),
        flipped: i === 0 ? 0 : arena.alloc(l.size * l.size * l.filters * l.cin),
      };
      input = buffers.pooled;
      return buffers;
    });
    const lastConv = this.#convBuffers[this.#convBuffers.length - 1];
    this.#denseBuffers = this.#layers.map((l, i) => {
      const buffers: DenseBuffers = {
        input,
        act: arena.alloc(rows * l.units),
        delta: arena.alloc(rows * l.units),
        kernelT: arena.alloc(l.inputs * l.units),
        inputDelta: i > 0 ? 0 : (lastConv?.dPooled ?? 0),
      };
      input = buffers.act;
      return buffers;
    });
    this.#denseBuffers = this.#denseBuffers.map((d, i) =>
      i === 0 ? d : { ...d, inputDelta: this.#denseBuffers[i - 1]!.delta },
    );
    this.#views();
  }

  /** The sizes (m, n, depth) of every matrix product of a minibatch of `rows` examples. */
  #products(rows: number): [number, number, number][] {
    const sizes: [number, number, number][] = [];
    this.#convs.forEach((l, i) => {
      const pixels = rows * l.h * l.w;
      const taps = l.size * l.size;
      sizes.push([pixels, l.filters, taps * l.cin], [taps * l.cin, l.filters, pixels]);
      if (i > 0) sizes.push([pixels, l.cin, taps * l.filters]);
    });
    for (const l of this.#layers) {
      sizes.push([rows, l.units, l.inputs], [l.inputs, l.units, rows], [rows, l.inputs, l.units]);
    }
    return sizes;
  }

  /** (Re)creates the typed-array views of the arena's buffers, which a growth of its memory detaches. */
  #views(): void {
    const arena = this.#arena;
    const n = this.spec.length;
    this.#params = arena.f32(this.#paramsAt, n);
    this.#grad = arena.f32(this.#gradAt, n);
    this.#moment1 = arena.f32(this.#moment1At, n);
    this.#moment2 = arena.f32(this.#moment2At, n);
    this.#x = arena.f32(this.#xAt, this.#rows * this.#rowSize);
    this.#acts = this.#layers.map((l, i) => arena.f32(this.#denseBuffers[i]?.act ?? 0, this.#rows * l.units));
    this.#deltas = this.#layers.map((l, i) =>
      arena.f32(this.#denseBuffers[i]?.delta ?? 0, this.#rows * l.units),
    );
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
      if (row < 64) {
        for (let j = 0; j < row; j++) x[to + j] = src[from + j]!;
      } else {
        x.set(src.subarray(from, from + row), to);
      }
      y[k] = data.y[r]!;
    }
  }

  /** Byte offset of the parameter (or, with `grad`, gradient) element `index`. */
  #at(index: number, grad = false): number {
    return (grad ? this.#gradAt : this.#paramsAt) + 4 * index;
  }

  /** Forward pass of the first `b` rows of the input buffer; returns the logits buffer (its first `b` entries). */
  #forward(b: number): Float32Array {
    const k = this.#arena.k;
    const gemm = this.#gemm;
    let input = this.#xAt;
    this.#convs.forEach((l, i) => {
      const buf = this.#convBuffers[i]!;
      const pixels = b * l.h * l.w;
      const depth = l.size * l.size * l.cin;
      k.im2col(input, b, l.h, l.w, l.cin, l.size, l.pad, buf.cols);
      gemm(pixels, l.filters, depth, buf.cols, depth, 1, this.#at(l.kernel), l.filters, buf.act, l.filters);
      k.biasRelu(buf.act, pixels, l.filters, this.#at(l.bias));
      k.maxPool(buf.act, b, l.h, l.w, l.filters, buf.pooled, buf.argmax);
      input = buf.pooled;
    });
    const w = this.#params;
    this.#layers.forEach((l, i) => {
      const { inputs, units, bias, activation } = l;
      const buf = this.#denseBuffers[i]!;
      gemm(b, units, inputs, buf.input, inputs, 1, this.#at(l.kernel), units, buf.act, units);
      if (activation === 'relu') k.biasRelu(buf.act, b, units, this.#at(bias));
      else biasActivate(this.#acts[i]!, b, units, w, bias, activation);
    });
    return this.#acts[this.#layers.length - 1]!;
  }

  /**
   * Gradient of the gathered minibatch's mean loss into `#grad` (BCE from the logit, softmax cross-entropy, or
   * squared error, by the head); returns that mean loss.
   */
  #gradient(b: number): number {
    const k = this.#arena.k;
    const gemm = this.#gemm;
    const layers = this.#layers;
    const last = layers.length - 1;
    const z = this.#forward(b);
    const delta = this.#deltas[last]!;
    const loss =
      this.#head.kind === 'binary'
        ? outputDelta(z, this.#y, b, delta)
        : this.#head.kind === 'continuous'
          ? squaredErrorDelta(z, this.#y, b, delta)
          : softmaxDelta(z, this.#y, b, this.#outputs, delta);
    for (let i = last; i >= 0; i--) {
      const { inputs, units, kernel, bias } = layers[i]!;
      const buf = this.#denseBuffers[i]!;
      gemm(inputs, units, b, buf.input, 1, inputs, buf.delta, units, this.#at(kernel, true), units);
      k.columnSums(buf.delta, b, units, this.#at(bias, true));
      if (buf.inputDelta === 0) continue;
      k.transpose(this.#at(kernel), inputs, units, buf.kernelT);
      gemm(b, inputs, units, buf.delta, units, 1, buf.kernelT, inputs, buf.inputDelta, inputs);
      if (i === 0) continue;
      const below = layers[i - 1]!.activation;
      if (below === 'relu') k.reluGrad(buf.inputDelta, buf.input, b * inputs);
      else if (below === 'tanh') tanhGradient(this.#deltas[i - 1]!, this.#acts[i - 1]!, b * inputs);
    }
    for (let i = this.#convs.length - 1; i >= 0; i--) {
      const l = this.#convs[i]!;
      const buf = this.#convBuffers[i]!;
      const pixels = b * l.h * l.w;
      const depth = l.size * l.size * l.cin;
      const pooled = b * Math.floor(l.h / 2) * Math.floor(l.w / 2) * l.filters;
      k.maxPoolGrad(buf.dPooled, buf.argmax, pooled, buf.dAct, pixels * l.filters);
      k.reluGrad(buf.dAct, buf.act, pixels * l.filters);
      gemm(
        depth,
        l.filters,
        pixels,
        buf.cols,
        1,
        depth,
        buf.dAct,
        l.filters,
        this.#at(l.kernel, true),
        l.filters,
      );
      k.columnSums(buf.dAct, pixels, l.filters, this.#at(l.bias, true));
      if (i === 0) continue;
      const back = l.size * l.size * l.filters;
      k.flipKernel(this.#at(l.kernel), l.size, l.cin, l.filters, buf.flipped);
      k.im2col(buf.dAct, b, l.h, l.w, l.filters, l.size, l.size - 1 - l.pad, buf.dCols);
      const into = this.#convBuffers[i - 1]!.dPooled;
      gemm(pixels, l.cin, back, buf.dCols, back, 1, buf.flipped, l.cin, into, l.cin);
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
          : {
              mu: f32(terms.proximal.mu),
              reference: terms.proximal.reference,
            },
      correction: terms.correction ?? null,
    };
  }

  #check(data: Examples): void {
    checkExamples(data, this.#inputShape);
  }

  #live(): void {
    if (this.#disposed) throw new Error('trainer has been disposed');
  }
}

function hiddenActivation(a: 'relu' | 'tanh' | 'sigmoid' | 'softmax' | 'linear'): Activation {
  if (a !== 'relu' && a !== 'tanh') throw new Error(`hidden ${a} layers are not in the model zoo`);
  return a;
}

/** out[k, j] = activation(f32(out[k, j] + bias[j])) over the first `rows` rows, for tanh and linear layers. */
function biasActivate(
  out: Float32Array,
  rows: number,
  units: number,
  params: Float32Array,
  bias: number,
  activation: 'tanh' | 'linear',
): void {
  const end = rows * units;
  if (activation === 'tanh') {
    for (let k = 0; k < end; k += units) {
      for (let j = 0; j < units; j++) out[k + j] = Math.tanh(f32(out[k + j]! + params[bias + j]!));
    }
  } else {
    for (let k = 0; k < end; k += units) {
      for (let j = 0; j < units; j++) out[k + j] = out[k + j]! + params[bias + j]!;
    }
  }
}

/** delta ·= 1 − act² over `count` elements: tanh's derivative from its output, in float32. */
function tanhGradient(delta: Float32Array, act: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const h = act[i]!;
    delta[i] = delta[i]! * f32(1 - f32(h * h));
  }
}

/**
 * Writes dL/dz = (σ(z) − y)/d of the batch-mean BCE into `delta` (d = `divisor`, the batch size b unless
 * DP-SGD divides by its expected batch); returns the sum of softplus(z) − y·z over d.
 */
function outputDelta(z: Float32Array, y: Float32Array, b: number, delta: Float32Array, divisor = b): number {
  let sum = 0;
  for (let k = 0; k < b; k++) {
    const zk = z[k]!;
    const yk = y[k]!;
    sum += softplus(zk) - yk * zk;
    delta[k] = (sigmoid(zk) - yk) / divisor;
  }
  return sum / divisor;
}

/** Writes dL/dz = 2(z − y)/d of the batch-mean squared error into `delta` (d as in outputDelta); returns the sum over d. */
function squaredErrorDelta(
  z: Float32Array,
  y: Float32Array,
  b: number,
  delta: Float32Array,
  divisor = b,
): number {
  let sum = 0;
  for (let k = 0; k < b; k++) {
    const e = z[k]! - y[k]!;
    sum += e * e;
    delta[k] = (2 * e) / divisor;
  }
  return sum / divisor;
}

/**
 * Writes dL/dz = (softmax(z) − onehot(y))/b of the batch-mean softmax cross-entropy over `units` classes into
 * `delta`; returns the mean of logsumexp(z) − z_y. Labels must be class indices 0 … units − 1.
 */
function softmaxDelta(
  z: Float32Array,
  y: Float32Array,
  b: number,
  units: number,
  delta: Float32Array,
  divisor = b,
): number {
  let sum = 0;
  for (let k = 0; k < b; k++) {
    const label = y[k]!;
    if (!(Number.isInteger(label) && label >= 0 && label < units)) {
      throw new Error(`label at batch row ${k}: expected a class index from 0 to ${units - 1}`);
    }
    const o = k * units;
    let max = -Infinity;
    for (let j = 0; j < units; j++) max = Math.max(max, z[o + j]!);
    let total = 0;
    for (let j = 0; j < units; j++) total += Math.exp(z[o + j]! - max);
    sum += max + Math.log(total) - z[o + label]!;
    for (let j = 0; j < units; j++) {
      delta[o + j] = (Math.exp(z[o + j]! - max) / total - (j === label ? 1 : 0)) / divisor;
    }
  }
  return sum / divisor;
}

/** out[to … to+units) = softmax(z[from … from+units)), in float64 rounded once. */
function softmaxRow(z: Float32Array, from: number, units: number, out: Float32Array, to: number): void {
  let max = -Infinity;
  for (let j = 0; j < units; j++) max = Math.max(max, z[from + j]!);
  let total = 0;
  for (let j = 0; j < units; j++) total += Math.exp(z[from + j]! - max);
  for (let j = 0; j < units; j++) out[to + j] = Math.exp(z[from + j]! - max) / total;
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
