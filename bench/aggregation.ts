/**
 * FedAvg aggregation throughput: the coordinator's weighted mean of K parameter vectors, against a
 * plain copy of the same bytes (the memory-bound floor) measured in the same run.
 * Run: `npx tsx bench/aggregation.ts`.
 */
import { stream } from '../src/common/rng.ts';
import { weightedAverage } from '../src/server/strategies/fedavg.ts';
import { timeMedian } from './measure.ts';

const LENGTH = 1_000_000;
const REPEATS = 5;

const time = (fn: () => void): number => timeMedian(fn, REPEATS);

const rng = stream(1, 'bench', 'aggregation');
console.log('K hospitals | weighted mean (ms) | copy of the same bytes (ms) | ratio | GB/s read');
for (const k of [4, 10, 30]) {
  const vectors = Array.from({ length: k }, () => {
    const v = new Float32Array(LENGTH);
    for (let i = 0; i < LENGTH; i++) v[i] = rng.normal();
    return v;
  });
  const items = vectors.map((vector, i) => ({ vector, weight: 100 + i }));
  const sink = new Float32Array(LENGTH);
  const mean = time(() => void weightedAverage(LENGTH, items));
  const copy = time(() => {
    for (const v of vectors) sink.set(v);
  });
  const gbps = (k * LENGTH * 4) / (mean / 1000) / 1e9;
  console.log(
    `${String(k).padStart(11)} | ${mean.toFixed(1).padStart(18)} | ${copy.toFixed(1).padStart(27)} | ${(mean / copy).toFixed(1).padStart(5)} | ${gbps.toFixed(2)}`,
  );
}
console.log(`vectors of ${LENGTH} float32 parameters; median of ${REPEATS}; Node ${process.version}`);
