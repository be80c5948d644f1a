import { appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  MAX_ERROR_TEXT,
  withoutControlCharacters,
  type ErrorCategory,
  type ErrorReport,
} from '../protocol/error-report.ts';

/** A failure the hospital chooses to report by category, with its own fixed wording (no values). */
export class HospitalRefusal extends Error {
  override readonly name = 'HospitalRefusal';
  constructor(
    readonly category: Extract<
      ErrorCategory,
      'refused' | 'injected' | 'declined' | 'not-hosted' | 'oversized' | 'privacy-budget'
    >,
    readonly field?: string,
  ) {
    super(field === undefined ? category : `${category}: ${field}`);
  }
}

/** A training backend that cannot load in this thread; the text is the backend's, before any data is read. */
export class BackendUnavailable extends Error {
  override readonly name = 'BackendUnavailable';
}

/** Errors of fedmed's own validation of data and configuration: their fields never hold a patient value. */
const INPUT_ERRORS = new Set([
  'EmrError',
  'DicomError',
  'SplitError',
  'CohortError',
  'PartitionError',
  'ImagingError',
  'PopulationProfileError',
  'MetricsInputError',
]);

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? withoutControlCharacters(v).slice(0, MAX_ERROR_TEXT) : undefined;

const defined = (r: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));

/**
 * What of an error may leave the worker: for fedmed's own validation errors, their structured fields (file,
 * row, column, field, expected); for everything else, only a category. Messages and stacks never leave.
 */
export function reportOf(e: unknown): ErrorReport {
  if (e instanceof HospitalRefusal)
    return defined({ category: e.category, field: e.field }) as unknown as ErrorReport;
  if (e instanceof BackendUnavailable) {
    return { category: 'backend-unavailable', expected: text(e.message.split('\n', 1)[0]) ?? '' };
  }
  if (!(e instanceof Error) || !INPUT_ERRORS.has(e.name)) return { category: 'failed' };
  const f = e as Error & Record<string, unknown>;
  const row = typeof f.row === 'number' && Number.isSafeInteger(f.row) && f.row >= 0 ? f.row : undefined;
  const field = text(f.field) ?? text(f.parameter) ?? text(f.where);
  const expected =
    typeof f.expected === 'string'
      ? text(f.expected.replace(/^expected /, ''))
      : text(e.message.replace(/^hospital [a-z0-9-]+: /, '').replace(/^[\w.[\]]+: (expected )?/, ''));
  return defined({
    category: 'bad-input',
    file: text(f.file),
    row: e.name === 'EmrError' ? row : undefined,
    column: text(f.column),
    field,
    expected,
  }) as unknown as ErrorReport;
}

/**
 * Appends an error's full text to the hospital's own log, `<logDir>/<hospital>.log` — hospital-side, never
 * read by the coordinator — when the scenario keeps one.
 */
export function logHospitalError(
  baseDir: string | undefined,
  logDir: string | undefined,
  hospital: string,
  what: string,
  e: unknown,
): void {
  if (baseDir === undefined || logDir === undefined || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(hospital)) return;
  try {
    const dir = resolve(baseDir, logDir);
    mkdirSync(dir, { recursive: true });
    const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
    appendFileSync(join(dir, `${hospital}.log`), `${what}: ${detail}\n`);
  } catch {
    // A log that cannot be written must not change what the hospital replies.
  }
}
