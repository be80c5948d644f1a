/**
 * Secure aggregation's cost per round against plain FedAvg summation of the same updates: the time inside
 * the hospitals' and the coordinator's state machines (quantising and decoding included) and the bytes each
 * hospital sends and receives, for 10, 50 and 200 hospitals on a 100k-parameter model. Every party runs in
 * this one thread, one after another (no workers, no transport): "per hospital" is the hospitals' total
 * divided by their number, what each would spend in parallel. Run: `npx tsx bench/secagg.ts`.
 */
import { stream } from '../src/common/rng.ts';
import { secaggByteLength } from '../src/common/secagg/messages.ts';
import {
  decode,
  encode,
  validateQuantisation,
  type QuantisationSpec,
} from '../src/common/secagg/quantise.ts';
import { validateSecAggSettings } from '../src/common/secagg/settings.ts';
import { weightedAverage } from '../src/server/strategies/fedavg.ts';
import { runSecAggRound, type DropPoint } from '../test/helpers/secagg-round.ts';
import { timeMedian } from './measure.ts';

const LENGTH = 100_000;
const SEED = 1;

interface Row {
  readonly hospitals: number;
  readonly threshold: number;
  readonly neighbours?: number;
  readonly dropped?: number;
}

const rows: Row[] = [
  { hospitals: 10, threshold: 6 },
  { hospitals: 50, threshold: 26 },
  { hospitals: 50, threshold: 26, dropped: 5 },
  { hospitals: 200, threshold: 101 },
  { hospitals: 50, threshold: 7, neighbours: 12 },
  { hospitals: 200, threshold: 9, neighbours: 16 },
];

function updates(n: number): Float32Array[] {
  const rng = stream(SEED, 'bench', 'secagg', n);
  return Array.from({ length: n }, () => Float32Array.from({ length: LENGTH }, () => 0.01 * rng.normal()));
}

const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

console.log(
  'hospitals | graph | dropped | SecAgg ms per hospital | SecAgg coordinator ms | plain weighted mean ms | coordinator ÷ plain | KiB up per hospital (plain) | KiB down per hospital | bytes ÷ plain',
);
for (const row of rows) {
  const n = row.hospitals;
  validateSecAggSettings({
    participants: n,
    threshold: row.threshold,
    ...(row.neighbours ? { neighbours: row.neighbours } : {}),
  });
  const spec: QuantisationSpec = {
    bits: 16,
    maxWeight: 1,
    parts: [{ name: 'update', length: LENGTH, range: 0.1 }],
  };
  validateQuantisation(spec, n);
  const floats = updates(n);
  const plainMs = timeMedian(
    () =>
      void weightedAverage(
        LENGTH,
        floats.map((vector) => ({ vector, weight: 1 })),
      ),
    3,
  );

  const t0 = performance.now();
  const inputs = floats.map(
    (f, u) => encode(spec, [f], 1, stream(SEED, 'quantise', `hospital-${u + 1}`, 'round-1')).vector,
  );
  const encodeMs = performance.now() - t0;
  const drops = new Map<number, DropPoint>();
  for (let d = 0; d < (row.dropped ?? 0); d++)
    drops.set(2 + d * Math.floor(n / (row.dropped ?? 1)), 'after-sharing');
  const run = runSecAggRound({
    threshold: row.threshold,
    inputs,
    seed: SEED,
    round: 1,
    drops,
    ...(row.neighbours ? { neighbours: row.neighbours } : {}),
  });
  const t1 = performance.now();
  decode(spec, run.result.sum);
  const decodeMs = performance.now() - t1;

  let up = 0;
  let down = 0;
  for (const e of run.exchanged) {
    if (e.to === 'coordinator') up += secaggByteLength(e.message);
    else down += secaggByteLength(e.message);
  }
  const plainUp = LENGTH * 4;
  const perHospital = (run.time.hospitals + encodeMs) / n;
  const coordinator = run.time.coordinator + decodeMs;
  console.log(
    [
      n,
      row.neighbours === undefined ? 'complete' : `k = ${row.neighbours}`,
      row.dropped ?? 0,
      perHospital.toFixed(1),
      coordinator.toFixed(1),
      plainMs.toFixed(1),
      (coordinator / plainMs).toFixed(1),
      `${kb(up / n)} (${kb(plainUp)})`,
      kb(down / n),
      ((up + down) / (plainUp * n)).toFixed(3),
    ].join(' | '),
  );
}
console.log(
  `${LENGTH} parameters, 16-bit quantisation; every party in one thread (in-process); plain weighted mean = FedAvg's Float64 loop, median of 3; Node ${process.version}`,
);
