import type { Totals } from './events.ts';

/** The fields of a crossing record that the totals read (crossings.jsonl lines and ledger entries alike). */
export interface CrossingLike {
  readonly direction: string;
  readonly purpose?: string;
  readonly bytes: number;
  readonly crossesBorder: boolean;
  readonly admitted?: boolean;
}

/** Running totals of the federation's crossings, counted the way the ledger counts them for the manifest. */
export class Tally {
  #t = { toHospitals: 0, toCoordinator: 0, crossBorder: 0, messages: 0, borderMessages: 0, rejected: 0 };

  /** Adds the federation's crossings among `crossings` (baselines' are left out, as in the manifest). */
  add(crossings: readonly CrossingLike[]): void {
    for (const c of crossings) {
      if ((c.purpose ?? 'federation') !== 'federation') continue;
      if (c.direction === 'to-hospital') this.#t.toHospitals += c.bytes;
      else this.#t.toCoordinator += c.bytes;
      if (c.crossesBorder) {
        this.#t.crossBorder += c.bytes;
        this.#t.borderMessages++;
      }
      this.#t.messages++;
      if (c.admitted === false) this.#t.rejected++;
    }
  }

  get totals(): Totals {
    return { ...this.#t };
  }
}

/** The manifest's byte totals in the feed's form; border messages are not in the manifest, so they come along. */
export function manifestTotals(
  bytes: {
    toHospitals: number;
    toCoordinator: number;
    crossBorder: number;
    messages?: number;
    rejected?: number;
  },
  borderMessages: number,
): Totals {
  return {
    toHospitals: bytes.toHospitals,
    toCoordinator: bytes.toCoordinator,
    crossBorder: bytes.crossBorder,
    messages: bytes.messages ?? 0,
    borderMessages,
    rejected: bytes.rejected ?? 0,
  };
}
