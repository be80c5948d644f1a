/** Bytes and messages of a set of crossings: what a round, a baseline or a report counts. */
export interface ByteTotals {
  toHospitals: number;
  toCoordinator: number;
  /** Bytes of crossings that crossed a national border, both directions. */
  crossBorder: number;
  messages: number;
  /** Replies the boundary rejected or a policy had discarded. */
  rejected: number;
  /** Error reports: requests a hospital could not serve. */
  errors: number;
  /** Requests not sent because a policy forbids them or their replies (neither bytes nor messages). */
  blocked: number;
}

/** What {@link count} reads of a crossing (as recorded, or as read back from crossings.jsonl). */
export interface CountedCrossing {
  readonly direction: string;
  readonly kind: string;
  readonly bytes: number;
  readonly crossesBorder: boolean;
  readonly admitted: boolean;
  readonly sent?: boolean;
}

/** Totals of no crossings. */
export const noBytes = (): ByteTotals => ({
  toHospitals: 0,
  toCoordinator: 0,
  crossBorder: 0,
  messages: 0,
  rejected: 0,
  errors: 0,
  blocked: 0,
});

/** Adds one crossing to byte totals. */
export function count(t: ByteTotals, e: CountedCrossing): void {
  if (e.sent === false) {
    t.blocked++;
    return;
  }
  if (e.direction === 'to-hospital') t.toHospitals += e.bytes;
  else t.toCoordinator += e.bytes;
  if (e.crossesBorder) t.crossBorder += e.bytes;
  t.messages++;
  if (!e.admitted) t.rejected++;
  if (e.kind === 'error') t.errors++;
}
