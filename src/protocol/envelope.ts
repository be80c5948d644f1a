import { createHash, type Hash } from 'node:crypto';
import { canonicalJson } from '../common/hash.ts';

/** Element types a message's vectors may hold. */
export type DType = 'f32' | 'f64' | 'u32' | 'u8';
/** A vector of one of the {@link DType}s. */
export type TypedVector = Float32Array | Float64Array | Uint32Array | Uint8Array;

const ELEMENT_BYTES: Readonly<Record<DType, number>> = { f32: 4, f64: 8, u32: 4, u8: 1 };
const CONSTRUCTORS = {
  f32: Float32Array,
  f64: Float64Array,
  u32: Uint32Array,
  u8: Uint8Array,
} as const;
/** `FMD1` read as a little-endian uint32: the last four bytes of every envelope. */
const MAGIC = 0x31444d46;
/** JSON length (uint32) and magic (uint32) at the end of every envelope. */
const TRAILER_BYTES = 8;
/** Each vector starts at a multiple of this, so every element type is aligned. */
const ALIGN = 8;

/**
 * One message across the worker boundary, as bytes: the vectors end to end (each padded to 8 bytes), then
 * UTF-8 JSON naming the kind, the vectors (name, type, length, in order) and the message's other fields, then
 * the JSON's length and a magic number. A receiver can check the size before reading anything, and a
 * broadcast's vectors are hashed once however many recipients get their own copy.
 */
export interface Envelope {
  readonly kind: string;
  /** Every JSON field besides `kind` and `vectors`, as parsed; untrusted until a boundary admits it. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** Copies of the vectors, in coordinator- or worker-owned memory of exactly their length. */
  readonly vectors: ReadonlyMap<string, TypedVector>;
}

/** A message that is not a well-formed envelope; names the part and what was expected, never a value. */
export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(`${field} must be ${expected} (got ${got})`);
  }
}

/** The dtype of a typed vector. */
export function dtypeOf(v: TypedVector): DType {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Uint32Array) return 'u32';
  return 'u8';
}

const padded = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/**
 * The vectors of a message laid out once: seal it with different JSON fields for each recipient, each getting
 * its own copy of the bytes; the hash of the vectors is computed once and continued per recipient.
 */
export class EnvelopeBody {
  readonly #region: Uint8Array;
  readonly #table: readonly (readonly [string, DType, number])[];
  #hash: Hash | undefined;

  constructor(vectors: readonly (readonly [string, TypedVector])[]) {
    const size = vectors.reduce((s, [, v]) => s + padded(v.byteLength), 0);
    this.#region = new Uint8Array(size);
    let at = 0;
    for (const [, v] of vectors) {
      this.#region.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), at);
      at += padded(v.byteLength);
    }
    this.#table = vectors.map(([name, v]) => [name, dtypeOf(v), v.length] as const);
  }

  /** A fresh envelope of `kind` with these vectors and `fields`, and the SHA-256 of its bytes. */
  seal(kind: string, fields: Readonly<Record<string, unknown>> = {}): { bytes: Uint8Array; sha256: string } {
    const { bytes, tail } = this.#assemble(kind, fields);
    this.#hash ??= createHash('sha256').update(this.#region);
    return { bytes, sha256: this.#hash.copy().update(tail).digest('hex') };
  }

  /** Like {@link seal} without the hash, for a sender that does not record its messages. */
  bytes(kind: string, fields: Readonly<Record<string, unknown>> = {}): Uint8Array {
    return this.#assemble(kind, fields).bytes;
  }

  #assemble(
    kind: string,
    fields: Readonly<Record<string, unknown>>,
  ): { bytes: Uint8Array; tail: Uint8Array } {
    if ('kind' in fields || 'vectors' in fields)
      throw new Error('envelope fields may not be named kind or vectors');
    const json = Buffer.from(canonicalJson({ ...fields, kind, vectors: this.#table }), 'utf8');
    const bytes = new Uint8Array(this.#region.byteLength + json.byteLength + TRAILER_BYTES);
    bytes.set(this.#region, 0);
    bytes.set(json, this.#region.byteLength);
    const trailer = new DataView(bytes.buffer, bytes.byteLength - TRAILER_BYTES, TRAILER_BYTES);
    trailer.setUint32(0, json.byteLength, true);
    trailer.setUint32(4, MAGIC, true);
    return { bytes, tail: bytes.subarray(this.#region.byteLength) };
  }
}

/** A one-off envelope: `kind`, its vectors and its other fields. */
export function encodeEnvelope(
  kind: string,
  fields: Readonly<Record<string, unknown>>,
  vectors: readonly (readonly [string, TypedVector])[] = [],
): Uint8Array {
  return new EnvelopeBody(vectors).bytes(kind, fields);
}

/** Most bytes an envelope may have, and most bytes of its JSON part. */
export interface EnvelopeLimits {
  readonly maxBytes: number;
  readonly maxJsonBytes: number;
}

/**
 * Checks that `raw` is an envelope within `limits` and opens it: its size is checked before anything is
 * decoded, the JSON part before it is parsed, and every vector is copied out of the message's memory. A
 * buffer the sender could still reach (shared memory) or a view over a larger buffer is refused unread.
 */
export function openEnvelope(raw: unknown, limits: EnvelopeLimits): Envelope {
  if (!(raw instanceof Uint8Array))
    throw new EnvelopeError('message', 'a Uint8Array envelope', describeRaw(raw));
  if (!(raw.buffer instanceof ArrayBuffer)) {
    throw new EnvelopeError('message', 'bytes the sender no longer holds', 'shared memory');
  }
  if (raw.byteOffset !== 0 || raw.byteLength !== raw.buffer.byteLength) {
    throw new EnvelopeError('message', 'a view of its whole buffer', 'a view over a larger buffer');
  }
  if (raw.byteLength > limits.maxBytes) {
    throw new EnvelopeError('message', `at most ${limits.maxBytes} bytes`, `${raw.byteLength} bytes`);
  }
  if (raw.byteLength < TRAILER_BYTES) throw new EnvelopeError('message', 'an envelope', 'too few bytes');
  const trailer = new DataView(raw.buffer, raw.byteLength - TRAILER_BYTES, TRAILER_BYTES);
  if (trailer.getUint32(4, true) !== MAGIC) throw new EnvelopeError('message', 'an envelope', 'other bytes');
  const jsonBytes = trailer.getUint32(0, true);
  if (jsonBytes > limits.maxJsonBytes || jsonBytes > raw.byteLength - TRAILER_BYTES) {
    throw new EnvelopeError('message JSON', `at most ${limits.maxJsonBytes} bytes`, `${jsonBytes} bytes`);
  }
  const regionBytes = raw.byteLength - TRAILER_BYTES - jsonBytes;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw.buffer, regionBytes, jsonBytes).toString('utf8'));
  } catch {
    throw new EnvelopeError('message JSON', 'valid JSON', 'text that does not parse');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new EnvelopeError('message JSON', 'an object', describeRaw(parsed));
  }
  const { kind, vectors: table, ...fields } = parsed as Record<string, unknown>;
  if (typeof kind !== 'string') throw new EnvelopeError('kind', 'a string', describeRaw(kind));
  return { kind, fields, vectors: readVectors(raw, table, regionBytes) };
}

function readVectors(raw: Uint8Array, table: unknown, regionBytes: number): Map<string, TypedVector> {
  if (!Array.isArray(table)) throw new EnvelopeError('vectors', 'a list', describeRaw(table));
  const out = new Map<string, TypedVector>();
  let at = 0;
  table.forEach((entry: unknown, i) => {
    const where = `vectors[${i}]`;
    if (!Array.isArray(entry) || entry.length !== 3) {
      throw new EnvelopeError(where, '[name, type, length]', describeRaw(entry));
    }
    const [name, dtype, length] = entry as unknown[];
    if (typeof name !== 'string' || !/^[a-z][a-z0-9-]{0,31}$/.test(name) || out.has(name)) {
      throw new EnvelopeError(`${where} name`, 'a distinct vector name', 'another name');
    }
    if (typeof dtype !== 'string' || !Object.hasOwn(ELEMENT_BYTES, dtype)) {
      throw new EnvelopeError(`vectors.${name}`, 'of type f32, f64, u32 or u8', 'another type');
    }
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new EnvelopeError(`vectors.${name}`, 'of a length ≥ 0', 'another length');
    }
    const bytes = length * ELEMENT_BYTES[dtype as DType];
    if (at + padded(bytes) > regionBytes) {
      throw new EnvelopeError(`vectors.${name}`, 'within the message', 'a length past its end');
    }
    const copy = raw.buffer.slice(at, at + bytes) as ArrayBuffer;
    out.set(name, new CONSTRUCTORS[dtype as DType](copy));
    at += padded(bytes);
  });
  if (at !== regionBytes) throw new EnvelopeError('vectors', 'filling the message', 'bytes left over');
  return out;
}

/** Bytes an envelope needs at most for vectors of these types and lengths and JSON of `maxJsonBytes`. */
export function envelopeLimit(
  vectors: readonly (readonly [DType, number])[],
  maxJsonBytes: number,
): EnvelopeLimits {
  const region = vectors.reduce((s, [dtype, n]) => s + padded(n * ELEMENT_BYTES[dtype]), 0);
  return { maxBytes: region + maxJsonBytes + TRAILER_BYTES, maxJsonBytes };
}

/** The type of a value, never the value itself. */
export function describeRaw(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (typeof v === 'number')
    return Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? 'a number out of range' : 'an infinity';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}
