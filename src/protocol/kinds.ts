import { CIPHERTEXT_BYTES, SHARE_BYTES } from '../common/secagg/messages.ts';
import { KEY_BYTES } from '../common/secagg/key-agreement.ts';
import { envelopeLimit, type DType, type EnvelopeLimits } from './envelope.ts';
import { AUDIT_BINS } from './membership-audit.ts';

/** Which way a message crosses the worker boundary. */
export type Direction = 'to-hospital' | 'to-coordinator';

/** What a message serves: the federation, a baseline run beside it, or a tool outside any run. */
export type Purpose = 'federation' | 'local-only' | 'pooled' | 'tooling' | 'country-only';

/**
 * Who may send a kind: the coordinator, a hospital's worker, the pooled oracle's thread, or a country aggregator's
 * thread (hierarchical topology: its messages go `to-hospital` from the coordinator, `to-coordinator` back).
 */
export type Sender = 'coordinator' | 'hospital' | 'pooled-oracle' | 'country-aggregator';

/**
 * What a message can carry, as the jurisdiction policies weigh it. A message's classes are computed by fedmed
 * from its kind and from values the coordinator itself knows (never from what a worker claims): the kind
 * table gives each kind its base class, and `src/protocol/jurisdiction/classes.ts` adds the rest.
 */
export const DATA_CLASSES = {
  'personal-records': "patients' records (raw rows): only the pooled oracle would need them",
  'genetic-information':
    "patients' genotypes, part of the cohort's records (risk alleles at the marker locus)",
  'parameters-clear':
    "one hospital's trained parameters (or control variates) in the clear, or a model that is one",
  'parameters-masked':
    "one hospital's quantised update under secure aggregation's masks: only the sum of many can be read",
  'aggregate-dp':
    'an aggregate of at least k hospitals under client-level differential privacy with ε at most x (reserved)',
  'aggregate-model': 'any other aggregate of at least k hospitals, such as the global model broadcast back',
  'evaluation-metrics': "a model's metrics on one hospital's held-out patients",
  'subgroup-metrics':
    'the same metrics within subgroups (sex, age band) of at least minSubgroupSize patients',
  'score-histogram': "counts of one hospital's held-out patients per bin of predicted risk, by class",
  setup: 'configuration and instructions (or a random initial model): no patient data, no trained parameters',
  'error-report':
    'a fixed error category with the place it concerns (hospital, file, row, column), never a value',
  'column-statistics':
    "counts, sums, centred sums of squares and extremes of each input column over a hospital's training split",
  'client-state':
    "a hospital's own state between rounds (SCAFFOLD's c_i, …) as an opaque blob only its worker interprets: kept for it by the coordinator's process, handed back with its next request, never aggregated or written out",
  'membership-audit':
    "how well a membership-inference attack on the model tells one hospital's training patients from its held-out ones: bounded success metrics and counts of each group per bin of attack score, never a patient's score",
} as const;

/** A class of what a message carries. */
export type DataClass = keyof typeof DATA_CLASSES;

/** Every data class, in the table's order (the order classes are listed in records). */
export const DATA_CLASS_NAMES = Object.keys(DATA_CLASSES) as [DataClass, ...DataClass[]];

/**
 * How long a vector must be: the model's parameter count, two per score-histogram bin, one per model input
 * column (own data), one per declared table feature plus one (missing cells, then rows dropped), one per
 * cell of the K × K confusion matrix of a multi-class outcome, at most {@link clientStateMaxBytes} bytes for a
 * client-state blob, or a size of the secure-aggregation exchange it belongs to (see {@link SecAggSizes}).
 */
export type LengthRule =
  | 'parameters'
  | 'histogram'
  | 'columns'
  | 'missing-counts'
  | 'confusion'
  | 'client-state'
  /** Members, then non-members, per bin of a membership-inference attack's score. */
  | 'audit-histogram'
  /** One X25519 public key (32 bytes). */
  | 'key'
  /** One key per hospital on a key roster. */
  | 'roster-keys'
  /** Hospital indices: the neighbours on a roster, or the senders or recipients of shares. */
  | 'peers'
  /** One share ciphertext per peer. */
  | 'peer-ciphertexts'
  /** Words of a masked input. */
  | 'encoded'
  /** Indices of survivors (an unmask request), or of those whose self-mask shares a reply reveals. */
  | 'survivors'
  /** Indices of dropouts (an unmask request), or of those whose key shares a reply reveals. */
  | 'dropouts'
  /** One share per survivor revealed. */
  | 'survivor-shares'
  /** One share per dropout revealed. */
  | 'dropout-shares';

/** A vector a kind may carry. */
export interface VectorRule {
  readonly dtype: DType;
  readonly length: LengthRule;
  /** True when the length is a bound, not an exact length. */
  readonly upTo?: true;
  /** What this vector carries, when it differs from its message's data class. */
  readonly dataClass?: DataClass;
}

/** The JSON fields the boundary knows how to check, by type. */
export type FieldType =
  /** An integer count of examples, bounded by what the hospital holds. */
  | 'count'
  /** Named metrics from the protocol's registry, each within its range. */
  | 'metrics'
  /** A worker thread's id, backend and tfjs version. */
  | 'host-info'
  /** A worker's error: a category and where, never a value. */
  | 'error'
  /** A count per hospital id. */
  | 'counts-by-hospital'
  /** Where a hospital's exported files are, as a scenario source. */
  | 'source'
  /** Coordinator-made configuration or instructions (sent to hospitals, never admitted from them). */
  | 'config';

/** Everything declared about one kind of message. */
export interface KindSpec {
  readonly direction: Direction;
  readonly sender: Sender;
  readonly purpose: Purpose;
  /**
   * Its base class. A request carrying a model takes the model's class instead (the initial model is setup, a
   * model of fewer than k hospitals counts as per-hospital parameters); an evaluation may add subgroup metrics
   * and a score histogram.
   */
  readonly dataClass: DataClass;
  /** Vectors it may carry; which of them a given exchange requires is the exchange's contract. */
  readonly vectors: Readonly<Record<string, VectorRule>>;
  /** Its JSON fields besides `kind` and `vectors`: exactly these, no other. */
  readonly fields: Readonly<Record<string, FieldType>>;
  /** Most bytes of its JSON part. */
  readonly maxJsonBytes: number;
  /** For a request, the kind of its reply (an `error` may always come instead). */
  readonly reply?: string;
  /** One line on what it is. */
  readonly meaning: string;
}

const parameters: VectorRule = { dtype: 'f32', length: 'parameters' };
const u8 = (length: LengthRule): VectorRule => ({ dtype: 'u8', length });
const u32 = (length: LengthRule): VectorRule => ({ dtype: 'u32', length });
const histogram: VectorRule = { dtype: 'u32', length: 'histogram' };
const confusion: VectorRule = { dtype: 'u32', length: 'confusion' };
const columnVector: VectorRule = { dtype: 'f64', length: 'columns' };
/** A hospital's summaries of its input columns: values present, sum, centred sum of squares, minimum, maximum. */
const columnStatistics = {
  count: columnVector,
  sum: columnVector,
  m2: columnVector,
  min: columnVector,
  max: columnVector,
};
const state: VectorRule = { dtype: 'u8', length: 'client-state', upTo: true, dataClass: 'client-state' };
const REPLY_JSON = 8 * 1024;
const CONFIG_JSON = 4 * 1024 * 1024;

const evaluation = (
  sender: Sender,
  purpose: Purpose,
  meaning: string,
): KindSpec & { readonly direction: 'to-coordinator' } => ({
  direction: 'to-coordinator',
  sender,
  purpose,
  dataClass: 'evaluation-metrics',
  vectors: { histogram, confusion },
  fields: { numExamples: 'count', metrics: 'metrics' },
  maxJsonBytes: REPLY_JSON,
  meaning,
});

const request = (
  purpose: Purpose,
  dataClass: DataClass,
  vectors: Readonly<Record<string, VectorRule>>,
  reply: string,
  meaning: string,
): KindSpec & { readonly direction: 'to-hospital' } => ({
  direction: 'to-hospital',
  sender: 'coordinator',
  purpose,
  dataClass,
  vectors,
  fields: { hospital: 'config', request: 'config' },
  maxJsonBytes: CONFIG_JSON,
  reply,
  meaning,
});

const secaggReply = (
  dataClass: DataClass,
  vectors: Readonly<Record<string, VectorRule>>,
  meaning: string,
): KindSpec & { readonly direction: 'to-coordinator' } => ({
  direction: 'to-coordinator',
  sender: 'hospital',
  purpose: 'federation',
  dataClass,
  vectors,
  fields: {},
  maxJsonBytes: REPLY_JSON,
  meaning,
});

/**
 * Every kind of message that crosses a worker boundary, declared once. The boundary admits a reply only as a
 * kind of this table (its vectors, its fields, their types and bounds), the crossing record takes direction,
 * purpose and data class from here, and the envelope limits follow from it.
 */
export const KINDS = {
  setup: request(
    'federation',
    'setup',
    {},
    'setup-reply',
    "a hospital's configuration (never records), the scenario's data, model and evaluation settings",
  ),
  'setup-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'federation',
    dataClass: 'setup',
    vectors: { missing: { dtype: 'u32', length: 'missing-counts' } },
    fields: { host: 'host-info', train: 'count', test: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      "the thread's backend, how many training and held-out examples the hospital holds (and, for a declared " +
      'table, its missing cells per feature and rows dropped)',
  },
  'fit-request': request(
    'federation',
    'aggregate-model',
    { parameters, control: parameters, state },
    'fit-reply',
    'the global model (and server control variate), the hospital’s own state blob if it keeps one, and the round’s training instructions',
  ),
  'fit-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'federation',
    dataClass: 'parameters-clear',
    vectors: { parameters, control: parameters, state },
    fields: { numExamples: 'count', metrics: 'metrics' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      'locally trained parameters (and control-variate update), the hospital’s new state blob if it keeps one, the training count and metrics',
  },
  'evaluate-request': request(
    'federation',
    'aggregate-model',
    { parameters },
    'evaluate-reply',
    'the global model to score on the held-out split',
  ),
  'evaluate-reply': evaluation(
    'hospital',
    'federation',
    'metrics of the global model on the held-out split (and its score histogram)',
  ),
  'local-only-request': request(
    'local-only',
    'setup',
    { parameters },
    'local-only-reply',
    'the initial model and epochs for training on this hospital alone',
  ),
  'local-only-reply': evaluation('hospital', 'local-only', 'metrics of the hospital’s own model'),
  'pooled-train-request': request(
    'pooled',
    'setup',
    { parameters },
    'pooled-train-reply',
    'every hospital’s configuration and the initial model, for the pooled oracle',
  ),
  'pooled-train-reply': {
    direction: 'to-coordinator',
    sender: 'pooled-oracle',
    purpose: 'pooled',
    dataClass: 'setup',
    vectors: {},
    fields: { trainExamples: 'counts-by-hospital' },
    maxJsonBytes: 256 * 1024,
    meaning: 'how many training records of each hospital the pooled model saw',
  },
  'pooled-evaluate-request': request(
    'pooled',
    'setup',
    {},
    'pooled-reply',
    'which hospital’s held-out split to score the pooled model on',
  ),
  'pooled-reply': evaluation('pooled-oracle', 'pooled', 'metrics of the pooled model at one hospital'),
  'pooled-records': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'pooled',
    dataClass: 'personal-records',
    vectors: {},
    fields: {},
    maxJsonBytes: 0,
    meaning: 'the records a real pooling would have had to export (recorded, never sent)',
  },
  'export-request': request(
    'tooling',
    'setup',
    {},
    'export-reply',
    'write the hospital’s records as its own files',
  ),
  'export-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'tooling',
    dataClass: 'setup',
    vectors: {},
    fields: { source: 'source' },
    maxJsonBytes: REPLY_JSON,
    meaning: 'where the hospital wrote its files',
  },
  'score-request': request(
    'tooling',
    'aggregate-model',
    { parameters, centre: columnVector, scale: columnVector, fill: columnVector },
    'score-reply',
    'a finished model to score on a site’s files',
  ),
  'score-reply': evaluation('hospital', 'tooling', 'metrics of a finished model on a site’s files'),
  'secagg-fit-request': request(
    'federation',
    'aggregate-model',
    { parameters, control: parameters, state },
    'secagg-keys',
    'the global model, the round’s training and its secure-aggregation settings (index, threshold, quantisation)',
  ),
  'secagg-keys': secaggReply(
    'setup',
    { 'cipher-key': u8('key'), 'mask-key': u8('key'), state },
    'two X25519 public keys, and the hospital’s state blob for the store when it keeps one',
  ),
  'secagg-roster': request(
    'federation',
    'setup',
    { hospitals: u32('peers'), 'cipher-keys': u8('roster-keys'), 'mask-keys': u8('roster-keys') },
    'secagg-shares',
    'the public keys of the hospital’s neighbours that advertised theirs',
  ),
  'secagg-shares': secaggReply(
    'setup',
    { recipients: u32('peers'), ciphertexts: u8('peer-ciphertexts') },
    'its Shamir shares of two secrets, encrypted for each neighbour (AES-256-GCM)',
  ),
  'secagg-delivery': request(
    'federation',
    'setup',
    { senders: u32('peers'), ciphertexts: u8('peer-ciphertexts') },
    'secagg-masked',
    'the share ciphertexts addressed to the hospital',
  ),
  'secagg-masked': secaggReply(
    'parameters-masked',
    { masked: u32('encoded') },
    'its quantised update plus its self mask and pairwise masks, modulo 2^32',
  ),
  'secagg-unmask': request(
    'federation',
    'setup',
    { survivors: u32('survivors'), dropouts: u32('dropouts') },
    'secagg-reveal',
    'who sent a masked input and who dropped after sharing',
  ),
  'secagg-reveal': secaggReply(
    'setup',
    {
      'self-mask-owners': u32('survivors'),
      'self-mask-shares': u8('survivor-shares'),
      'key-owners': u32('dropouts'),
      'key-shares': u8('dropout-shares'),
    },
    'its shares of survivors’ self-mask seeds and of dropouts’ mask keys, never both for one hospital',
  ),
  'statistics-request': request(
    'federation',
    'setup',
    {},
    'statistics-reply',
    'ask for the summaries of each input column over the training split (own data, federated preprocessing)',
  ),
  'statistics-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'federation',
    dataClass: 'column-statistics',
    vectors: columnStatistics,
    fields: { train: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      'per input column of the training split: values present, their sum, centred sum of squares, minimum, maximum',
  },
  'transform-request': request(
    'federation',
    'column-statistics',
    { centre: columnVector, scale: columnVector, fill: columnVector },
    'transform-reply',
    'the federation’s input transform: x ↦ ((x, or fill if missing) − centre) / scale per column',
  ),
  'transform-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'federation',
    dataClass: 'setup',
    vectors: {},
    fields: { train: 'count', test: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning: 'the transform is applied: the training and held-out examples ready',
  },
  'split-request': request(
    'tooling',
    'setup',
    {},
    'split-reply',
    'divide one pooled dataset into per-hospital files and a scenario that reads them (fedmed split)',
  ),
  'split-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'tooling',
    dataClass: 'setup',
    vectors: {},
    fields: { rows: 'counts-by-hospital' },
    maxJsonBytes: 256 * 1024,
    meaning: 'how many rows each new hospital received',
  },
  'audit-request': request(
    'federation',
    'aggregate-model',
    { parameters, state },
    'audit-reply',
    'the model to audit, the hospital’s own state blob if it keeps one, and how to train the reference models of its membership-inference audit',
  ),
  'audit-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'federation',
    dataClass: 'membership-audit',
    vectors: {
      loss: { dtype: 'u32', length: 'audit-histogram' },
      lira: { dtype: 'u32', length: 'audit-histogram' },
    },
    fields: { members: 'count', nonMembers: 'count', metrics: 'metrics' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      'membership-inference attack success on the hospital’s training (members) versus held-out (non-members) patients: per attack its AUC, advantage and TPR at low FPR, and counts of each group per score bin',
  },
  'country-only-fit-request': request(
    'country-only',
    'aggregate-model',
    { parameters, control: parameters, state },
    'country-only-fit-reply',
    'country-only baseline: its country’s model (the hospital federates with its own country only) and the round’s training',
  ),
  'country-only-fit-reply': {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'country-only',
    dataClass: 'parameters-clear',
    vectors: { parameters, control: parameters, state },
    fields: { numExamples: 'count', metrics: 'metrics' },
    maxJsonBytes: REPLY_JSON,
    meaning: 'country-only baseline: locally trained parameters, as a fit reply',
  },
  'country-only-evaluate-request': request(
    'country-only',
    'aggregate-model',
    { parameters },
    'country-only-reply',
    'country-only baseline: one country’s model to score on this hospital’s held-out split (every country’s model goes to every hospital)',
  ),
  'country-only-reply': evaluation(
    'hospital',
    'country-only',
    'metrics of one country’s model on the held-out split',
  ),
  'country-fit-request': request(
    'federation',
    'aggregate-model',
    { parameters },
    'country-aggregate',
    'hierarchical topology: the global model to a country aggregator, which relays it to its hospitals and sums their updates',
  ),
  'country-aggregate': {
    direction: 'to-coordinator',
    sender: 'country-aggregator',
    purpose: 'federation',
    dataClass: 'aggregate-model',
    vectors: { sum: { dtype: 'f64', length: 'parameters' } },
    fields: { numExamples: 'count', contributors: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      "a country aggregator's Float64 sum of its hospitals' weighted updates Σ w_k (x_k − g), their training examples and how many contributed",
  },
  'country-evaluate-request': request(
    'federation',
    'aggregate-model',
    { parameters },
    'country-evaluation',
    'hierarchical topology: the global model to a country aggregator, to relay to its hospitals for scoring',
  ),
  'country-evaluation': evaluation(
    'country-aggregator',
    'federation',
    "a country aggregator relaying its hospitals' evaluation replies (metrics, never parameters) as they came",
  ),
  'country-statistics-request': request(
    'federation',
    'setup',
    {},
    'country-statistics',
    "hierarchical topology, own data: asks a country aggregator for its hospitals' column statistics",
  ),
  'country-statistics': {
    direction: 'to-coordinator',
    sender: 'country-aggregator',
    purpose: 'federation',
    dataClass: 'column-statistics',
    vectors: columnStatistics,
    fields: { train: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      "a country aggregator relaying its hospitals' column statistics (statistics-reply) as they came (recorded by the coordinator's process from the admitted replies: no aggregator thread sends it)",
  },
  'country-transform-request': request(
    'federation',
    'column-statistics',
    { centre: columnVector, scale: columnVector, fill: columnVector },
    'country-transform-reply',
    'hierarchical topology, own data: the federation’s input transform to a country aggregator, to relay to its hospitals',
  ),
  'country-transform-reply': {
    direction: 'to-coordinator',
    sender: 'country-aggregator',
    purpose: 'federation',
    dataClass: 'setup',
    vectors: {},
    fields: { train: 'count', test: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning:
      "a country aggregator relaying its hospitals' transform replies (their example counts) as they came (recorded by the coordinator's process, as country-statistics is)",
  },
  error: {
    direction: 'to-coordinator',
    sender: 'hospital',
    purpose: 'federation',
    dataClass: 'error-report',
    vectors: {},
    fields: { error: 'error' },
    maxJsonBytes: 2 * 1024,
    meaning: 'a request the worker could not serve: a fixed category and where, never a value',
  },
} as const satisfies Record<string, KindSpec>;

/** A kind of message. */
export type Kind = keyof typeof KINDS;
/** A kind a hospital's worker (or the pooled oracle) may send. */
export type ReplyKind = {
  [K in Kind]: (typeof KINDS)[K]['direction'] extends 'to-coordinator' ? K : never;
}[Kind];
/** A kind the coordinator sends. */
export type RequestKind = Exclude<Kind, ReplyKind>;

/** The declaration of a kind. */
export function kindSpec(kind: Kind): KindSpec {
  return KINDS[kind];
}

/** True for a kind of the table. */
export function isKind(name: string): name is Kind {
  return Object.hasOwn(KINDS, name);
}

/** Sizes of one secure-aggregation exchange, which its vectors' length rules refer to. */
export interface SecAggSizes {
  /** Hospital indices on the roster, or senders or recipients of shares. */
  readonly peers: number;
  /** Words of a masked input. */
  readonly encoded: number;
  /** Survivors (whose self-mask shares are revealed). */
  readonly survivors: number;
  /** Dropouts (whose key shares are revealed). */
  readonly dropouts: number;
}

/** Sizes that vector length rules refer to. */
export interface MessageSizes {
  /** The model's parameter count. */
  readonly parameters: number;
  /** Bins of the score histogram (0: none). */
  readonly histogramBins: number;
  /** The secure-aggregation exchange's sizes; absent: its vectors must be empty. */
  readonly secagg?: SecAggSizes;
  /** Model input columns of own data (0 or absent: none). */
  readonly columns?: number;
  /** Declared features of a table (0 or absent: none). */
  readonly features?: number;
  /** Classes of a multi-class outcome (0 or absent: none). */
  readonly classes?: number;
}

/**
 * Most bytes of one hospital's client-state blob: room for two parameter-length float32 vectors and 64 KiB of
 * headers and small entries, so a hospital's worker cannot hand the coordinator more than its model's size to keep.
 */
export function clientStateMaxBytes(parameters: number): number {
  return 8 * parameters + 64 * 1024;
}

/** Length a rule asks for (for an `upTo` rule, the most it allows), given the run's sizes. */
export function ruleLength(rule: VectorRule, sizes: MessageSizes): number {
  const s = sizes.secagg;
  switch (rule.length) {
    case 'parameters':
      return sizes.parameters;
    case 'histogram':
      return 2 * sizes.histogramBins * Math.max(1, sizes.classes ?? 0);
    case 'key':
      return KEY_BYTES;
    case 'roster-keys':
      return (s?.peers ?? 0) * KEY_BYTES;
    case 'peers':
      return s?.peers ?? 0;
    case 'peer-ciphertexts':
      return (s?.peers ?? 0) * CIPHERTEXT_BYTES;
    case 'encoded':
      return s?.encoded ?? 0;
    case 'survivors':
      return s?.survivors ?? 0;
    case 'dropouts':
      return s?.dropouts ?? 0;
    case 'survivor-shares':
      return (s?.survivors ?? 0) * SHARE_BYTES;
    case 'dropout-shares':
      return (s?.dropouts ?? 0) * SHARE_BYTES;
    case 'columns':
      return sizes.columns ?? 0;
    case 'missing-counts':
      return (sizes.features ?? 0) + 1;
    case 'confusion':
      return (sizes.classes ?? 0) ** 2;
    case 'client-state':
      return clientStateMaxBytes(sizes.parameters);
    case 'audit-histogram':
      return 2 * AUDIT_BINS;
  }
}

/** The most bytes a message of `kind` can take: every vector it may carry at full length, and its JSON. */
export function kindLimits(kind: Kind, sizes: MessageSizes): EnvelopeLimits {
  const spec: KindSpec = KINDS[kind];
  return envelopeLimit(
    Object.values(spec.vectors).map((v) => [v.dtype, ruleLength(v, sizes)] as const),
    spec.maxJsonBytes,
  );
}
