import { sha256 } from '../common/hash.ts';
import {
  combineStats,
  means,
  standardDeviations,
  STATS_VECTORS,
  statisticsVectors,
  transformFrom,
  TRANSFORM_VECTORS,
  type ColumnStats,
} from '../common/column-stats.ts';
import type { MessageSizes } from '../protocol/kinds.ts';
import {
  MAX_CELL_MAGNITUDE,
  countedFields,
  isOwnData,
  scaledColumns,
  scalingOf,
  tabularColumns,
  usesFederatedStatistics,
} from '../protocol/own-data-layout.ts';
import { headOf } from '../protocol/outcome.ts';
import type { DataConfig, Scenario } from '../scenario/schema.ts';
import { Channel, type ExchangeFailure } from './channel.ts';
import { exactly } from './boundary.ts';
import type { EnvelopeBody } from '../protocol/envelope.ts';
import { compareIds } from './sampling.ts';

/**
 * Preprocessing of own data without pooling: each hospital's training-split column summaries cross the
 * boundary as declared float64 vectors, the coordinator combines them (in ascending hospital order) and sends
 * every hospital the same transform; or each hospital scales by its own statistics, or not at all.
 */

/** What the manifest records of a run's preprocessing. */
export interface PreprocessingRecord {
  readonly scaling: string;
  /** Model input columns, by name (`<feature>`, `<feature>=<category>`, `<feature>_missing`, or pixels). */
  readonly columns: readonly string[] | number;
  /** Whether the transform came from the federation's combined statistics (else each hospital's own, or none). */
  readonly federated: boolean;
  /** SHA-256 of the broadcast transform's vectors (centre, scale, fill as little-endian float64, in that order). */
  readonly transformSha256?: string;
  /** The federation's column means and population standard deviations (ddof 0) over every training row. */
  readonly mean?: readonly number[];
  readonly sd?: readonly number[];
  /** Per hospital (tables): missing cells of each declared feature and rows dropped, as each reported at setup. */
  readonly missing?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * Where the preprocessing's messages go on the way to and from the hospitals in a topology other than flat (a
 * country aggregator relays them): told before the hospitals are asked (with the body they get) and after all
 * their replies were received.
 */
export interface PreprocessingHops {
  down(kind: 'statistics-request' | 'transform-request', body: EnvelopeBody): void;
  up(kind: 'statistics-request' | 'transform-request'): void;
}

/** The sizes of own data's vectors: input columns, declared features, classes (0 for the synthetic kinds). */
export function ownDataSizes(data: DataConfig): Pick<MessageSizes, 'columns' | 'features' | 'classes'> {
  const head = headOf(data);
  const classes = head.kind === 'multiclass' ? head.classes : 0;
  if (!isOwnData(data)) return { columns: 0, features: 0, classes };
  const columns =
    data.kind === 'tabular' ? tabularColumns(data).length : data.height * data.width * data.channels;
  return { columns, features: countedFields(data).length, classes };
}

/** Vectors an evaluation reply must carry: the score histogram, and a multi-class outcome's confusion matrix. */
export function evaluationVectors(sizes: MessageSizes): string[] {
  return [
    ...(sizes.histogramBins > 0 ? ['histogram'] : []),
    ...((sizes.classes ?? 0) > 0 ? ['confusion'] : []),
  ];
}

/** Vectors a setup reply must carry: a table's missing counts. */
export function setupVectors(data: DataConfig): string[] {
  return data.kind === 'tabular' ? ['missing'] : [];
}

/** A table's missing counts as one hospital reported them, by feature name (then `rows_dropped`). */
export function missingByField(data: DataConfig, counts: Uint32Array): Record<string, number> {
  const fields = isOwnData(data) ? countedFields(data) : [];
  return Object.fromEntries([
    ...fields.map((f, i) => [f, counts[i]!]),
    ['rows_dropped', counts[fields.length]!],
  ]);
}

/**
 * Runs the scenario's preprocessing after setup: for federated statistics, asks every hospital (ascending id)
 * for its summaries, combines them and sends the transform; returns what the manifest records, or the
 * failures that stop the run.
 */
export async function preprocess(
  channel: Channel,
  scenario: Scenario,
  holdings: ReadonlyMap<string, { readonly train: number; readonly test: number }>,
  sizes: MessageSizes,
  missing: ReadonlyMap<string, Record<string, number>>,
  hops?: PreprocessingHops,
): Promise<{
  record?: PreprocessingRecord;
  transform?: EnvelopeBody;
  /** The transform's vectors centre, scale and fill laid end to end (what `transformSha256` hashes). */
  transformVector?: Float64Array;
  failures: ExchangeFailure[];
}> {
  const data = scenario.data;
  if (!isOwnData(data)) return { failures: [] };
  const columns = data.kind === 'tabular' ? tabularColumns(data).map((c) => c.name) : (sizes.columns ?? 0);
  const ids = scenario.hospitals.map((h) => h.id).sort(compareIds);
  const base = {
    scaling: data.preprocessing.scaling,
    columns,
    ...(missing.size > 0 ? { missing: Object.fromEntries(ids.map((id) => [id, missing.get(id)!])) } : {}),
  };
  if (!usesFederatedStatistics(data)) return { record: { ...base, federated: false }, failures: [] };
  const ask = Channel.body();
  hops?.down('statistics-request', ask);
  const asked = await Promise.all(ids.map((id) => channel.send(0, id, 'statistics-request', ask, {})));
  const failures: ExchangeFailure[] = [];
  const parts: ColumnStats[] = [];
  ids.forEach((id, i) => {
    const r = channel.receive(0, id, 'statistics-request', asked[i]!, {
      sizes,
      vectors: [...statisticsVectors(scalingOf(data))],
      counts: { train: exactly(holdings.get(id)!.train) },
    });
    if ('reason' in r) failures.push(r);
    else parts.push(statsOf(r.reply.vectors, holdings.get(id)!.train, id, failures));
  });
  if (failures.length > 0) return { failures };
  hops?.up('statistics-request');
  const combined = combineStats(parts);
  const t = transformFrom(combined, scalingOf(data), scaledColumns(data));
  const body = Channel.body(TRANSFORM_VECTORS.map((name) => [name, t[name]] as const));
  hops?.down('transform-request', body);
  const sent = await Promise.all(ids.map((id) => channel.send(0, id, 'transform-request', body, {})));
  ids.forEach((id, i) => {
    const r = channel.receive(
      0,
      id,
      'transform-request',
      sent[i]!,
      transformContract(sizes, holdings.get(id)!),
    );
    if ('reason' in r) failures.push(r);
  });
  if (failures.length === 0) hops?.up('transform-request');
  const transformVector = Float64Array.from([...t.centre, ...t.scale, ...t.fill]);
  const transformSha256 = sha256(new Uint8Array(transformVector.buffer));
  return {
    transform: body,
    transformVector,
    record: {
      ...base,
      federated: true,
      transformSha256,
      mean: Array.from(means(combined)),
      sd: Array.from(standardDeviations(combined)),
    },
    failures,
  };
}

/** What a hospital's reply to the federation's transform must carry: nothing but its exact holdings. */
export function transformContract(
  sizes: MessageSizes,
  holding: { readonly train: number; readonly test: number },
) {
  return {
    sizes,
    vectors: [],
    counts: { train: exactly(holding.train), test: exactly(holding.test) },
  };
}

/**
 * Whether one column's summaries could come from `n` real values: all within [min, max] ⊂ ±MAX_CELL_MAGNITUDE, so the sum
 * lies in [n·min, n·max] and the centred sum of squares is at most n·(max − min)²/4 (Popoviciu), up to rounding.
 */
export function consistent(n: number, sum: number, m2: number, min: number, max: number): boolean {
  if (!(min <= max) || Math.abs(min) > MAX_CELL_MAGNITUDE || Math.abs(max) > MAX_CELL_MAGNITUDE) return false;
  const slack = 1e-9 * n * Math.max(Math.abs(min), Math.abs(max), 1);
  const spread = max - min;
  return (
    sum >= n * min - slack &&
    sum <= n * max + slack &&
    m2 <= (n * spread * spread) / 4 + slack * spread + 1e-9
  );
}

/**
 * An admitted statistics reply as summaries, after checks the vectors' types cannot make: counts are whole
 * numbers of at most the training examples, sums of squares are not negative, and min ≤ max where a column
 * has values.
 */
function statsOf(
  vectors: ReadonlyMap<string, unknown>,
  train: number,
  hospital: string,
  failures: ExchangeFailure[],
): ColumnStats {
  // Without the extremes (all but min–max scaling), only the bounds every table value keeps are known.
  const bound = (name: string, x: number) =>
    (vectors.get(name) as Float64Array | undefined) ??
    new Float64Array((vectors.get('count') as Float64Array).length).fill(x);
  const [count, sum, m2] = STATS_VECTORS.slice(0, 3).map((n) => vectors.get(n) as Float64Array);
  const min = bound('min', -MAX_CELL_MAGNITUDE);
  const max = bound('max', MAX_CELL_MAGNITUDE);
  for (let j = 0; j < count!.length; j++) {
    const n = count![j]!;
    if (
      !Number.isInteger(n) ||
      n < 0 ||
      n > train ||
      m2![j]! < 0 ||
      (n > 0 && !consistent(n, sum![j]!, m2![j]!, min[j]!, max[j]!))
    ) {
      failures.push({
        hospital,
        reason:
          `hospital ${hospital}: column statistics of column ${j} must be counts of at most ${train} training ` +
          `examples with min ≤ max within ±${MAX_CELL_MAGNITUDE}, min·count ≤ sum ≤ max·count and 0 ≤ m2 ≤ count·(max − min)²/4`,
      });
      break;
    }
  }
  const inf = (v: Float64Array, x: number) => v.map((y, j) => (count![j]! > 0 ? y : x));
  return { count: count!, sum: sum!, m2: m2!, min: inf(min, Infinity), max: inf(max, -Infinity) };
}
