// fedmed's training kernels in AssemblyScript, compiled to WebAssembly SIMD128 by `npm run build:wasm`
// (wasm/build.mjs) into src/models/kernels.wasm. Every pointer is a byte offset into the imported memory,
// every stride and size counts float32 elements. Products accumulate in float64, one output element per
// lane, over the depth in ascending order, and are rounded to float32 once: the same bits as the plain
// JavaScript loops they replace, whatever the blocking.

/** Depth per pass of {@link gemm}: its packed panels stay in cache while every block reads them. */
const CHUNK64 = 256;

/**
 * C = A·B: A is m × depth (element (i, p) at a + 4·(i·aRow + p·aCol)), B is depth × n with rows `bRow` apart and
 * unit column stride, C is m × n with rows `cRow` apart. Each element accumulates in float64 over the depth
 * in ascending order and is rounded to float32 once. Operands are packed as float64 into `scratch` (at least
 * {@link gemmScratch} bytes) a pass of {@link CHUNK64} steps at a time; between passes the float64 sums wait
 * in scratch, which changes no bit. Short or thin products skip the packing (same bits).
 */
export function gemm(
  m: i32,
  n: i32,
  depth: i32,
  a: usize,
  aRow: i32,
  aCol: i32,
  b: usize,
  bRow: i32,
  c: usize,
  cRow: i32,
  scratch: usize,
): void {
  if (m < 16 || depth < 16) {
    gemmDirect(m, n, depth, a, aRow, aCol, b, bRow, c, cRow);
    return;
  }
  const nPad = (n + 3) & ~3;
  const bp = scratch;
  const ap = bp + ((<usize>CHUNK64 * nPad) << 3);
  const acc = ap + ((<usize>CHUNK64) << 5);
  const aRowB = (<usize>aRow) << 2;
  const aColB = (<usize>aCol) << 2;
  const bRowB = (<usize>bRow) << 2;
  const cRowB = (<usize>cRow) << 2;
  const nPadB = (<usize>nPad) << 3;
  for (let p0 = 0; p0 < depth; p0 += CHUNK64) {
    const d = min(CHUNK64, depth - p0);
    const first = p0 == 0;
    const last = p0 + d >= depth;
    for (let p = 0; p < d; p++) {
      const src = b + <usize>(p0 + p) * bRowB;
      const dst = bp + <usize>p * nPadB;
      for (let j = 0; j < n; j++)
        store<f64>(dst + ((<usize>j) << 3), <f64>load<f32>(src + ((<usize>j) << 2)));
      for (let j = n; j < nPad; j++) store<f64>(dst + ((<usize>j) << 3), 0);
    }
    for (let i = 0; i < m; i += 4) {
      const rows = min(4, m - i);
      for (let r = 0; r < 4; r++) {
        let src = a + <usize>(i + r) * aRowB + <usize>p0 * aColB;
        let dst = ap + ((<usize>r) << 3);
        if (r < rows) {
          for (let p = 0; p < d; p++) {
            store<f64>(dst, <f64>load<f32>(src));
            src += aColB;
            dst += 32;
          }
        } else {
          for (let p = 0; p < d; p++) {
            store<f64>(dst, 0);
            dst += 32;
          }
        }
      }
      for (let j = 0; j < nPad; j += 4) {
        const part = acc + ((<usize>i * nPad + j) << 3);
        block64(
          d,
          ap,
          bp + ((<usize>j) << 3),
          nPadB,
          part,
          nPadB,
          first,
          last,
          c + <usize>i * cRowB + ((<usize>j) << 2),
          cRowB,
          rows,
          min(4, n - j),
        );
      }
    }
  }
}

/** Bytes of scratch {@link gemm} needs for these sizes. */
export function gemmScratch(m: i32, n: i32, depth: i32): usize {
  const nPad = <usize>((n + 3) & ~3);
  const mPad = <usize>((m + 3) & ~3);
  return (
    ((<usize>CHUNK64 * nPad) << 3) + ((<usize>CHUNK64) << 5) + (depth > CHUNK64 ? (mPad * nPad) << 3 : 0)
  );
}

/**
 * Four rows × four columns of C over one pass of `depth` packed steps: A as 4 float64 per step, B as rows of
 * `bRowB` bytes. Starts from zero (`first`) or the float64 sums at `part`; ends by rounding the valid
 * `rows` × `cols` into C (`last`) or by keeping the sums at `part`.
 */
function block64(
  depth: i32,
  a: usize,
  b: usize,
  bRowB: usize,
  part: usize,
  partRowB: usize,
  first: bool,
  last: bool,
  c: usize,
  cRowB: usize,
  rows: i32,
  cols: i32,
): void {
  const zero = f64x2.splat(0);
  const p1 = part + partRowB;
  const p2 = p1 + partRowB;
  const p3 = p2 + partRowB;
  let s00 = first ? zero : v128.load(part);
  let s01 = first ? zero : v128.load(part, 16);
  let s10 = first ? zero : v128.load(p1);
  let s11 = first ? zero : v128.load(p1, 16);
  let s20 = first ? zero : v128.load(p2);
  let s21 = first ? zero : v128.load(p2, 16);
  let s30 = first ? zero : v128.load(p3);
  let s31 = first ? zero : v128.load(p3, 16);
  for (let p = 0; p < depth; p++) {
    const w0 = v128.load(b);
    const w1 = v128.load(b, 16);
    const x0 = v128.load64_splat(a);
    const x1 = v128.load64_splat(a, 8);
    const x2 = v128.load64_splat(a, 16);
    const x3 = v128.load64_splat(a, 24);
    s00 = f64x2.add(s00, f64x2.mul(x0, w0));
    s01 = f64x2.add(s01, f64x2.mul(x0, w1));
    s10 = f64x2.add(s10, f64x2.mul(x1, w0));
    s11 = f64x2.add(s11, f64x2.mul(x1, w1));
    s20 = f64x2.add(s20, f64x2.mul(x2, w0));
    s21 = f64x2.add(s21, f64x2.mul(x2, w1));
    s30 = f64x2.add(s30, f64x2.mul(x3, w0));
    s31 = f64x2.add(s31, f64x2.mul(x3, w1));
    a += 32;
    b += bRowB;
  }
  if (!last) {
    v128.store(part, s00);
    v128.store(part, s01, 16);
    v128.store(p1, s10);
    v128.store(p1, s11, 16);
    v128.store(p2, s20);
    v128.store(p2, s21, 16);
    v128.store(p3, s30);
    v128.store(p3, s31, 16);
    return;
  }
  store64row(c, s00, s01, cols);
  if (rows > 1) store64row(c + cRowB, s10, s11, cols);
  if (rows > 2) store64row(c + (cRowB << 1), s20, s21, cols);
  if (rows > 3) store64row(c + 3 * cRowB, s30, s31, cols);
}

/** Rounds the first `cols` (1–4) of two float64x2 to float32 at c. */
function store64row(c: usize, lo: v128, hi: v128, cols: i32): void {
  if (cols >= 4) {
    v128.store64_lane(c, f32x4.demote_f64x2_zero(lo), 0);
    v128.store64_lane(c, f32x4.demote_f64x2_zero(hi), 0, 8);
    return;
  }
  store<f32>(c, <f32>f64x2.extract_lane(lo, 0));
  if (cols > 1) store<f32>(c, <f32>f64x2.extract_lane(lo, 1), 4);
  if (cols > 2) store<f32>(c, <f32>f64x2.extract_lane(hi, 0), 8);
}

/** {@link gemm} reading the float32 operands in place: better where packing them would cost more than it saves. */
function gemmDirect(
  m: i32,
  n: i32,
  depth: i32,
  a: usize,
  aRow: i32,
  aCol: i32,
  b: usize,
  bRow: i32,
  c: usize,
  cRow: i32,
): void {
  const aRowB = (<usize>aRow) << 2;
  const aColB = (<usize>aCol) << 2;
  const bRowB = (<usize>bRow) << 2;
  const cRowB = (<usize>cRow) << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * aRowB;
    const c0 = c + <usize>i * cRowB;
    let j = 0;
    for (; j + 4 <= n; j += 4)
      block4x4(depth, a0, aRowB, aColB, b + ((<usize>j) << 2), bRowB, c0 + ((<usize>j) << 2), cRowB);
    for (; j < n; j++) {
      for (let r = 0; r < 4; r++) {
        const ar = a0 + <usize>r * aRowB;
        store<f32>(
          c0 + <usize>r * cRowB + ((<usize>j) << 2),
          <f32>dot(depth, ar, aColB, b + ((<usize>j) << 2), bRowB),
        );
      }
    }
  }
  for (; i < m; i++) {
    const ar = a + <usize>i * aRowB;
    const cr = c + <usize>i * cRowB;
    let j = 0;
    for (; j + 4 <= n; j += 4)
      block1x4(depth, ar, aColB, b + ((<usize>j) << 2), bRowB, cr + ((<usize>j) << 2));
    for (; j < n; j++)
      store<f32>(cr + ((<usize>j) << 2), <f32>dot(depth, ar, aColB, b + ((<usize>j) << 2), bRowB));
  }
}

/** Σ_p A[p]·B[p] over one strided row of A and one strided column of B, in float64. */
function dot(depth: i32, a: usize, aColB: usize, b: usize, bRowB: usize): f64 {
  let s: f64 = 0;
  for (let p = 0; p < depth; p++) {
    s += <f64>load<f32>(a) * <f64>load<f32>(b);
    a += aColB;
    b += bRowB;
  }
  return s;
}

/** Four rows × four columns of C, eight float64x2 accumulators. */
function block4x4(
  depth: i32,
  a: usize,
  aRowB: usize,
  aColB: usize,
  b: usize,
  bRowB: usize,
  c: usize,
  cRowB: usize,
): void {
  let s00 = f64x2.splat(0);
  let s01 = f64x2.splat(0);
  let s10 = f64x2.splat(0);
  let s11 = f64x2.splat(0);
  let s20 = f64x2.splat(0);
  let s21 = f64x2.splat(0);
  let s30 = f64x2.splat(0);
  let s31 = f64x2.splat(0);
  const a1 = aRowB;
  const a2 = aRowB << 1;
  const a3 = a1 + a2;
  for (let p = 0; p < depth; p++) {
    const w0 = f64x2.promote_low_f32x4(v128.load64_zero(b));
    const w1 = f64x2.promote_low_f32x4(v128.load64_zero(b, 8));
    const x0 = f64x2.splat(<f64>load<f32>(a));
    const x1 = f64x2.splat(<f64>load<f32>(a + a1));
    const x2 = f64x2.splat(<f64>load<f32>(a + a2));
    const x3 = f64x2.splat(<f64>load<f32>(a + a3));
    s00 = f64x2.add(s00, f64x2.mul(x0, w0));
    s01 = f64x2.add(s01, f64x2.mul(x0, w1));
    s10 = f64x2.add(s10, f64x2.mul(x1, w0));
    s11 = f64x2.add(s11, f64x2.mul(x1, w1));
    s20 = f64x2.add(s20, f64x2.mul(x2, w0));
    s21 = f64x2.add(s21, f64x2.mul(x2, w1));
    s30 = f64x2.add(s30, f64x2.mul(x3, w0));
    s31 = f64x2.add(s31, f64x2.mul(x3, w1));
    a += aColB;
    b += bRowB;
  }
  store4(c, s00, s01);
  store4(c + cRowB, s10, s11);
  store4(c + (cRowB << 1), s20, s21);
  store4(c + 3 * cRowB, s30, s31);
}

/** One row × four columns of C. */
function block1x4(depth: i32, a: usize, aColB: usize, b: usize, bRowB: usize, c: usize): void {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  for (let p = 0; p < depth; p++) {
    const x = f64x2.splat(<f64>load<f32>(a));
    s0 = f64x2.add(s0, f64x2.mul(x, f64x2.promote_low_f32x4(v128.load64_zero(b))));
    s1 = f64x2.add(s1, f64x2.mul(x, f64x2.promote_low_f32x4(v128.load64_zero(b, 8))));
    a += aColB;
    b += bRowB;
  }
  store4(c, s0, s1);
}

/** Rounds two float64x2 to four float32 at c. */
function store4(c: usize, lo: v128, hi: v128): void {
  v128.store64_lane(c, f32x4.demote_f64x2_zero(lo), 0);
  v128.store64_lane(c, f32x4.demote_f64x2_zero(hi), 0, 8);
}

/** dst (cols × rows) = srcᵀ for src of rows × cols, both row-major. */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(dst + ((<usize>j * rows + i) << 2), load<f32>(src + ((<usize>i * cols + j) << 2)));
    }
  }
}

/** out[j] = Σ_k m[k, j] over `rows` rows of `cols`, in float64 in row order, rounded once. */
export function columnSums(m: usize, rows: i32, cols: i32, out: usize): void {
  const rowB = (<usize>cols) << 2;
  let j = 0;
  for (; j + 2 <= cols; j += 2) {
    let s = f64x2.splat(0);
    let p = m + ((<usize>j) << 2);
    for (let k = 0; k < rows; k++) {
      s = f64x2.add(s, f64x2.promote_low_f32x4(v128.load64_zero(p)));
      p += rowB;
    }
    v128.store64_lane(out + ((<usize>j) << 2), f32x4.demote_f64x2_zero(s), 0);
  }
  for (; j < cols; j++) {
    let s: f64 = 0;
    let p = m + ((<usize>j) << 2);
    for (let k = 0; k < rows; k++) {
      s += <f64>load<f32>(p);
      p += rowB;
    }
    store<f32>(out + ((<usize>j) << 2), <f32>s);
  }
}

/** z[k, j] = max(z[k, j] + bias[j], 0) in float32 (NaN stays NaN) over `rows` rows of `units`. */
export function biasRelu(z: usize, rows: i32, units: i32, bias: usize): void {
  const zero = f32x4.splat(0);
  for (let k = 0; k < rows; k++) {
    let j = 0;
    for (; j + 4 <= units; j += 4) {
      v128.store(z, f32x4.max(f32x4.add(v128.load(z), v128.load(bias + ((<usize>j) << 2))), zero));
      z += 16;
    }
    for (; j < units; j++) {
      store<f32>(z, max<f32>(load<f32>(z) + load<f32>(bias + ((<usize>j) << 2)), 0));
      z += 4;
    }
  }
}

/** delta[i] = act[i] > 0 ? delta[i] : 0 over `count` elements: relu's derivative from its output. */
export function reluGrad(delta: usize, act: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = (<usize>i) << 2;
    v128.store(delta + at, v128.and(v128.load(delta + at), f32x4.gt(v128.load(act + at), zero)));
  }
  for (; i < count; i++) {
    const at = (<usize>i) << 2;
    if (!(load<f32>(act + at) > 0)) store<f32>(delta + at, 0);
  }
}

/**
 * The im2col of `images` NHWC images of h × w × ch for a k × k stride-1 convolution whose output keeps the
 * input's size, padded with zeros (`pad` rows and columns before, k − 1 − pad after): row (n, y, x) of
 * `cols` holds the k·k·ch inputs around (y, x), ordered (ky, kx, c) as a tfjs conv kernel's rows.
 */
export function im2col(x: usize, images: i32, h: i32, w: i32, ch: i32, k: i32, pad: i32, cols: usize): void {
  const chB = (<usize>ch) << 2;
  const rowB = <usize>w * chB;
  const imageB = <usize>h * rowB;
  const tapsB = <usize>k * chB;
  let out = cols;
  for (let n = 0; n < images; n++) {
    const image = x + <usize>n * imageB;
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) {
        // Columns xx − pad … xx − pad + k − 1; those inside the image are one contiguous run.
        const from = max(0, xx - pad);
        const to = min(w, xx - pad + k);
        const before = <usize>(from - (xx - pad)) * chB;
        const run = <usize>max(0, to - from) * chB;
        for (let ky = 0; ky < k; ky++) {
          const yy = y + ky - pad;
          if (yy < 0 || yy >= h || run == 0) {
            zeroBytes(out, tapsB);
          } else {
            if (before > 0) zeroBytes(out, before);
            copyBytes(out + before, image + <usize>yy * rowB + <usize>from * chB, run);
            const after = tapsB - before - run;
            if (after > 0) zeroBytes(out + before + run, after);
          }
          out += tapsB;
        }
      }
    }
  }
}

/** Zeroes `bytes` (a multiple of 4) at dst, sixteen bytes at a time. */
function zeroBytes(dst: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, f32x4.splat(0));
  for (; i < bytes; i += 4) store<f32>(dst + i, 0);
}

/** Copies `bytes` (a multiple of 4) from src to dst, which do not overlap, sixteen bytes at a time. */
function copyBytes(dst: usize, src: usize, bytes: usize): void {
  let i: usize = 0;
  for (; i + 16 <= bytes; i += 16) v128.store(dst + i, v128.load(src + i));
  for (; i < bytes; i += 4) store<f32>(dst + i, load<f32>(src + i));
}

/**
 * The kernel that carries a stride-1 k × k convolution's output gradient back to its input (the input's
 * im2col with padding k − 1 − pad, times this): for a tfjs kernel of (k, k, cin, f), dst is (k, k, f, cin)
 * with dst[ky, kx, j, c] = kernel[k − 1 − ky, k − 1 − kx, c, j].
 */
export function flipKernel(kernel: usize, k: i32, cin: i32, f: i32, dst: usize): void {
  const taps = k * k;
  for (let t = 0; t < taps; t++) {
    const src = kernel + ((<usize>(taps - 1 - t) * cin * f) << 2);
    const out = dst + ((<usize>t * f * cin) << 2);
    for (let c = 0; c < cin; c++) {
      for (let j = 0; j < f; j++) {
        store<f32>(out + ((<usize>j * cin + c) << 2), load<f32>(src + ((<usize>c * f + j) << 2)));
      }
    }
  }
}

/**
 * 2×2 max-pooling with stride 2 of NHWC images (h × w × ch, odd edges dropped) into `out`, writing into
 * `at` the element index (within `a`) of each window's maximum, the first in row-major order on ties.
 */
export function maxPool(a: usize, images: i32, h: i32, w: i32, ch: i32, out: usize, at: usize): void {
  if ((ch & 3) == 0) {
    maxPool4(a, images, h, w, ch, out, at);
    return;
  }
  const ho = h >> 1;
  const wo = w >> 1;
  const row = w * ch;
  let o: usize = 0;
  for (let n = 0; n < images; n++) {
    const base = n * h * row;
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const i00 = base + 2 * y * row + 2 * x * ch;
        for (let c = 0; c < ch; c++) {
          let best = i00 + c;
          let v = load<f32>(a + ((<usize>best) << 2));
          const i01 = best + ch;
          const i10 = best + row;
          const i11 = i10 + ch;
          const v01 = load<f32>(a + ((<usize>i01) << 2));
          if (v01 > v) {
            v = v01;
            best = i01;
          }
          const v10 = load<f32>(a + ((<usize>i10) << 2));
          if (v10 > v) {
            v = v10;
            best = i10;
          }
          const v11 = load<f32>(a + ((<usize>i11) << 2));
          if (v11 > v) {
            v = v11;
            best = i11;
          }
          store<f32>(out + (o << 2), v);
          store<i32>(at + (o << 2), best);
          o++;
        }
      }
    }
  }
}

/** {@link maxPool} four channels at a time, for a channel count divisible by 4 (same results). */
function maxPool4(a: usize, images: i32, h: i32, w: i32, ch: i32, out: usize, at: usize): void {
  const ho = h >> 1;
  const wo = w >> 1;
  const row = w * ch;
  const rowB = (<usize>row) << 2;
  const chB = (<usize>ch) << 2;
  const lanes = i32x4(0, 1, 2, 3);
  const dCol = i32x4.splat(ch);
  const dRow = i32x4.splat(row);
  let o = out;
  let ao = at;
  for (let n = 0; n < images; n++) {
    const base = n * h * row;
    for (let y = 0; y < ho; y++) {
      for (let x = 0; x < wo; x++) {
        const first = base + 2 * y * row + 2 * x * ch;
        const p = a + ((<usize>first) << 2);
        for (let c = 0; c < ch; c += 4) {
          const q = p + ((<usize>c) << 2);
          let idx = i32x4.add(i32x4.splat(first + c), lanes);
          let v = v128.load(q);
          const i01 = i32x4.add(idx, dCol);
          const i10 = i32x4.add(idx, dRow);
          const i11 = i32x4.add(i10, dCol);
          const v01 = v128.load(q + chB);
          let m = f32x4.gt(v01, v);
          v = v128.bitselect(v01, v, m);
          idx = v128.bitselect(i01, idx, m);
          const v10 = v128.load(q + rowB);
          m = f32x4.gt(v10, v);
          v = v128.bitselect(v10, v, m);
          idx = v128.bitselect(i10, idx, m);
          const v11 = v128.load(q + rowB + chB);
          m = f32x4.gt(v11, v);
          v = v128.bitselect(v11, v, m);
          idx = v128.bitselect(i11, idx, m);
          v128.store(o, v);
          v128.store(ao, idx);
          o += 16;
          ao += 16;
        }
      }
    }
  }
}

/** The gradient of {@link maxPool}: da (`size` elements) is zero but at each window's maximum, which gets dOut. */
export function maxPoolGrad(dOut: usize, at: usize, count: i32, da: usize, size: i32): void {
  memory.fill(da, 0, (<usize>size) << 2);
  for (let o = 0; o < count; o++) {
    const off = (<usize>o) << 2;
    store<f32>(da + ((<usize>load<i32>(at + off)) << 2), load<f32>(dOut + off));
  }
}

/** Depth per pass of {@link gemm32}: a pass's panels of A and B stay in cache while every block reads them. */
const CHUNK = 256;

/**
 * C = A·B as {@link gemm}, but each output element accumulates in float32 (a product rounded, then the sum
 * rounded, over the depth in ascending order): twice the lanes of float64. A long depth runs in passes of
 * {@link CHUNK} that resume from the float32 sums in C, which changes no bit. Needs no scratch (the argument
 * keeps the signature of {@link gemm}).
 */
export function gemm32(
  m: i32,
  n: i32,
  depth: i32,
  a: usize,
  aRow: i32,
  aCol: i32,
  b: usize,
  bRow: i32,
  c: usize,
  cRow: i32,
  _scratch: usize,
): void {
  const aColB = (<usize>aCol) << 2;
  const bRowB = (<usize>bRow) << 2;
  for (let p = 0; p < depth; p += CHUNK) {
    const d = min(CHUNK, depth - p);
    pass32(m, n, d, a + <usize>p * aColB, aRow, aColB, b + <usize>p * bRowB, bRowB, c, cRow, p > 0);
  }
}

/** One pass of {@link gemm32} over `depth` steps, starting from zero or (`resume`) from C. */
function pass32(
  m: i32,
  n: i32,
  depth: i32,
  a: usize,
  aRow: i32,
  aColB: usize,
  b: usize,
  bRowB: usize,
  c: usize,
  cRow: i32,
  resume: bool,
): void {
  const aRowB = (<usize>aRow) << 2;
  const cRowB = (<usize>cRow) << 2;
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const a0 = a + <usize>i * aRowB;
    const c0 = c + <usize>i * cRowB;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      block4x8(depth, a0, aRowB, aColB, b + ((<usize>j) << 2), bRowB, c0 + ((<usize>j) << 2), cRowB, resume);
    }
    for (; j + 4 <= n; j += 4) {
      for (let r = 0; r < 4; r++) {
        const cr = c0 + <usize>r * cRowB + ((<usize>j) << 2);
        block1x4f32(depth, a0 + <usize>r * aRowB, aColB, b + ((<usize>j) << 2), bRowB, cr, resume);
      }
    }
    for (; j < n; j++) {
      for (let r = 0; r < 4; r++) {
        const cr = c0 + <usize>r * cRowB + ((<usize>j) << 2);
        dot32(depth, a0 + <usize>r * aRowB, aColB, b + ((<usize>j) << 2), bRowB, cr, resume);
      }
    }
  }
  for (; i < m; i++) {
    const ar = a + <usize>i * aRowB;
    const cr = c + <usize>i * cRowB;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      block1x4f32(depth, ar, aColB, b + ((<usize>j) << 2), bRowB, cr + ((<usize>j) << 2), resume);
    }
    for (; j < n; j++) dot32(depth, ar, aColB, b + ((<usize>j) << 2), bRowB, cr + ((<usize>j) << 2), resume);
  }
}

/** c = (resume ? c : 0) + Σ_p A[p]·B[p] in float32, each product and each sum rounded. */
function dot32(depth: i32, a: usize, aColB: usize, b: usize, bRowB: usize, c: usize, resume: bool): void {
  let s: f32 = resume ? load<f32>(c) : 0;
  for (let p = 0; p < depth; p++) {
    s += load<f32>(a) * load<f32>(b);
    a += aColB;
    b += bRowB;
  }
  store<f32>(c, s);
}

/** Four rows × eight columns of C in float32x4 accumulators. */
function block4x8(
  depth: i32,
  a: usize,
  aRowB: usize,
  aColB: usize,
  b: usize,
  bRowB: usize,
  c: usize,
  cRowB: usize,
  resume: bool,
): void {
  const c1 = c + cRowB;
  const c2 = c + (cRowB << 1);
  const c3 = c1 + (cRowB << 1);
  const zero = f32x4.splat(0);
  let s00 = resume ? v128.load(c) : zero;
  let s01 = resume ? v128.load(c, 16) : zero;
  let s10 = resume ? v128.load(c1) : zero;
  let s11 = resume ? v128.load(c1, 16) : zero;
  let s20 = resume ? v128.load(c2) : zero;
  let s21 = resume ? v128.load(c2, 16) : zero;
  let s30 = resume ? v128.load(c3) : zero;
  let s31 = resume ? v128.load(c3, 16) : zero;
  const a1 = aRowB;
  const a2 = aRowB << 1;
  const a3 = a1 + a2;
  for (let p = 0; p < depth; p++) {
    const w0 = v128.load(b);
    const w1 = v128.load(b, 16);
    const x0 = v128.load32_splat(a);
    const x1 = v128.load32_splat(a + a1);
    const x2 = v128.load32_splat(a + a2);
    const x3 = v128.load32_splat(a + a3);
    s00 = f32x4.add(s00, f32x4.mul(x0, w0));
    s01 = f32x4.add(s01, f32x4.mul(x0, w1));
    s10 = f32x4.add(s10, f32x4.mul(x1, w0));
    s11 = f32x4.add(s11, f32x4.mul(x1, w1));
    s20 = f32x4.add(s20, f32x4.mul(x2, w0));
    s21 = f32x4.add(s21, f32x4.mul(x2, w1));
    s30 = f32x4.add(s30, f32x4.mul(x3, w0));
    s31 = f32x4.add(s31, f32x4.mul(x3, w1));
    a += aColB;
    b += bRowB;
  }
  v128.store(c, s00);
  v128.store(c, s01, 16);
  v128.store(c1, s10);
  v128.store(c1, s11, 16);
  v128.store(c2, s20);
  v128.store(c2, s21, 16);
  v128.store(c3, s30);
  v128.store(c3, s31, 16);
}

/** One row × four columns of C in one float32x4 accumulator. */
function block1x4f32(
  depth: i32,
  a: usize,
  aColB: usize,
  b: usize,
  bRowB: usize,
  c: usize,
  resume: bool,
): void {
  let s = resume ? v128.load(c) : f32x4.splat(0);
  for (let p = 0; p < depth; p++) {
    s = f32x4.add(s, f32x4.mul(v128.load32_splat(a), v128.load(b)));
    a += aColB;
    b += bRowB;
  }
  v128.store(c, s);
}
