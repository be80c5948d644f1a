// The coordinator's weighted-mean fold in AssemblyScript, compiled to WebAssembly SIMD128 by `npm run build:wasm`
// (wasm/build.mjs --fold) into src/server/fold.wasm. Every pointer is a byte offset into the imported memory.
// Each element adds wₖ·xₖ one update at a time in the order given, in float64, starting from 0 (or from a
// float64 sum): f64x2.mul then f64x2.add, never fused, so the bits are those of the scalar JavaScript fold.

/**
 * Elements per block: 16,384 float64 sums (128 KB) stay in L2 while every update adds its slice to them, and each
 * update is read 64 KB at a time (2,048 at a time read memory at half the speed: too short a run per stream).
 */
const BLOCK: i32 = 16384;

/** Bytes of scratch {@link foldMean} and {@link foldSum} need: one block of float64 sums. */
export function scratchBytes(): i32 {
  return BLOCK << 3;
}

/**
 * out[i] = <f32>((from[i] or 0) + Σₖ wₖ·xₖ[i]) / total) for i < n: `k` float32 vectors at the byte offsets in
 * the u32 table at `vectors`, their float64 weights at `weights`, `from` a float64 sum or 0 for none. The last
 * four updates of each block are added, divided and rounded in one pass, the sums never stored.
 */
export function foldMean(
  n: i32,
  k: i32,
  vectors: usize,
  weights: usize,
  from: usize,
  total: f64,
  out: usize,
  scratch: usize,
): void {
  const head = k >= 4 ? k - 4 : k;
  const summed = head > 0 || from != 0;
  const t = f64x2.splat(total);
  for (let start = 0; start < n; start += BLOCK) {
    const len = min(BLOCK, n - start);
    if (summed || k < 4) foldBlock(start, len, head, vectors, weights, from, scratch);
    const dst = out + ((<usize>start) << 2);
    if (k >= 4) {
      const at = (<usize>start) << 2;
      const p = vectors + ((<usize>head) << 2);
      const q = weights + ((<usize>head) << 3);
      last4(
        summed ? scratch : 0,
        len,
        <usize>load<u32>(p) + at,
        load<f64>(q),
        <usize>load<u32>(p, 4) + at,
        load<f64>(q, 8),
        <usize>load<u32>(p, 8) + at,
        load<f64>(q, 16),
        <usize>load<u32>(p, 12) + at,
        load<f64>(q, 24),
        total,
        dst,
      );
      continue;
    }
    let j = 0;
    for (; j + 2 <= len; j += 2) {
      const s = f64x2.div(v128.load(scratch + ((<usize>j) << 3)), t);
      v128.store64_lane(dst + ((<usize>j) << 2), f32x4.demote_f64x2_zero(s), 0);
    }
    for (; j < len; j++)
      store<f32>(dst + ((<usize>j) << 2), <f32>(load<f64>(scratch + ((<usize>j) << 3)) / total));
  }
}

/**
 * dst[j] = <f32>(((((acc[j] or 0) + wa·a[j]) + wb·b[j]) + wc·c[j]) + wd·d[j]) / total) for j < len (`acc` 0: start
 * from 0).
 */
function last4(
  acc: usize,
  len: i32,
  a: usize,
  wa: f64,
  b: usize,
  wb: f64,
  c: usize,
  wc: f64,
  d: usize,
  wd: f64,
  total: f64,
  dst: usize,
): void {
  const sa = f64x2.splat(wa);
  const sb = f64x2.splat(wb);
  const sc = f64x2.splat(wc);
  const sd = f64x2.splat(wd);
  const t = f64x2.splat(total);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const e = (<usize>j) << 2;
    let lo = f64x2.splat(0);
    let hi = f64x2.splat(0);
    if (acc != 0) {
      lo = v128.load(acc + ((<usize>j) << 3));
      hi = v128.load(acc + ((<usize>j) << 3), 16);
    }
    lo = f64x2.add(lo, f64x2.mul(sa, f64x2.promote_low_f32x4(v128.load64_zero(a + e))));
    hi = f64x2.add(hi, f64x2.mul(sa, f64x2.promote_low_f32x4(v128.load64_zero(a + e, 8))));
    lo = f64x2.add(lo, f64x2.mul(sb, f64x2.promote_low_f32x4(v128.load64_zero(b + e))));
    hi = f64x2.add(hi, f64x2.mul(sb, f64x2.promote_low_f32x4(v128.load64_zero(b + e, 8))));
    lo = f64x2.add(lo, f64x2.mul(sc, f64x2.promote_low_f32x4(v128.load64_zero(c + e))));
    hi = f64x2.add(hi, f64x2.mul(sc, f64x2.promote_low_f32x4(v128.load64_zero(c + e, 8))));
    lo = f64x2.add(lo, f64x2.mul(sd, f64x2.promote_low_f32x4(v128.load64_zero(d + e))));
    hi = f64x2.add(hi, f64x2.mul(sd, f64x2.promote_low_f32x4(v128.load64_zero(d + e, 8))));
    v128.store64_lane(dst + e, f32x4.demote_f64x2_zero(f64x2.div(lo, t)), 0);
    v128.store64_lane(dst + e, f32x4.demote_f64x2_zero(f64x2.div(hi, t)), 0, 8);
  }
  for (; j < len; j++) {
    const e = (<usize>j) << 2;
    let v: f64 = acc != 0 ? load<f64>(acc + ((<usize>j) << 3)) : 0;
    v += wa * <f64>load<f32>(a + e);
    v += wb * <f64>load<f32>(b + e);
    v += wc * <f64>load<f32>(c + e);
    v += wd * <f64>load<f32>(d + e);
    store<f32>(dst + e, <f32>(v / total));
  }
}

/** to[i] = (from[i] or 0) + Σₖ wₖ·xₖ[i] for i < n, in float64 (`to` may be `from`); operands as {@link foldMean}. */
export function foldSum(
  n: i32,
  k: i32,
  vectors: usize,
  weights: usize,
  from: usize,
  to: usize,
  scratch: usize,
): void {
  for (let start = 0; start < n; start += BLOCK) {
    const len = min(BLOCK, n - start);
    foldBlock(start, len, k, vectors, weights, from, scratch);
    memory.copy(to + ((<usize>start) << 3), scratch, (<usize>len) << 3);
  }
}

/** scratch[0, len) = from[start, start + len) (or 0) + Σₖ wₖ·xₖ[start, start + len), four updates per pass. */
function foldBlock(
  start: i32,
  len: i32,
  k: i32,
  vectors: usize,
  weights: usize,
  from: usize,
  scratch: usize,
): void {
  const bytes = (<usize>len) << 3;
  if (from == 0) memory.fill(scratch, 0, bytes);
  else memory.copy(scratch, from + ((<usize>start) << 3), bytes);
  const at = (<usize>start) << 2;
  let u = 0;
  for (; u + 4 <= k; u += 4) {
    const p = vectors + ((<usize>u) << 2);
    const q = weights + ((<usize>u) << 3);
    add4(
      scratch,
      len,
      <usize>load<u32>(p) + at,
      load<f64>(q),
      <usize>load<u32>(p, 4) + at,
      load<f64>(q, 8),
      <usize>load<u32>(p, 8) + at,
      load<f64>(q, 16),
      <usize>load<u32>(p, 12) + at,
      load<f64>(q, 24),
    );
  }
  for (; u < k; u++)
    add1(
      scratch,
      len,
      <usize>load<u32>(vectors + ((<usize>u) << 2)) + at,
      load<f64>(weights + ((<usize>u) << 3)),
    );
}

/** acc[j] += w·x[j] for j < len. */
function add1(acc: usize, len: i32, x: usize, w: f64): void {
  const ws = f64x2.splat(w);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const s = acc + ((<usize>j) << 3);
    const e = x + ((<usize>j) << 2);
    v128.store(s, f64x2.add(v128.load(s), f64x2.mul(ws, f64x2.promote_low_f32x4(v128.load64_zero(e)))));
    v128.store(
      s,
      f64x2.add(v128.load(s, 16), f64x2.mul(ws, f64x2.promote_low_f32x4(v128.load64_zero(e, 8)))),
      16,
    );
  }
  for (; j < len; j++) {
    const s = acc + ((<usize>j) << 3);
    store<f64>(s, load<f64>(s) + w * <f64>load<f32>(x + ((<usize>j) << 2)));
  }
}

/** acc[j] = (((acc[j] + wa·a[j]) + wb·b[j]) + wc·c[j]) + wd·d[j] for j < len: one load and store for four updates. */
function add4(
  acc: usize,
  len: i32,
  a: usize,
  wa: f64,
  b: usize,
  wb: f64,
  c: usize,
  wc: f64,
  d: usize,
  wd: f64,
): void {
  const sa = f64x2.splat(wa);
  const sb = f64x2.splat(wb);
  const sc = f64x2.splat(wc);
  const sd = f64x2.splat(wd);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const s = acc + ((<usize>j) << 3);
    const e = (<usize>j) << 2;
    let lo = v128.load(s);
    let hi = v128.load(s, 16);
    lo = f64x2.add(lo, f64x2.mul(sa, f64x2.promote_low_f32x4(v128.load64_zero(a + e))));
    hi = f64x2.add(hi, f64x2.mul(sa, f64x2.promote_low_f32x4(v128.load64_zero(a + e, 8))));
    lo = f64x2.add(lo, f64x2.mul(sb, f64x2.promote_low_f32x4(v128.load64_zero(b + e))));
    hi = f64x2.add(hi, f64x2.mul(sb, f64x2.promote_low_f32x4(v128.load64_zero(b + e, 8))));
    lo = f64x2.add(lo, f64x2.mul(sc, f64x2.promote_low_f32x4(v128.load64_zero(c + e))));
    hi = f64x2.add(hi, f64x2.mul(sc, f64x2.promote_low_f32x4(v128.load64_zero(c + e, 8))));
    lo = f64x2.add(lo, f64x2.mul(sd, f64x2.promote_low_f32x4(v128.load64_zero(d + e))));
    hi = f64x2.add(hi, f64x2.mul(sd, f64x2.promote_low_f32x4(v128.load64_zero(d + e, 8))));
    v128.store(s, lo);
    v128.store(s, hi, 16);
  }
  for (; j < len; j++) {
    const s = acc + ((<usize>j) << 3);
    const e = (<usize>j) << 2;
    let v = load<f64>(s);
    v += wa * <f64>load<f32>(a + e);
    v += wb * <f64>load<f32>(b + e);
    v += wc * <f64>load<f32>(c + e);
    v += wd * <f64>load<f32>(d + e);
    store<f64>(s, v);
  }
}

/** The index of the first element of the `n` float32 at `at` that is NaN or infinite, or -1 if all are finite. */
export function firstNonFinite(at: usize, n: i32): i32 {
  const mask = i32x4.splat(0x7f800000);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    if (v128.any_true(i32x4.eq(v128.and(v128.load(at + ((<usize>j) << 2)), mask), mask))) break;
  }
  for (; j < n; j++) {
    if ((load<u32>(at + ((<usize>j) << 2)) & 0x7f800000) == 0x7f800000) return j;
  }
  return -1;
}
