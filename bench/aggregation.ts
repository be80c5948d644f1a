/**
 * FedAvg aggregation throughput: the coordinator's weighted mean of K parameter vectors (`weightedAverage`: the
 * updates it holds folded block by block, no full-length accumulator), the same mean streamed through
 * StreamingMean (a window of 8, blocked), the fold before blocking (four updates per pass over a full Float64
 * accumulator), and a plain copy of the same bytes (the memory-bound floor), measured in the same run.
 * Run: `npx tsx bench/aggregation.ts`.
 */
import { loadavg } from 'node:os';
import { stream } from '../src/common/rng.ts';
import { weightedAverage } from '../src/server/strategies/fedavg.ts';
import { StreamingMean } from '../src/server/streaming-mean.ts';
import { median } from './measure.ts';

const LENGTH = 1_000_000;
const REPEATS = 5;

/** Median CPU milliseconds (user + system) of `fn`: fair on a machine shared with other jobs, as wall time is not. */
function time(fn: () => void): number {
  fn();
  const samples: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = process.cpuUsage();
    fn();
    const t = process.cpuUsage(t0);
    samples.push((t.user + t.system) / 1000);
  }
  return median(samples);
}

const rng = stream(1, 'bench', 'aggregation');
/** The fold before blocking: windows of 8, four updates per pass over a full-length Float64 accumulator. */
function unblocked(length: number, items: readonly { vector: Float32Array; weight: number }[]): Float32Array {
  const acc = new Float64Array(length);
  let total = 0;
  let k = 0;
  for (; k + 4 <= items.length; k += 4) {
    const [a, b, c, d] = [items[k]!, items[k + 1]!, items[k + 2]!, items[k + 3]!];
    const [va, vb, vc, vd] = [a.vector, b.vector, c.vector, d.vector];
    const [wa, wb, wc, wd] = [a.weight, b.weight, c.weight, d.weight];
    for (let i = 0; i < length; i++) {
      let s = acc[i]!;
      s += wa * va[i]!;
      s += wb * vb[i]!;
      s += wc * vc[i]!;
      s += wd * vd[i]!;
      acc[i] = s;
    }
    total += wa;
    total += wb;
    total += wc;
    total += wd;
  }
  for (; k < items.length; k++) {
    const { vector, weight } = items[k]!;
    for (let i = 0; i < length; i++) acc[i]! += weight * vector[i]!;
    total += weight;
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = acc[i]! / total;
  return out;
}

/** The same mean streamed: one update at a time into a {@link StreamingMean}. */
function streamed(length: number, items: readonly { vector: Float32Array; weight: number }[]): Float32Array {
  const mean = new StreamingMean(length);
  for (const { vector, weight } of items) mean.add(vector, weight);
  return mean.mean();
}

console.log(
  'K hospitals | weighted mean (ms) | streamed (ms) | before blocking (ms) | copy of the same bytes (ms) | ratio | GB/s read | new 4 MB result (ms)',
);
// The first pass only warms the JIT up on every size (a loop first optimised for K = 4 runs K = 30 slower).
for (const [pass, k] of [4, 10, 30, 4, 10, 30].entries()) {
  const vectors = Array.from({ length: k }, () => {
    const v = new Float32Array(LENGTH);
    for (let i = 0; i < LENGTH; i++) v[i] = rng.normal();
    return v;
  });
  const items = vectors.map((vector, i) => ({ vector, weight: 100 + i }));
  const sink = new Float32Array(LENGTH);
  const mean = time(() => void weightedAverage(LENGTH, items));
  const stream8 = time(() => void streamed(LENGTH, items));
  const before = time(() => void unblocked(LENGTH, items));
  const copy = time(() => {
    for (const v of vectors) sink.set(v);
  });
  // The mean's own output is a fresh array: what allocating and touching one costs on this machine.
  const fresh = time(() => void new Float32Array(LENGTH).fill(1));
  const gbps = (k * LENGTH * 4) / (mean / 1000) / 1e9;
  if (pass < 3) continue;
  console.log(
    `${String(k).padStart(11)} | ${mean.toFixed(1).padStart(18)} | ${stream8.toFixed(1).padStart(13)} | ${before.toFixed(1).padStart(20)} | ${copy.toFixed(1).padStart(27)} | ${(mean / copy).toFixed(1).padStart(5)} | ${gbps.toFixed(2).padStart(9)} | ${fresh.toFixed(1)}`,
  );
}
console.log(
  `vectors of ${LENGTH} float32 parameters; median CPU time of ${REPEATS}; load ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
);
