/**
 * FedAvg aggregation throughput: the coordinator's weighted mean of K parameter vectors (StreamingMean, four
 * updates per pass over the accumulator), the same mean folded one update per pass (the loop before it), and a
 * plain copy of the same bytes (the memory-bound floor), measured in the same run.
 * Run: `npx tsx bench/aggregation.ts`.
 */
import { loadavg } from 'node:os';
import { stream } from '../src/common/rng.ts';
import { weightedAverage } from '../src/server/strategies/fedavg.ts';
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
/** The fold before StreamingMean: one pass over the Float64 accumulator per update. */
function oneByOne(length: number, items: readonly { vector: Float32Array; weight: number }[]): Float32Array {
  const acc = new Float64Array(length);
  let total = 0;
  for (const { vector, weight } of items) {
    for (let i = 0; i < length; i++) acc[i]! += weight * vector[i]!;
    total += weight;
  }
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = acc[i]! / total;
  return out;
}

console.log(
  'K hospitals | weighted mean (ms) | one update per pass (ms) | copy of the same bytes (ms) | ratio | GB/s read',
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
  const before = time(() => void oneByOne(LENGTH, items));
  const copy = time(() => {
    for (const v of vectors) sink.set(v);
  });
  const gbps = (k * LENGTH * 4) / (mean / 1000) / 1e9;
  if (pass < 3) continue;
  console.log(
    `${String(k).padStart(11)} | ${mean.toFixed(1).padStart(18)} | ${before.toFixed(1).padStart(24)} | ${copy.toFixed(1).padStart(27)} | ${(mean / copy).toFixed(1).padStart(5)} | ${gbps.toFixed(2)}`,
  );
}
console.log(
  `vectors of ${LENGTH} float32 parameters; median CPU time of ${REPEATS}; load ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
);
