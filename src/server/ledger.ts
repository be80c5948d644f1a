import { KINDS, type DataClass, type Direction, type Kind, type Purpose } from '../protocol/kinds.ts';

export type { DataClass, Direction, Kind as CrossingKind, Purpose };

/** One message across the boundary between the coordinator and a hospital's worker. */
export interface Crossing {
  /** Round it belongs to; 0 for setup and baselines. */
  readonly round: number;
  readonly hospital: string;
  /** Country of the hospital. */
  readonly country: string;
  readonly direction: Direction;
  readonly kind: Kind;
  readonly purpose: Purpose;
  /** What it carried, as the jurisdiction policies weigh it (from the kind table, never from the sender). */
  readonly dataClass: DataClass;
  /** Bytes of the message as it crossed (its envelope). */
  readonly bytes: number;
  /** SHA-256 of those bytes; absent for a rejected message, which is measured but not hashed. */
  readonly sha256?: string;
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
  /** Replies the boundary rejected. */
  rejected: number;
  /** Error reports: requests a hospital could not serve. */
  errors: number;
}

/** A message's size and, unless it was rejected, its hash. */
export interface Measured {
  readonly bytes: number;
  readonly sha256?: string;
}

/** The record of every crossing, in the order the coordinator handled them. */
export class Ledger {
  readonly #entries: Crossing[] = [];
  readonly #site: string;
  readonly #countryOf: ReadonlyMap<string, string>;
  #flushed = 0;

  /** `site` is the coordinator's country code or 'neutral'. */
  constructor(site: string, countryOf: ReadonlyMap<string, string>) {
    this.#site = site;
    this.#countryOf = countryOf;
  }

  /**
   * Records one message of `kind`; its direction and data class come from the kind table, its purpose too
   * unless given (an error report serves the purpose of the request it answers).
   */
  record(
    round: number,
    hospital: string,
    kind: Kind,
    message: Measured,
    verdict: { admitted: boolean; reason?: string; purpose?: Purpose } = { admitted: true },
  ): Crossing {
    const country = this.#countryOf.get(hospital);
    if (country === undefined) throw new Error(`ledger: unknown hospital ${hospital}`);
    const spec = KINDS[kind];
    const entry: Crossing = {
      round,
      hospital,
      country,
      direction: spec.direction,
      kind,
      purpose: verdict.purpose ?? spec.purpose,
      dataClass: spec.dataClass,
      bytes: message.bytes,
      ...(message.sha256 === undefined ? {} : { sha256: message.sha256 }),
      crossesBorder: this.#site === 'neutral' || this.#site !== country,
      admitted: verdict.admitted,
      ...(verdict.reason === undefined ? {} : { reason: verdict.reason }),
      ...(kind === 'pooled-records' ? { sovereigntyViolation: true as const } : {}),
    };
    this.#entries.push(entry);
    return entry;
  }

  /**
   * Records the patient records a pooled oracle used from `hospital`: nothing crossed in the simulation, but a
   * real deployment would have had to send these bytes out of the hospital.
   */
  recordPooledRecords(hospital: string, bytes: number): Crossing {
    return this.record(0, hospital, 'pooled-records', { bytes });
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
    const t: ByteTotals = {
      toHospitals: 0,
      toCoordinator: 0,
      crossBorder: 0,
      messages: 0,
      rejected: 0,
      errors: 0,
    };
    for (const e of this.#entries) {
      if (e.purpose !== purpose) continue;
      if (round !== undefined && e.round !== round) continue;
      if (e.direction === 'to-hospital') t.toHospitals += e.bytes;
      else t.toCoordinator += e.bytes;
      if (e.crossesBorder) t.crossBorder += e.bytes;
      t.messages++;
      if (!e.admitted) t.rejected++;
      if (e.kind === 'error') t.errors++;
    }
    return t;
  }
}
