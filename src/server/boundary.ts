import {
  MAX_METRICS,
  METRIC_NAME,
  RESERVED_METRIC_PREFIX,
  type EvaluateReply,
  type ScoreHistogram,
  type FitReply,
  type Metrics,
  type VectorName,
} from '../protocol/messages.ts';

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

/** What the boundary checks a reply against. */
export interface BoundaryContract {
  readonly hospital: string;
  /** Length of every declared vector: the model's parameter count. */
  readonly parameterLength: number;
  /** Vectors a fit reply must carry, and the only ones it may. */
  readonly vectors: readonly VectorName[];
  /** Metrics a fit reply must carry because the strategy needs them (e.g. FedNova's local_steps). */
  readonly metrics?: readonly string[];
}

/** Admits a fit reply that carries exactly the declared vectors, a positive integer count and valid metrics. */
export function admitFitReply(raw: unknown, c: BoundaryContract): FitReply {
  const obj = plainObject(raw, c.hospital, 'fit reply');
  exactKeys(obj, ['vectors', 'numExamples', 'metrics'], c.hospital, 'fit reply');
  const vectorsIn = plainObject(obj.vectors, c.hospital, 'vectors');
  exactKeys(vectorsIn, c.vectors, c.hospital, 'vectors');
  const vectors: Partial<Record<VectorName, Float32Array>> = {};
  for (const name of c.vectors) vectors[name] = admitVector(vectorsIn[name], c, `vectors.${name}`);
  const metrics = admitMetrics(obj.metrics, c.hospital);
  for (const name of c.metrics ?? []) {
    if (!(name in metrics)) throw new ProtocolViolation(c.hospital, `metrics.${name}`, 'present', 'nothing');
  }
  return { vectors, numExamples: admitCount(obj.numExamples, c.hospital, 1), metrics };
}

/**
 * Admits an evaluation reply: a non-negative integer count and valid metrics and, when `histogramBins` > 0, a
 * score histogram of that many non-negative integer counts per class adding up to the count; nothing else.
 */
export function admitEvaluateReply(raw: unknown, hospital: string, histogramBins = 0): EvaluateReply {
  const obj = plainObject(raw, hospital, 'evaluate reply');
  const fields = histogramBins > 0 ? ['numExamples', 'metrics', 'histogram'] : ['numExamples', 'metrics'];
  exactKeys(obj, fields, hospital, 'evaluate reply');
  const numExamples = admitCount(obj.numExamples, hospital, 0);
  const metrics = admitMetrics(obj.metrics, hospital);
  return histogramBins > 0
    ? { numExamples, metrics, histogram: admitHistogram(obj.histogram, hospital, numExamples, histogramBins) }
    : { numExamples, metrics };
}

function admitHistogram(v: unknown, hospital: string, numExamples: number, bins: number): ScoreHistogram {
  const obj = plainObject(v, hospital, 'histogram');
  exactKeys(obj, ['positives', 'negatives'], hospital, 'histogram');
  const counts = (name: 'positives' | 'negatives'): number[] => {
    const field = `histogram.${name}`;
    const list = obj[name];
    if (!Array.isArray(list)) throw new ProtocolViolation(hospital, field, 'an array', describe(list));
    if (list.length !== bins) {
      throw new ProtocolViolation(hospital, field, `${bins} counts`, `an array of ${list.length}`);
    }
    list.forEach((c: unknown, k) => {
      if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0) {
        throw new ProtocolViolation(hospital, `${field}[${k}]`, 'an integer ≥ 0', describe(c));
      }
    });
    return [...(list as number[])];
  };
  const positives = counts('positives');
  const negatives = counts('negatives');
  const total = [...positives, ...negatives].reduce((a, b) => a + b, 0);
  if (total !== numExamples) {
    throw new ProtocolViolation(hospital, 'histogram', `counts adding up to numExamples`, 'another total');
  }
  return { positives, negatives };
}

function admitVector(v: unknown, c: BoundaryContract, field: string): Float32Array {
  if (!(v instanceof Float32Array))
    throw new ProtocolViolation(c.hospital, field, 'a Float32Array', describe(v));
  if (v.length !== c.parameterLength) {
    throw new ProtocolViolation(c.hospital, field, `of length ${c.parameterLength}`, `length ${v.length}`);
  }
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) {
      const kind = Number.isNaN(v[i]!) ? 'NaN' : 'an infinity';
      throw new ProtocolViolation(c.hospital, `${field}[${i}]`, 'finite', kind);
    }
  }
  return v;
}

function admitCount(v: unknown, hospital: string, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new ProtocolViolation(hospital, 'numExamples', `an integer ≥ ${min}`, describe(v));
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
  for (const name of names) {
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
    const value = obj[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ProtocolViolation(hospital, `metrics.${name}`, 'a finite number', describe(value));
    }
    out[name] = value;
  }
  return out;
}

function plainObject(v: unknown, hospital: string, field: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new ProtocolViolation(hospital, field, 'an object', describe(v));
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new ProtocolViolation(hospital, field, 'a plain object', describe(v));
  }
  return v as Record<string, unknown>;
}

function exactKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  hospital: string,
  field: string,
): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) {
      throw new ProtocolViolation(hospital, field, `only ${allowed.join(', ')}`, 'an undeclared field');
    }
  }
  for (const k of allowed) {
    if (!(k in obj)) throw new ProtocolViolation(hospital, `${field}.${k}`, 'present', 'nothing');
  }
}

/** The type of a value, never the value itself. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'number')
    return Number.isNaN(v)
      ? 'NaN'
      : Number.isFinite(v)
        ? 'a non-integer or out-of-range number'
        : 'an infinity';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `an object of ${Object.keys(v).length} keys`;
  return `a ${typeof v}`;
}
