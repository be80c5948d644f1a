/**
 * A `Conv2DBackpropFilter` kernel for the tfjs `wasm` backend, which lacks one in 4.22: without it no conv
 * net can train on wasm (every other kernel a conv2d/maxPooling2d/dense backward pass needs is there).
 *
 * Tied to @tensorflow/tfjs-backend-wasm 4.22.0 (pinned in package.json). The kernel delegates to the wasm
 * backend's own `Conv3DBackpropFilterV2` kernel, handing it the same tensor memory reinterpreted as a
 * depth-1 3-D problem (x `[n,h,w,c]` → `[n,1,h,w,c]`, dy likewise, filter `[fh,fw,ci,co]` ← `[1,fh,fw,ci,co]`).
 * This relies on internals tfjs does not promise to keep: that kernel's contract (inputs `x`, `dy`; attrs
 * `strides`, `pad`, `filterShape`; reads only `dataId`, `shape`, `dtype`; returns a fresh output) and, for
 * strides > 1, `BackendWasm.makeOutput` / `typedArrayFromHeap` / `disposeData`.
 *
 * Strides: with stride 1 nothing is copied. The 4.22 wasm `Conv3DBackpropFilterV2` computes wrong loop
 * bounds for strides > 1 (wrong gradients, silently), so a strided problem is first turned into a stride-1
 * one: dy is spread, with zeros between, onto the stride-1 output grid (one copy of dy, s_h·s_w times the
 * kernel's work). Exact either way; see test/models/wasm-conv2d-grad.test.ts.
 *
 * Supported: float32, NHWC, dilation 1, padding 'valid', 'same' or the number 0. Anything else throws an
 * Error naming the attribute. Re-check all of this when upgrading tfjs; if a later wasm backend ships its
 * own `Conv2DBackpropFilter`, {@link registerWasmConv2DBackpropFilter} leaves that one in place.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  Conv3DBackpropFilterV2,
  getKernel,
  registerKernel,
} from '@tensorflow/tfjs-core';
import type {
  Conv2DBackpropFilterAttrs,
  Conv3DBackpropFilterV2Attrs,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const BACKEND = 'wasm';

type Shape4 = [number, number, number, number];
type Shape5 = [number, number, number, number, number];

/** Registers a `Conv2DBackpropFilter` kernel for the 'wasm' backend (no-op if one is already registered). */
export function registerWasmConv2DBackpropFilter(): void {
  if (getKernel(Conv2DBackpropFilter, BACKEND) !== undefined) return;
  const config: KernelConfig = {
    kernelName: Conv2DBackpropFilter,
    backendName: BACKEND,
    kernelFunc: conv2DBackpropFilterViaConv3D,
  };
  registerKernel(config);
}

const conv2DBackpropFilterViaConv3D: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined) {
    throw new Error(`wasm ${Conv2DBackpropFilter}: inputs 'x' and 'dy' are required`);
  }
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(
      `wasm ${Conv2DBackpropFilter}: inputs 'x' and 'dy' must be float32, got ${x.dtype}, ${dy.dtype}`,
    );
  }
  const a = checkedAttrs(attrs);
  const xShape = asShape4(x.shape, 'x');
  const dyShape = asShape4(dy.shape, 'dy');
  const [fh, fw, ci, co] = a.filterShape;
  const pad3 = a.pad === 0 ? 'valid' : a.pad;
  const fail = (why: string): Error =>
    new Error(
      `wasm ${Conv2DBackpropFilter}: ${why} (x [${xShape.join(',')}], dy [${dyShape.join(',')}], filterShape ` +
        `[${a.filterShape.join(',')}], strides [${a.strides.join(',')}], pad ${String(a.pad)}, ` +
        `dimRoundingMode ${String(a.dimRoundingMode)})`,
    );

  // The 2-D problem as tfjs defines it (the cpu backend computes exactly this) ...
  const info2 = backend_util.computeConv2DInfo(xShape, a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const [n, oh, ow] = dyShape;
  if (dyShape[0] !== xShape[0] || oh !== info2.outHeight || ow !== info2.outWidth || dyShape[3] !== co) {
    throw fail('dy does not match the convolution');
  }
  if (xShape[3] !== ci) throw fail('x channels do not match filterShape');

  // ... and the stride-1, depth-1 3-D problem we hand over. The 4.22 wasm Conv3DBackpropFilterV2 computes
  // wrong loop bounds for strides > 1 (wrong gradients, silently), so it only ever gets stride 1. Output
  // row yr of the 2-D problem reads input rows yr·s_h − top + (0…fh−1); row yr·s_h + offH of the stride-1
  // problem reads the same rows.
  const x5: Shape5 = [xShape[0], 1, xShape[1], xShape[2], xShape[3]];
  const f5: Shape5 = [1, fh, fw, ci, co];
  const info1 = backend_util.computeConv3DInfo(x5, f5, [1, 1, 1], 1, pad3);
  const [sh, sw] = a.strides;
  const offH = info1.padInfo.top - info2.padInfo.top;
  const offW = info1.padInfo.left - info2.padInfo.left;
  if (
    info1.outDepth !== 1 ||
    offH < 0 ||
    offW < 0 ||
    (oh - 1) * sh + offH >= info1.outHeight ||
    (ow - 1) * sw + offW >= info1.outWidth
  ) {
    throw fail(`cannot map onto a stride-1 ${Conv3DBackpropFilterV2}`);
  }

  const conv3d = getKernel(Conv3DBackpropFilterV2, BACKEND);
  if (conv3d === undefined) throw fail(`the wasm backend has no ${Conv3DBackpropFilterV2} kernel`);
  const run3d = (dy5: TensorInfo): TensorInfo => {
    const attrs3: Conv3DBackpropFilterV2Attrs = { strides: [1, 1, 1], pad: pad3, filterShape: f5 };
    const out = conv3d.kernelFunc({
      inputs: { x: { dataId: x.dataId, shape: x5, dtype: x.dtype }, dy: dy5 },
      backend,
      attrs: attrs3 as unknown as NamedAttrMap,
    });
    const dw = Array.isArray(out) ? out[0] : out;
    if (dw === undefined) throw fail(`${Conv3DBackpropFilterV2} returned no output`);
    return dw;
  };

  let dw: TensorInfo;
  if (offH === 0 && offW === 0 && oh === info1.outHeight && ow === info1.outWidth && sh === 1 && sw === 1) {
    // Stride 1: the same memory, viewed as 5-D; nothing is copied.
    dw = run3d({ dataId: dy.dataId, shape: [n, 1, oh, ow, co], dtype: dy.dtype });
  } else {
    // Spread dy onto the stride-1 output grid, zeros between: one copy of dy, s_h·s_w times the work.
    const wasm = backend as BackendWasm;
    const spread = wasm.makeOutput([n, 1, info1.outHeight, info1.outWidth, co], 'float32');
    try {
      const dst = wasm.typedArrayFromHeap(spread); // after makeOutput: a heap growth detaches old views
      const src = wasm.typedArrayFromHeap(dy);
      dst.fill(0);
      const rowStride = info1.outWidth * co;
      for (let b = 0; b < n; b++) {
        for (let yr = 0; yr < oh; yr++) {
          const srcRow = (b * oh + yr) * ow * co;
          const dstRow = (b * info1.outHeight + yr * sh + offH) * rowStride + offW * co;
          for (let yc = 0; yc < ow; yc++) {
            const s0 = srcRow + yc * co;
            dst.set(src.subarray(s0, s0 + co), dstRow + yc * sw * co);
          }
        }
      }
      dw = run3d(spread);
    } finally {
      wasm.disposeData(spread.dataId);
    }
  }
  // Same buffer, 4-D view: [1,fh,fw,ci,co] and [fh,fw,ci,co] share one row-major layout.
  return { dataId: dw.dataId, shape: [fh, fw, ci, co], dtype: dw.dtype };
};

interface SupportedAttrs {
  readonly strides: [number, number];
  readonly pad: 'valid' | 'same' | 0;
  readonly filterShape: Shape4;
  readonly dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined;
}

function checkedAttrs(attrs: NamedAttrMap | undefined): SupportedAttrs {
  const a = (attrs ?? {}) as unknown as Partial<Conv2DBackpropFilterAttrs> & { dilations?: unknown };
  const name = `wasm ${Conv2DBackpropFilter}`;
  if (a.dataFormat !== undefined && a.dataFormat !== 'NHWC') {
    throw new Error(`${name}: attribute dataFormat '${String(a.dataFormat)}' is not supported (only 'NHWC')`);
  }
  if (a.dilations !== undefined && !allOnes(a.dilations)) {
    throw new Error(`${name}: attribute dilations ${JSON.stringify(a.dilations)} is not supported (only 1)`);
  }
  const pad = a.pad;
  if (pad !== 'valid' && pad !== 'same' && pad !== 0) {
    throw new Error(
      `${name}: attribute pad ${JSON.stringify(pad)} is not supported (only 'valid', 'same' or 0; ` +
        `explicit numeric padding would also pad the fake depth axis of the 3-D kernel)`,
    );
  }
  const strides = parseStrides(a.strides);
  if (strides === undefined) {
    throw new Error(`${name}: attribute strides ${JSON.stringify(a.strides)} is invalid`);
  }
  const fs = a.filterShape;
  if (!Array.isArray(fs) || fs.length !== 4 || !fs.every(isPositiveInt)) {
    throw new Error(`${name}: attribute filterShape ${JSON.stringify(fs)} is invalid`);
  }
  return { strides, pad, filterShape: fs, dimRoundingMode: a.dimRoundingMode };
}

function parseStrides(s: unknown): [number, number] | undefined {
  if (isPositiveInt(s)) return [s, s];
  if (Array.isArray(s) && s.length === 2 && isPositiveInt(s[0]) && isPositiveInt(s[1])) return [s[0], s[1]];
  return undefined;
}

function asShape4(shape: readonly number[], what: string): Shape4 {
  const [n, h, w, c] = shape;
  if (shape.length !== 4 || n === undefined || h === undefined || w === undefined || c === undefined) {
    throw new Error(`wasm ${Conv2DBackpropFilter}: input '${what}' must be 4-D, got [${shape.join(',')}]`);
  }
  return [n, h, w, c];
}

function allOnes(v: unknown): boolean {
  return v === 1 || (Array.isArray(v) && v.every((d) => d === 1));
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
