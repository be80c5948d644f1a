/**
 * FedAvg aggregation throughput, measured in the same run:
 * 1. the fold alone (the target): FedAvg's weighted mean of K admitted 1M-parameter updates, folded in
 *    WebAssembly from the copies admission left in the arena (`meanOfAll(…, admitted)`), the same mean folded in
 *    JavaScript (the path before, and the fallback), the same updates streamed through `StreamingMean` (windows
 *    of 8 folded from the arena into sums held there), and a Float32Array copy of the same bytes;
 * 2. admission and fold together, now against before: the finite scan alone (JavaScript before, the arena's copy
 *    and SIMD scan now), the boundary's whole `admit` of K fit-reply envelopes (open, hash, check, and now the
 *    copy into the arena), and that admission followed by the mean, with the arena and without it
 *    (`useUpdateArena(null)`: the JavaScript check and fold, as before), so that the copy admission now makes
 *    shows where it went.
 * Run: `npx tsx bench/aggregation.ts`.
 */
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { stream } from '../src/common/rng.ts';
import { encodeEnvelope } from '../src/protocol/envelope.ts';
import { admit, fitReplyOf, type ReplyContract } from '../src/server/boundary.ts';
import { meanOfAll, StreamingMean } from '../src/server/streaming-mean.ts';
import {
  admitParameters,
  createUpdateArena,
  firstNonFiniteJs,
  useUpdateArena,
} from '../src/server/update-arena.ts';
import { median } from './measure.ts';

const LENGTH = 1_000_000;
const REPEATS = 9;

/** A full garbage collection, so that no call is charged for collecting what the one before it left. */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Median CPU milliseconds (user + system) of each function, their calls interleaved (after one warm-up call of
 * each) so that a change in the machine's load weighs on all of them alike, each after a full collection: fair
 * on a machine shared with other jobs, as wall time is not.
 */
function time<K extends string>(fns: Record<K, () => void>): Record<K, number> {
  const names = Object.keys(fns) as K[];
  for (const name of names) fns[name]();
  const samples = new Map<K, number[]>(names.map((n) => [n, []]));
  for (let r = 0; r < REPEATS; r++) {
    for (const name of names) {
      gc();
      const t0 = process.cpuUsage();
      fns[name]();
      const t = process.cpuUsage(t0);
      samples.get(name)!.push((t.user + t.system) / 1000);
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(samples.get(n)!)])) as Record<K, number>;
}

const contract: ReplyContract = {
  hospital: 'bench',
  kind: 'fit-reply',
  sizes: { parameters: LENGTH, histogramBins: 0 },
  vectors: ['parameters'],
  counts: { numExamples: { min: 0, max: 1_000_000 } },
};

/** Admits every envelope at the boundary and returns FedAvg's mean of them (what one round's aggregation does). */
function admitAndFold(envelopes: readonly Uint8Array[]): Float32Array {
  const items = envelopes.map((raw) => {
    const verdict = admit(raw, contract);
    if (verdict.status !== 'admitted') throw new Error(`bench: the reply was ${verdict.status}`);
    const reply = fitReplyOf(verdict.reply);
    return { vector: reply.vectors.parameters!, weight: reply.numExamples };
  });
  return meanOfAll(LENGTH, items, true);
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
const ms = (x: number, width: number) => x.toFixed(1).padStart(width);
const rng = stream(1, 'bench', 'aggregation');
const loadBefore = loadavg()[0]!;
const fold: string[] = [];
const round: string[] = [];
// The first pass only warms the JIT and the arena up on every size.
for (const [pass, k] of [4, 10, 30, 4, 10, 30].entries()) {
  const vectors = Array.from({ length: k }, () => {
    const v = new Float32Array(LENGTH);
    for (let i = 0; i < LENGTH; i++) v[i] = rng.normal();
    return v;
  });
  const items = vectors.map((vector, i) => ({ vector, weight: 100 + i }));
  const envelopes = items.map(({ vector, weight }) =>
    encodeEnvelope('fit-reply', { numExamples: weight, metrics: {} }, [['parameters', vector]]),
  );
  const sink = new Float32Array(LENGTH);

  const arena = createUpdateArena();
  useUpdateArena(arena);
  meanOfAll(LENGTH, items, true);
  for (const v of vectors) admitParameters(v);
  const { wasm, js, streamed, copy, fresh } = time({
    wasm: () => void meanOfAll(LENGTH, items, true),
    js: () => void meanOfAll(LENGTH, items),
    streamed: () => {
      const mean = new StreamingMean(LENGTH, true);
      for (const { vector, weight } of items) mean.add(vector, weight);
      mean.mean();
    },
    copy: () => {
      for (const v of vectors) sink.set(v);
    },
    // The mean's own output is a fresh array: what allocating and touching one costs on this machine.
    fresh: () => void new Float32Array(LENGTH).fill(1),
  });
  if (!same(meanOfAll(LENGTH, items, true), meanOfAll(LENGTH, items)))
    throw new Error('bench: the WebAssembly and JavaScript folds differ');

  const admitAll = () => {
    for (const raw of envelopes) admit(raw, contract);
  };
  const withArena = (on: boolean, fn: () => void) => () => {
    useUpdateArena(on ? arena : null);
    fn();
  };
  const t = time({
    scanBefore: () => {
      for (const v of vectors) firstNonFiniteJs(v);
    },
    scanNow: () => {
      for (const v of vectors) arena?.admit(v);
    },
    admitNow: withArena(true, admitAll),
    admitBefore: withArena(false, admitAll),
    roundNow: withArena(true, () => void admitAndFold(envelopes)),
    roundBefore: withArena(false, () => void admitAndFold(envelopes)),
  });
  const arenaBytes = arena?.bytes ?? 0;
  useUpdateArena(undefined);
  if (pass < 3) continue;
  fold.push(
    `${String(k).padStart(11)} | ${ms(wasm, 14)} | ${ms(js, 19)} | ${ms(streamed, 19)} | ${ms(copy, 27)} | ${(wasm / copy).toFixed(1).padStart(10)} | ${(js / copy).toFixed(1).padStart(8)} | ${fresh.toFixed(1)}`,
  );
  round.push(
    `${String(k).padStart(11)} | ${ms(t.scanBefore, 16)} | ${ms(t.scanNow, 20)} | ${ms(t.admitBefore, 16)} | ${ms(t.admitNow, 13)} | ${ms(t.roundBefore, 23)} | ${ms(t.roundNow, 20)} | ${Math.round(arenaBytes / 2 ** 20)}`,
  );
}
console.log(
  'K hospitals | wasm fold (ms) | JavaScript fold (ms) | wasm, streamed (ms) | copy of the same bytes (ms) | wasm / copy | JS / copy | new 4 MB result (ms)',
);
for (const line of fold) console.log(line);
console.log(
  '\nK hospitals | scan before (ms) | copy + scan now (ms) | admit before (ms) | admit now (ms) | admit + fold before (ms) | admit + fold now (ms) | arena MB',
);
for (const line of round) console.log(line);
console.log(
  `vectors of ${LENGTH} float32 parameters; median CPU time of ${REPEATS}; load ${loadBefore.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
);
