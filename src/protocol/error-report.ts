/**
 * What may cross the boundary when a worker cannot serve a request: one of a fixed set of categories and,
 * for bad input, where the problem is as fedmed's own validation code names it (file, row, column, field,
 * and what was expected there, written never to include a value). Any other text stays in the worker: it
 * goes to the hospital's own log when the scenario enables one.
 */
export const ERROR_CATEGORIES = {
  'bad-input': 'cannot read or use its data or configuration',
  'backend-unavailable': 'cannot load the training backend',
  failed: 'failed to carry out the request (an error inside its worker)',
  oversized: "produced a reply larger than the protocol's limit",
  refused: 'refused the instructions',
  'not-hosted': 'is not hosted by the worker thread it was sent to',
  injected: 'failed on purpose (a test fault)',
  declined: 'declined the round (an injected dropout)',
  'privacy-budget': 'declined the round: its sample-level differential-privacy budget is spent',
} as const;

/** A category of worker error. */
export type ErrorCategory = keyof typeof ERROR_CATEGORIES;

/** Starts the field of a `refused` report by which a hospital names the rule of its own policy it refused under. */
export const REFUSAL_FIELD_PREFIX = 'jurisdiction:';

/** Longest text of any field of an error report. */
export const MAX_ERROR_TEXT = 200;

/** A worker's error as it crosses the boundary. */
export interface ErrorReport {
  readonly category: ErrorCategory;
  /** File of the hospital's own data, as its scenario names it (or a file inside a declared folder). */
  readonly file?: string;
  /** 1-based data row (0: the header). */
  readonly row?: number;
  /** Column as the hospital's file spells it. */
  readonly column?: string;
  /** Common-data-model field, scenario field or protocol field concerned. */
  readonly field?: string;
  /** What fedmed's validation expected there. */
  readonly expected?: string;
}

/** True when `s` holds a control character (a line break, a NUL, …). */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** `s` with every control character replaced by a space. */
export function withoutControlCharacters(s: string): string {
  let out = '';
  for (const ch of s) out += hasControlCharacter(ch) ? ' ' : ch;
  return out;
}

/** The one-line message fedmed prints for an admitted report about `hospital`. */
export function describeError(hospital: string, r: ErrorReport): string {
  const where = [`hospital ${hospital}`];
  if (r.file !== undefined) where.push(`file ${JSON.stringify(r.file)}`);
  if (r.row !== undefined) where.push(r.row === 0 ? 'row 0 (header)' : `row ${r.row}`);
  if (r.column !== undefined) where.push(`column ${JSON.stringify(r.column)}`);
  if (r.field !== undefined && r.field !== r.column) where.push(`field ${r.field}`);
  const what = r.expected !== undefined ? `expected ${r.expected}` : ERROR_CATEGORIES[r.category];
  return `${where.join(', ')}: ${what}${r.category === 'bad-input' || r.expected === undefined ? '' : ` (${r.category})`}`;
}
