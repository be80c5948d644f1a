import { readFileSync, writeFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { EmrError } from './emr.ts';
import type { EmrTable } from './emr.ts';

/**
 * Reads a hospital's CSV file: the first record is the header, cells are trimmed, a leading byte-order mark
 * and blank lines are skipped. Rows are numbered from 1 among the data records (the header is row 0), which
 * is the file's line number minus one unless the file has blank lines or quoted line breaks. Throws an
 * {@link EmrError} naming the file (and row) for a file that cannot be read, malformed CSV, no header, or
 * a row with a different number of cells than the header.
 */
export function readCsv(path: string, where: { readonly hospital: string }): EmrTable {
  const src = { hospital: where.hospital, file: path };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EmrError({
      ...src,
      expected:
        code === 'ENOENT'
          ? 'an existing CSV file (not found)'
          : `a readable CSV file (${code ?? 'read error'})`,
    });
  }
  let records: string[][];
  try {
    records = parse(text, { bom: true, trim: true, skip_empty_lines: true, relax_column_count: true });
  } catch (e) {
    if (!(e instanceof CsvError)) throw e;
    const line = typeof e['lines'] === 'number' ? ` near line ${e['lines']}` : '';
    throw new EmrError({ ...src, expected: `well-formed CSV (${e.code}${line})` });
  }
  const [header, ...rows] = records;
  if (header === undefined) throw new EmrError({ ...src, row: 0, expected: 'a header row' });
  rows.forEach((row, i) => {
    if (row.length !== header.length) {
      throw new EmrError({
        ...src,
        row: i + 1,
        expected: `${header.length} cells, as many as the header has columns`,
      });
    }
  });
  return { header, rows };
}

/** Writes a table as CSV: the header, then one line per row, quoting only where needed. */
export function writeCsv(path: string, table: EmrTable): void {
  writeFileSync(path, stringify([table.header, ...table.rows]));
}
