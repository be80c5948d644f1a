/**
 * Cohort generation: throughput (patients/s on one core) and memory per patient for a 100,000-patient
 * hospital, against the raw RNG cost measured in the same run (filling as many float32 values with
 * normal draws from the same kind of stream).
 * Run: `npx tsx bench/cohort.ts`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stream } from '../src/common/rng.ts';
import { generateCohort, interceptForPrevalence, NUM_FEATURES } from '../src/clients/data/cohort.ts';
import { hospitalSchema } from '../src/scenario/schema.ts';
import { timeMedian } from './measure.ts';

const PATIENTS = 100_000;
const REPEATS = 5;
const SEED = 1;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const time = (fn: () => void): number => timeMedian(fn, REPEATS);

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Growth of the V8 heap and of ArrayBuffer memory while `make`'s result is alive (retained: after full GCs). */
async function memoryOf(
  make: () => unknown,
): Promise<{ heap: number; arrayBuffers: number; arrayBuffersBeforeGc: number }> {
  await settle();
  const before = process.memoryUsage();
  const kept = make();
  const arrayBuffersBeforeGc = process.memoryUsage().arrayBuffers - before.arrayBuffers;
  await settle();
  const after = process.memoryUsage();
  if (kept === undefined) throw new Error('unreachable');
  return {
    heap: after.heapUsed - before.heapUsed,
    arrayBuffers: after.arrayBuffers - before.arrayBuffers,
    arrayBuffersBeforeGc,
  };
}

const plain = hospitalSchema.parse({ id: 'kr-bench-1', country: 'KR', patients: PATIENTS });
const measured = hospitalSchema.parse({
  id: 'kr-bench-1',
  country: 'KR',
  patients: PATIENTS,
  cohort: {
    measurement: {
      bmi: { offset: 0.5, sd: 0.3 },
      sbp: { offset: 4, sd: 3 },
      glucose: { offset: -3, sd: 5 },
      cholesterol: { offset: 6, sd: 8 },
    },
  },
});

const values = PATIENTS * NUM_FEATURES;
const rawRng = (): Float32Array => {
  const rng = stream(SEED, 'data', 'kr-bench-1');
  const out = new Float32Array(values);
  for (let i = 0; i < values; i++) out[i] = rng.normal();
  return out;
};

const memCohort = await memoryOf(() => generateCohort(plain, SEED));
const memRaw = await memoryOf(rawRng);
const typedBytes = (() => {
  const c = generateCohort(plain, SEED);
  return c.features.byteLength + c.labels.byteLength;
})();

const eta = Float64Array.from({ length: PATIENTS }, () => 0);
const etaRng = stream(SEED, 'bench', 'eta');
for (let i = 0; i < PATIENTS; i++) eta[i] = 1.5 * etaRng.normal();

const tRaw = time(() => void rawRng());
const tCohort = time(() => void generateCohort(plain, SEED));
const tMeasured = time(() => void generateCohort(measured, SEED));
const tIntercept = time(() => void interceptForPrevalence(eta, 0.07));

const rate = (ms: number): string => `${Math.round(PATIENTS / (ms / 1000)).toLocaleString('en-US')}`;
const row = (cells: string[], widths: number[]): string =>
  cells.map((c, i) => c.padStart(widths[i]!)).join(' | ');
const widths = [34, 9, 12, 16, 9];
console.log(
  `${PATIENTS.toLocaleString('en-US')} patients × ${NUM_FEATURES} features; median of ${REPEATS}; Node ${process.version}`,
);
console.log(row(['', 'ms', 'patients/s', 'normals/s (M)', '× raw'], widths));
console.log(
  row(
    ['raw RNG: 900k float32 normal()', tRaw.toFixed(1), rate(tRaw), (values / tRaw / 1000).toFixed(1), '1.0'],
    widths,
  ),
);
console.log(
  row(['generateCohort', tCohort.toFixed(1), rate(tCohort), '', (tCohort / tRaw).toFixed(2)], widths),
);
console.log(
  row(
    [
      'generateCohort + 4 measured feats',
      tMeasured.toFixed(1),
      rate(tMeasured),
      '',
      (tMeasured / tRaw).toFixed(2),
    ],
    widths,
  ),
);
console.log(
  row(
    ['  of which: intercept bisection', tIntercept.toFixed(1), '', '', (tIntercept / tRaw).toFixed(2)],
    widths,
  ),
);
console.log();
console.log('memory per patient (bytes)          | cohort | raw RNG fill');
console.log(
  `typed arrays kept (features+labels) | ${String(typedBytes / PATIENTS).padStart(6)} | ${String((values * 4) / PATIENTS).padStart(12)}`,
);
console.log(
  `measured arrayBuffers growth        | ${(memCohort.arrayBuffers / PATIENTS).toFixed(1).padStart(6)} | ${(memRaw.arrayBuffers / PATIENTS).toFixed(1).padStart(12)}`,
);
console.log(
  `arrayBuffers growth before GC       | ${(memCohort.arrayBuffersBeforeGc / PATIENTS).toFixed(1).padStart(6)} | ${(memRaw.arrayBuffersBeforeGc / PATIENTS).toFixed(1).padStart(12)}`,
);
console.log(
  `measured heapUsed growth            | ${(memCohort.heap / PATIENTS).toFixed(1).padStart(6)} | ${(memRaw.heap / PATIENTS).toFixed(1).padStart(12)}`,
);
console.log(
  '(retained: after a full GC while the result is alive; before GC includes transient buffers such as the Float64 eta, 8 B/patient)',
);
