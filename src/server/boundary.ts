import { sha256 } from '../common/hash.ts';
import {
  describeRaw,
  dtypeOf,
  EnvelopeError,
  openEnvelope,
  type DType,
  type TypedVector,
} from '../protocol/envelope.ts';
import {
  ERROR_CATEGORIES,
  hasControlCharacter,
  MAX_ERROR_TEXT,
  type ErrorReport,
} from '../protocol/error-report.ts';
import type { BackendInfo } from '../protocol/host-api.ts';
import {
  KINDS,
  kindLimits,
  ruleLength,
  type FieldType,
  type KindSpec,
  type MessageSizes,
  type ReplyKind,
} from '../protocol/kinds.ts';
import {
  MAX_METRICS,
  METRIC_NAME,
  RESERVED_METRIC_PREFIX,
  type EvaluateReply,
  type FitReply,
  type Metrics,
  type VectorName,
} from '../protocol/messages.ts';
import { metricRule, SUBGROUP_SEPARATOR } from '../protocol/metric-names.ts';
import { sourceSchema } from '../scenario/data-schema.ts';
import { backendSchema } from '../scenario/schema.ts';
import { admitParameters, firstNonFiniteJs } from './update-arena.ts';

/** A hospital's reply that the protocol does not admit; names the hospital and field, never a value. */
export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation';
  constructor(
    readonly hospital: string,
    readonly field: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`hospital ${hospital}: ${field} must be ${expected} (got ${got})`);
  }
}

/** Bounds on a count a reply carries. */
export interface CountBound {
  readonly min: number;
  readonly max: number;
}

/** A count a reply must carry exactly (the hospital's own holdings, known from setup). */
export const exactly = (n: number) => ({ min: n, max: n });

/** What the coordinator knows about one exchange, which its reply must match. */
export interface ReplyContract {
  readonly hospital: string;
  /** The reply kind the request asked for; an `error` may always come instead. */
  readonly kind: ReplyKind;
  readonly sizes: MessageSizes;
  /** Vectors the reply must carry, and with {@link optionalVectors} the only ones it may. */
  readonly vectors: readonly string[];
  /** Vectors the reply may carry besides (a hospital's client-state blob). */
  readonly optionalVectors?: readonly string[];
  /** Metrics the reply must carry (for example FedNova's `local_steps`). */
  readonly requiredMetrics?: readonly string[];
  /** Bounds on each count field, by name (`numExamples`, `train`, `test`). */
  readonly counts: Readonly<Record<string, CountBound>>;
  /** Most examples the hospital holds in all: bounds `train + test` of a setup reply. */
  readonly holds?: number;
  /** Hospitals a counts-by-hospital field must name, exactly. */
  readonly hospitals?: readonly string[];
  /** Files and folders of the hospital's own data that an error report may name. */
  readonly files?: readonly string[];
  /** The run's strategy never folds from the update arena: f32 parameters are scanned where they are, not copied. */
  readonly inPlace?: true;
  /** The exchange's own check of what the kind table cannot say (a secure-aggregation message's content); throws a {@link ProtocolViolation}. */
  readonly check?: (reply: AdmittedReply) => void;
}

/** A reply the boundary admitted: fields and vectors as the kind declares, copied into coordinator memory. */
export interface AdmittedReply {
  readonly kind: ReplyKind;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly vectors: ReadonlyMap<string, TypedVector>;
}

/** The boundary's verdict on one raw answer from a worker, with what the crossing record needs. */
export type Verdict =
  | {
      readonly status: 'admitted';
      readonly reply: AdmittedReply;
      readonly bytes: number;
      readonly sha256: string;
    }
  | {
      readonly status: 'error';
      readonly report: ErrorReport;
      readonly bytes: number;
      readonly sha256: string;
    }
  | { readonly status: 'rejected'; readonly violation: ProtocolViolation; readonly bytes: number };

/**
 * Checks one raw answer from a worker against the kind table and the exchange's contract: its size before
 * decoding, then that it is the kind asked for (or an error report), carries exactly the contract's vectors
 * with each one's type and length, exactly the kind's fields, counts within what the hospital holds and
 * metrics from the registry within their ranges. Nothing of a rejected answer is kept but its size.
 */
export function admit(raw: unknown, c: ReplyContract): Verdict {
  const bytes = raw instanceof Uint8Array ? raw.byteLength : 0;
  try {
    const limits = kindLimits(c.kind, c.sizes);
    const env = openEnvelope(raw, {
      maxBytes: Math.max(limits.maxBytes, kindLimits('error', c.sizes).maxBytes),
      maxJsonBytes: Math.max(limits.maxJsonBytes, KINDS.error.maxJsonBytes),
    });
    const hash = () => sha256(raw as Uint8Array);
    if (env.kind === 'error') {
      exactVectors(env.vectors, [], c.hospital);
      const report = admitErrorReport(exactFields(env.fields, KINDS.error, c.hospital).error, c);
      return { status: 'error', report, bytes, sha256: hash() };
    }
    if (env.kind !== c.kind) throw new ProtocolViolation(c.hospital, 'kind', c.kind, 'another kind');
    const spec: KindSpec = KINDS[c.kind];
    exactVectors(env.vectors, c.vectors, c.hospital, c.optionalVectors);
    for (const [name, v] of env.vectors) {
      const rule = spec.vectors[name];
      if (rule === undefined)
        throw new ProtocolViolation(
          c.hospital,
          'vectors',
          `only ${c.vectors.join(', ')}`,
          'an undeclared vector',
        );
      checkVector(
        v,
        rule.dtype,
        ruleLength(rule, c.sizes),
        `vectors.${name}`,
        c.hospital,
        rule.upTo,
        c.inPlace,
      );
    }
    const raw_ = exactFields(env.fields, spec, c.hospital);
    const fields: Record<string, unknown> = {};
    for (const [name, type] of Object.entries(spec.fields))
      fields[name] = admitField(type, name, raw_[name], c);
    crossChecks(fields, env.vectors, c);
    const reply: AdmittedReply = { kind: c.kind, fields, vectors: env.vectors };
    c.check?.(reply);
    return {
      status: 'admitted',
      reply,
      bytes,
      sha256: hash(),
    };
  } catch (e) {
    if (e instanceof EnvelopeError) {
      return {
        status: 'rejected',
        violation: new ProtocolViolation(c.hospital, e.field, e.expected, e.got),
        bytes,
      };
    }
    if (e instanceof ProtocolViolation) return { status: 'rejected', violation: e, bytes };
    // Whatever else a worker's bytes make the checks throw is still the worker's doing: a rejection, never a crash.
    return {
      status: 'rejected',
      violation: new ProtocolViolation(
        c.hospital,
        'message',
        'a well-formed message',
        'one the checks could not read',
      ),
      bytes,
    };
  }
}

/** An admitted fit reply in the strategies' terms. */
export function fitReplyOf(r: AdmittedReply): FitReply {
  const vectors: Partial<Record<VectorName, Float32Array>> = {};
  for (const [name, v] of r.vectors) vectors[name as VectorName] = v as Float32Array;
  return { vectors, numExamples: r.fields.numExamples as number, metrics: r.fields.metrics as Metrics };
}

/** An admitted evaluation reply (of any purpose), its histogram split into positives and negatives. */
export function evaluateReplyOf(r: AdmittedReply): EvaluateReply {
  const h = r.vectors.get('histogram');
  const c = r.vectors.get('confusion');
  const base = {
    numExamples: r.fields.numExamples as number,
    metrics: r.fields.metrics as Metrics,
    ...(c === undefined ? {} : { confusion: Array.from(c) }),
  };
  if (h === undefined) return base;
  const split = (from: number, bins: number) => ({
    positives: Array.from(h.subarray(from, from + bins)),
    negatives: Array.from(h.subarray(from + bins, from + 2 * bins)),
  });
  if (c === undefined) return { ...base, histogram: split(0, h.length / 2) };
  // A multi-class reply carries K one-vs-rest histograms end to end (K from its K × K confusion matrix).
  const classes = Math.round(Math.sqrt(c.length));
  const bins = h.length / (2 * classes);
  return { ...base, classHistograms: Array.from({ length: classes }, (_, k) => split(2 * k * bins, bins)) };
}

/** An admitted setup reply: the thread's report and the hospital's counts. */
export function setupReplyOf(r: AdmittedReply): { host: BackendInfo; train: number; test: number } {
  return r.fields as unknown as { host: BackendInfo; train: number; test: number };
}

function exactVectors(
  vectors: ReadonlyMap<string, TypedVector>,
  required: readonly string[],
  hospital: string,
  optional: readonly string[] = [],
): void {
  const allowed = [...required, ...optional];
  const expected =
    allowed.length === 0
      ? 'absent'
      : `only ${required.join(', ')}${optional.length === 0 ? '' : `${required.length === 0 ? '' : ', '}optionally ${optional.join(', ')}`}`;
  for (const name of vectors.keys()) {
    if (!allowed.includes(name))
      throw new ProtocolViolation(hospital, 'vectors', expected, 'an undeclared vector');
  }
  for (const name of required) {
    if (!vectors.has(name)) throw new ProtocolViolation(hospital, `vectors.${name}`, 'present', 'nothing');
  }
}

function checkVector(
  v: TypedVector,
  dtype: DType,
  length: number,
  field: string,
  hospital: string,
  upTo?: true,
  inPlace?: true,
): void {
  if (dtypeOf(v) !== dtype)
    throw new ProtocolViolation(hospital, field, `of type ${dtype}`, `type ${dtypeOf(v)}`);
  if (upTo === true ? v.length > length : v.length !== length)
    throw new ProtocolViolation(
      hospital,
      field,
      upTo === true ? `of length at most ${length}` : `of length ${length}`,
      upTo === true ? 'more' : `length ${v.length}`,
    );
  if (v instanceof Float32Array || v instanceof Float64Array) {
    const i =
      field === 'vectors.parameters' && v instanceof Float32Array && inPlace !== true
        ? admitParameters(v)
        : firstNonFiniteJs(v);
    if (i >= 0) {
      throw new ProtocolViolation(
        hospital,
        `${field}[${i}]`,
        'finite',
        Number.isNaN(v[i]!) ? 'NaN' : 'an infinity',
      );
    }
  }
}

function exactFields(
  fields: Readonly<Record<string, unknown>>,
  spec: KindSpec,
  hospital: string,
): Record<string, unknown> {
  const allowed = Object.keys(spec.fields);
  for (const k of Object.keys(fields)) {
    if (!allowed.includes(k))
      throw new ProtocolViolation(hospital, 'reply', `only ${allowed.join(', ')}`, 'an undeclared field');
  }
  for (const k of allowed) {
    if (!Object.hasOwn(fields, k)) throw new ProtocolViolation(hospital, k, 'present', 'nothing');
  }
  return fields as Record<string, unknown>;
}

function admitField(type: FieldType, name: string, v: unknown, c: ReplyContract): unknown {
  switch (type) {
    case 'count':
      return admitCount(v, name, c.counts[name] ?? { min: 0, max: 0 }, c.hospital);
    case 'metrics':
      return admitMetrics(v, c.hospital);
    case 'host-info':
      return admitHostInfo(v, c.hospital);
    case 'counts-by-hospital':
      return admitCountsByHospital(v, name, c);
    case 'source': {
      const parsed = sourceSchema.safeParse(v);
      if (!parsed.success) throw new ProtocolViolation(c.hospital, name, 'a data source', describeRaw(v));
      return parsed.data;
    }
    case 'error':
      return admitErrorReport(v, c);
    case 'config':
      throw new ProtocolViolation(c.hospital, name, 'absent (the coordinator sends it)', 'a field');
  }
}

function admitCount(v: unknown, field: string, bound: CountBound, hospital: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < bound.min || v > bound.max) {
    const expected =
      bound.min === bound.max ? `${bound.min}` : `an integer from ${bound.min} to ${bound.max}`;
    throw new ProtocolViolation(
      hospital,
      field,
      expected,
      typeof v === 'number' && Number.isSafeInteger(v) ? 'another integer' : describeRaw(v),
    );
  }
  return v;
}

function admitMetrics(v: unknown, hospital: string): Metrics {
  const obj = plainObject(v, hospital, 'metrics');
  const names = Object.keys(obj);
  if (names.length > MAX_METRICS) {
    throw new ProtocolViolation(
      hospital,
      'metrics',
      `at most ${MAX_METRICS} entries`,
      `${names.length} entries`,
    );
  }
  const out: Metrics = {};
  for (const name of names.sort()) {
    if (!METRIC_NAME.test(name)) {
      throw new ProtocolViolation(hospital, 'metrics', `named by ${METRIC_NAME}`, 'a name of another form');
    }
    if (name.startsWith(RESERVED_METRIC_PREFIX)) {
      throw new ProtocolViolation(
        hospital,
        `metrics.${name}`,
        `not named ${RESERVED_METRIC_PREFIX}… (the coordinator computes those)`,
        'a reserved name',
      );
    }
    const rule = metricRule(name);
    if (rule === undefined)
      throw new ProtocolViolation(
        hospital,
        `metrics.${name}`,
        'a metric of the protocol’s registry',
        'an unknown name',
      );
    const value = obj[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ProtocolViolation(hospital, `metrics.${name}`, 'a finite number', describeRaw(value));
    }
    if (value < rule.min || value > rule.max || (rule.integer === true && !Number.isInteger(value))) {
      const what = rule.integer === true ? 'an integer' : 'a number';
      throw new ProtocolViolation(
        hospital,
        `metrics.${name}`,
        `${what} from ${rule.min} to ${rule.max}`,
        'a value outside it',
      );
    }
    out[name] = value;
  }
  return out;
}

function admitHostInfo(v: unknown, hospital: string): BackendInfo {
  const obj = plainObject(v, hospital, 'host');
  for (const k of Object.keys(obj)) {
    if (!['backend', 'tfjs'].includes(k))
      throw new ProtocolViolation(hospital, 'host', 'only backend, tfjs', 'an undeclared field');
  }
  const { backend, tfjs } = obj;
  const backends = backendSchema.options.filter((b) => b !== 'auto') as readonly string[];
  if (typeof backend !== 'string' || !backends.includes(backend)) {
    throw new ProtocolViolation(
      hospital,
      'host.backend',
      `one of ${backends.join(', ')}`,
      describeRaw(backend),
    );
  }
  if (typeof tfjs !== 'string' || !/^(unused|\d{1,4}\.\d{1,4}\.\d{1,4})$/.test(tfjs)) {
    throw new ProtocolViolation(hospital, 'host.tfjs', 'a version number or unused', describeRaw(tfjs));
  }
  return { backend, tfjs };
}

function admitCountsByHospital(v: unknown, field: string, c: ReplyContract): Record<string, number> {
  const obj = plainObject(v, c.hospital, field);
  const ids = c.hospitals ?? [];
  const keys = Object.keys(obj);
  if (keys.length !== ids.length || !ids.every((id) => Object.hasOwn(obj, id))) {
    throw new ProtocolViolation(
      c.hospital,
      field,
      `a count for each of ${ids.length} hospitals`,
      `${keys.length} entries`,
    );
  }
  return Object.fromEntries(
    ids.map((id) => [
      id,
      admitCount(obj[id], `${field}.${id}`, c.counts[`${field}.${id}`] ?? { min: 0, max: 0 }, c.hospital),
    ]),
  );
}

const ERROR_FIELDS = ['category', 'file', 'row', 'column', 'field', 'expected'];

function admitErrorReport(v: unknown, c: ReplyContract): ErrorReport {
  const obj = plainObject(v, c.hospital, 'error');
  for (const k of Object.keys(obj)) {
    if (!ERROR_FIELDS.includes(k))
      throw new ProtocolViolation(
        c.hospital,
        'error',
        `only ${ERROR_FIELDS.join(', ')}`,
        'an undeclared field',
      );
  }
  const { category, row } = obj;
  if (typeof category !== 'string' || !Object.hasOwn(ERROR_CATEGORIES, category)) {
    throw new ProtocolViolation(c.hospital, 'error.category', 'a declared category', describeRaw(category));
  }
  const report: Record<string, unknown> = { category };
  if (row !== undefined)
    report.row = admitCount(row, 'error.row', { min: 0, max: Number.MAX_SAFE_INTEGER }, c.hospital);
  for (const k of ['file', 'column', 'field', 'expected'] as const) {
    const s = obj[k];
    if (s === undefined) continue;
    if (typeof s !== 'string' || s.length > MAX_ERROR_TEXT || hasControlCharacter(s)) {
      throw new ProtocolViolation(
        c.hospital,
        `error.${k}`,
        `one line of at most ${MAX_ERROR_TEXT} characters`,
        describeRaw(s),
      );
    }
    report[k] = s;
  }
  const file = report.file as string | undefined;
  if (file !== undefined && !(c.files ?? []).some((f) => file === f || file.startsWith(`${f}/`))) {
    throw new ProtocolViolation(
      c.hospital,
      'error.file',
      "one of the hospital's declared files",
      'another path',
    );
  }
  if (
    category !== 'bad-input' &&
    category !== 'backend-unavailable' &&
    (report.expected !== undefined || file !== undefined)
  ) {
    throw new ProtocolViolation(c.hospital, 'error', `only a category and field for ${category}`, 'more');
  }
  return report as unknown as ErrorReport;
}

function crossChecks(
  fields: Record<string, unknown>,
  vectors: ReadonlyMap<string, TypedVector>,
  c: ReplyContract,
): void {
  const n = fields.numExamples;
  const metrics = fields.metrics as Metrics | undefined;
  for (const name of c.requiredMetrics ?? []) {
    if (metrics === undefined || !(name in metrics))
      throw new ProtocolViolation(c.hospital, `metrics.${name}`, 'present', 'nothing');
  }
  if (typeof n === 'number' && metrics !== undefined) {
    for (const [name, value] of Object.entries(metrics)) {
      if (name.startsWith(`n${SUBGROUP_SEPARATOR}`) && value > n) {
        throw new ProtocolViolation(c.hospital, `metrics.${name}`, 'at most numExamples', 'more');
      }
    }
  }
  const histogram = vectors.get('histogram');
  if (histogram !== undefined) {
    // One histogram per class for a multi-class outcome (one-vs-rest), each over every example.
    const blocks = Math.max(1, c.sizes.classes ?? 0);
    const size = histogram.length / blocks;
    for (let b = 0; b < blocks; b++) {
      let total = 0;
      for (let i = b * size; i < (b + 1) * size; i++) total += histogram[i]!;
      if (total !== n)
        throw new ProtocolViolation(
          c.hospital,
          'vectors.histogram',
          blocks === 1 ? 'counts adding up to numExamples' : "each class's counts adding up to numExamples",
          'another total',
        );
    }
  }
  const confusion = vectors.get('confusion');
  if (confusion !== undefined) {
    let total = metrics?.confusion_suppressed ?? 0;
    for (let i = 0; i < confusion.length; i++) total += confusion[i]!;
    if (total !== n)
      throw new ProtocolViolation(
        c.hospital,
        'vectors.confusion',
        'counts adding up to numExamples with confusion_suppressed',
        'another total',
      );
  }
  if (c.holds !== undefined && typeof fields.train === 'number' && typeof fields.test === 'number') {
    if (fields.train + fields.test > c.holds) {
      throw new ProtocolViolation(
        c.hospital,
        'train + test',
        `at most the ${c.holds} records the hospital holds`,
        'more',
      );
    }
  }
}

function plainObject(v: unknown, hospital: string, field: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new ProtocolViolation(hospital, field, 'an object', describeRaw(v));
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new ProtocolViolation(hospital, field, 'a plain object', describeRaw(v));
  }
  return v as Record<string, unknown>;
}
