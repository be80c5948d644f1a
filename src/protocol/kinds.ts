import { envelopeLimit, type DType, type EnvelopeLimits } from './envelope.ts';

/** Which way a message crosses the worker boundary. */
export type Direction = 'to-hospital' | 'to-coordinator';

/** What a message serves: the federation, a baseline run beside it, or a tool outside any run. */
export type Purpose = 'federation' | 'local-only' | 'pooled' | 'tooling';

/** Who may send a kind: the coordinator, a hospital's worker, or the pooled oracle's thread. */
export type Sender = 'coordinator' | 'hospital' | 'pooled-oracle';

/** What a message carries, as the jurisdiction policies weigh it. */
export type DataClass =
  /** Configuration and instructions: no patient data, no trained parameters. */
  | 'setup'
  /** The federation's aggregate model, sent back to hospitals. */
  | 'aggregate-model'
  /** One hospital's trained parameters (or control variates) in the clear. */
  | 'parameters-clear'
  /** Metrics of a model on one hospital's held-out patients, possibly with subgroups and score histograms. */
  | 'evaluation-metrics'
  /** A fixed error category with the place it concerns (hospital, file, row, column), never a value. */
  | 'error-report'
  /** Patient records: only the pooled oracle would need them, which is why it violates sovereignty. */
  | 'personal-records'
  /**
   * A hospital's own state between rounds (SCAFFOLD's c_i, …) as an opaque blob only its worker interprets: kept
   * for it by the coordinator's process, handed back with its next request, never aggregated or written out.
   */
  | 'client-state';

/**
 * How long a vector must be: the model's parameter count, two per score-histogram bin, or for a client-state
 * blob at most {@link clientStateMaxBytes} bytes.
 */
export type LengthRule = 'parameters' | 'histogram' | 'client-state';

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
const histogram: VectorRule = { dtype: 'u32', length: 'histogram' };
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
  vectors: { histogram },
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
    vectors: {},
    fields: { host: 'host-info', train: 'count', test: 'count' },
    maxJsonBytes: REPLY_JSON,
    meaning: "the thread's backend, and how many training and held-out examples the hospital holds",
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
    { parameters },
    'score-reply',
    'a finished model to score on a site’s files',
  ),
  'score-reply': evaluation('hospital', 'tooling', 'metrics of a finished model on a site’s files'),
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

/** Sizes that vector length rules refer to. */
export interface MessageSizes {
  /** The model's parameter count. */
  readonly parameters: number;
  /** Bins of the score histogram (0: none). */
  readonly histogramBins: number;
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
  switch (rule.length) {
    case 'parameters':
      return sizes.parameters;
    case 'histogram':
      return 2 * sizes.histogramBins;
    case 'client-state':
      return clientStateMaxBytes(sizes.parameters);
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
