import { createHash } from 'node:crypto';
import { canonicalJson } from '../common/hash.ts';

/** Which way a message crossed the worker boundary. */
export type Direction = 'to-hospital' | 'to-coordinator';

/** What a crossing carried. */
export type CrossingKind =
  | 'setup'
  | 'global-model'
  | 'control-variate'
  | 'fit-instructions'
  | 'fit-reply'
  | 'evaluate-instructions'
  | 'evaluate-reply'
  | 'local-only-instructions'
  | 'local-only-reply'
  | 'pooled-reply'
  | 'pooled-records'
  | 'error';

/** What a crossing served: the federation itself, or a baseline run beside it for comparison. */
export type Purpose = 'federation' | 'local-only' | 'pooled';

/** The purpose of a kind of crossing. */
export function purposeOf(kind: CrossingKind): Purpose {
  return kind.startsWith('local-only') ? 'local-only' : kind.startsWith('pooled') ? 'pooled' : 'federation';
}

/** One message across the boundary between the coordinator and a hospital's worker. */
export interface Crossing {
  /** Round it belongs to; 0 for setup and baselines. */
  readonly round: number;
  readonly hospital: string;
  /** Country of the hospital. */
  readonly country: string;
  readonly direction: Direction;
  readonly kind: CrossingKind;
  readonly purpose: Purpose;
  /** Serialised payload bytes: vectors' bytes plus the UTF-8 canonical JSON of everything else. */
  readonly bytes: number;
  /** SHA-256 of the same serialisation. */
  readonly sha256: string;
  /** True when the hospital's country differs from the coordinator's site (always, for a neutral site). */
  readonly crossesBorder: boolean;
  /** False when the boundary rejected the message. */
  readonly admitted: boolean;
  /** Why it was rejected: field and expectation, never a value. */
  readonly reason?: string;
  /** Set on records a real deployment could not send without breaking data sovereignty (the pooled oracle). */
  readonly sovereigntyViolation?: true;
}

/** Totals of bytes crossed. */
export interface ByteTotals {
  toHospitals: number;
  toCoordinator: number;
  /** Bytes of crossings that crossed a national border, both directions. */
  crossBorder: number;
  messages: number;
  rejected: number;
}

/** The record of every crossing, in the order the coordinator handled them. */
export class Ledger {
  readonly #entries: Crossing[] = [];
  readonly #site: string;
  readonly #countryOf: ReadonlyMap<string, string>;
  #flushed = 0;
  /** A broadcast is one immutable buffer sent to many hospitals: measure and hash it once. */
  readonly #views = new WeakMap<ArrayBufferView, { bytes: number; sha256: string }>();

  /** `site` is the coordinator's country code or 'neutral'. */
  constructor(site: string, countryOf: ReadonlyMap<string, string>) {
    this.#site = site;
    this.#countryOf = countryOf;
  }

  /** Records one message; `payload` is measured and hashed as it was serialised. */
  record(
    round: number,
    hospital: string,
    direction: Direction,
    kind: CrossingKind,
    payload: unknown,
    verdict: { admitted: boolean; reason?: string } = { admitted: true },
  ): Crossing {
    const country = this.#countryOf.get(hospital);
    if (country === undefined) throw new Error(`ledger: unknown hospital ${hospital}`);
    const { bytes, sha256 } = ArrayBuffer.isView(payload) ? this.#measureView(payload) : measure(payload);
    const entry: Crossing = {
      round,
      hospital,
      country,
      direction,
      kind,
      purpose: purposeOf(kind),
      bytes,
      sha256,
      crossesBorder: this.#site === 'neutral' || this.#site !== country,
      admitted: verdict.admitted,
      ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
    };
    this.#entries.push(entry);
    return entry;
  }

  /**
   * Records the patient records a pooled oracle used from `hospital`: nothing crossed in the simulation, but a
   * real deployment would have had to send these bytes out of the hospital.
   */
  recordPooledRecords(hospital: string, bytes: number): Crossing {
    const entry: Crossing = {
      ...this.record(0, hospital, 'to-coordinator', 'pooled-records', {}),
      bytes,
      sha256: '',
      sovereigntyViolation: true,
    };
    this.#entries[this.#entries.length - 1] = entry;
    return entry;
  }

  #measureView(view: ArrayBufferView): { bytes: number; sha256: string } {
    let m = this.#views.get(view);
    if (m === undefined) {
      m = measure(view);
      this.#views.set(view, m);
    }
    return m;
  }

  /** Every crossing so far. */
  get entries(): readonly Crossing[] {
    return this.#entries;
  }

  /** Crossings recorded since the previous call. */
  takeUnflushed(): readonly Crossing[] {
    const out = this.#entries.slice(this.#flushed);
    this.#flushed = this.#entries.length;
    return out;
  }

  /** Byte totals of the crossings that served `purpose` (the federation unless told), in one round or all. */
  totals(round?: number, purpose: Purpose = 'federation'): ByteTotals {
    const t: ByteTotals = { toHospitals: 0, toCoordinator: 0, crossBorder: 0, messages: 0, rejected: 0 };
    for (const e of this.#entries) {
      if (e.purpose !== purpose) continue;
      if (round !== undefined && e.round !== round) continue;
      if (e.direction === 'to-hospital') t.toHospitals += e.bytes;
      else t.toCoordinator += e.bytes;
      if (e.crossesBorder) t.crossBorder += e.bytes;
      t.messages++;
      if (!e.admitted) t.rejected++;
    }
    return t;
  }
}

/**
 * Bytes and hash of a payload: typed arrays as their raw bytes, in sorted-key order, then everything else as
 * canonical JSON (a lone typed array adds no JSON at all).
 */
export function measure(payload: unknown): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  let bytes = 0;
  const rest = stripViews(payload, (view) => {
    const u8 = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    h.update(u8);
    bytes += u8.byteLength;
  });
  const text = rest === undefined ? '' : canonicalJson(rest);
  h.update(text, 'utf8');
  bytes += Buffer.byteLength(text, 'utf8');
  return { bytes, sha256: h.digest('hex') };
}

function stripViews(value: unknown, onView: (v: ArrayBufferView) => void): unknown {
  if (ArrayBuffer.isView(value)) {
    onView(value);
    return undefined;
  }
  if (Array.isArray(value)) return value.map((v) => stripViews(v, onView));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort())
      out[k] = stripViews((value as Record<string, unknown>)[k], onView);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}
