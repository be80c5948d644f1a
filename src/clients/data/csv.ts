import { writeFileSync } from 'node:fs';
import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { EmrError } from './emr.ts';
import type { EmrTable } from './emr.ts';
import { MAX_CSV_BYTES } from '../../scenario/data-paths.ts';
import { readLocalFile, utf8Text } from './local-files.ts';

/**
 * Reads a hospital's CSV file: UTF-8 (a leading byte-order mark is skipped), the first record is the header,
 * cells are trimmed, blank lines are skipped. Rows are numbered from 1 among the data records (the header is
 * row 0), which is the file's line number minus one unless the file has blank lines or quoted line breaks.
 * With `root`, the file's real path must lie inside that data root. Throws an {@link EmrError} naming the
 * file (and row) for a file that is missing, unreadable, not a regular file, larger than
 * {@link MAX_CSV_BYTES}, not UTF-8 text, malformed CSV, without a header, or with a row whose number of cells
 * differs from the header's.
 */
export function readCsv(
  path: string,
  where: { readonly hospital: string; readonly root?: string },
): EmrTable {
  const src = { hospital: where.hospital, file: path };
  const fail = (expected: string): never => {
    throw new EmrError({ ...src, expected });
  };
  const text = utf8Text(readLocalFile(path, MAX_CSV_BYTES, fail, where.root), fail);
  let records: string[][];
  try {
    records = parse(text, { trim: true, skip_empty_lines: true, relax_column_count: true });
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
