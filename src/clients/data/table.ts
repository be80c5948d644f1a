import type { SourceConfig } from '../../scenario/schema.ts';
import { MAX_CELL_MAGNITUDE, tabularColumns, type TabularConfig } from '../../protocol/own-data-layout.ts';
import { EmrError, type EmrTable } from './emr.ts';

/** A table source of the scenario. */
export type TableSource = Extract<SourceConfig, { kind: 'table' }>;

/**
 * A hospital's table read through its mapping: inputs encoded as the scenario declares them, in float64 (NaN
 * where a cell is to be imputed), targets, and what was missing.
 */
export interface EncodedTable {
  /** Rows kept. */
  readonly n: number;
  readonly width: number;
  /** `n × width` inputs, row by row, in the declared units (categories one-hot); NaN: impute. */
  readonly x: Float64Array;
  /** Targets: 0/1, a class index or a value. */
  readonly y: Float32Array;
  /** Index in the file (0-based data row) of each kept row. */
  readonly rows: Uint32Array;
  /** Missing cells of each declared feature, over every data row of the file. */
  readonly missing: Uint32Array;
  /** Rows dropped because a feature with the drop policy was missing. */
  readonly dropped: number;
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Encodes a hospital's table as the scenario declares it. Every declared field is found by the hospital's
 * column name (`columns`, else the field's own name); other columns are ignored. Numbers must be plain
 * decimals with a point, converted to the declared unit by the hospital's factor and offset; categories and
 * classes must be declared (or the hospital's code of one). A missing cell (one of the hospital's `missing`
 * texts) follows the feature's policy; an outcome cell may not be missing. Throws an {@link EmrError} naming
 * hospital, file, row, column and what was expected, never the cell.
 */
export function encodeTable(
  table: EmrTable,
  data: TabularConfig,
  source: TableSource,
  where: { readonly hospital: string; readonly file: string },
): EncodedTable {
  const fail = (at: { row?: number; column?: string; field?: string }, expected: string): never => {
    throw new EmrError({ ...where, ...at, expected });
  };
  const columnOf = (field: string): number => {
    const name = source.columns[field] ?? field;
    const i = table.header.indexOf(name);
    if (i < 0) fail({ row: 0, column: name, field }, `a column holding the declared field ${field}`);
    if (i !== table.header.lastIndexOf(name))
      fail({ row: 0, column: name, field }, 'exactly one column with this name');
    return i;
  };
  const features = data.features.map((f) => ({ f, at: columnOf(f.name) }));
  const outcomeAt = columnOf(data.outcome.name);
  if (data.id !== undefined) columnOf(data.id);
  if (table.rows.length === 0) fail({ row: 1 }, 'at least one data row');

  const columns = tabularColumns(data);
  const width = columns.length;
  const firstColumn = data.features.map((_, k) => columns.findIndex((c) => c.feature === k));
  const missingTexts = new Set(source.missing);
  const missing = new Uint32Array(data.features.length);
  const x: number[] = [];
  const y: number[] = [];
  const kept: number[] = [];
  let dropped = 0;
  const codeIndex = (field: string, declared: readonly string[]): Map<string, number> => {
    const codes = source.codes[field] ?? {};
    return new Map(declared.map((c, i) => [codes[c] ?? c, i]));
  };
  const categoryCodes = data.features.map((f) => codeIndex(f.name, f.categories ?? []));
  const outcome = data.outcome;
  const classCodes = outcome.type === 'continuous' ? undefined : codeIndex(outcome.name, outcome.classes);
  const number = (text: string, field: string): number | undefined => {
    if (!NUMBER.test(text)) return undefined;
    const v = Number(text);
    if (!Number.isFinite(v)) return undefined;
    const u = source.units[field];
    const converted = u === undefined ? v : v * u.factor + u.offset;
    return Math.abs(converted) <= MAX_CELL_MAGNITUDE ? converted : undefined;
  };
  const unitOf = (field: string, declared: string | undefined) =>
    source.units[field]?.unit ?? declared ?? 'the declared unit';

  table.rows.forEach((cells, i) => {
    const r = i + 1;
    const row = new Array<number>(width).fill(0);
    let drop = false;
    features.forEach(({ f, at }, k) => {
      const column = table.header[at]!;
      const text = cells[at]!;
      const c0 = firstColumn[k]!;
      if (missingTexts.has(text)) {
        missing[k]!++;
        if (f.missing === 'error')
          fail(
            { row: r, column, field: f.name },
            `a recorded ${f.name} (the feature's missing policy is error)`,
          );
        if (f.missing === 'drop') drop = true;
        const cells_ = f.type === 'numeric' ? 1 : f.categories!.length;
        for (let c = 0; c < cells_; c++) row[c0 + c] = NaN;
        if (f.missing === 'impute-indicator') row[c0 + cells_] = 1;
        return;
      }
      if (f.type === 'numeric') {
        const v = number(text, f.name);
        if (v === undefined)
          fail(
            { row: r, column, field: f.name },
            `a number in ${unitOf(f.name, f.unit)} (digits with an optional decimal point, at most 1e15 in size)`,
          );
        row[c0] = v!;
      } else {
        const c = categoryCodes[k]!.get(text);
        if (c === undefined)
          fail(
            { row: r, column, field: f.name },
            `one of the ${f.categories!.length} declared categories of ${f.name}`,
          );
        row[c0 + c!] = 1;
      }
    });
    const column = table.header[outcomeAt]!;
    const text = cells[outcomeAt]!;
    let target: number | undefined;
    if (classCodes === undefined) {
      target = missingTexts.has(text) ? undefined : number(text, outcome.name);
      if (target === undefined)
        fail(
          { row: r, column, field: outcome.name },
          `a number in ${unitOf(outcome.name, undefined)} (at most 1e15 in size)`,
        );
    } else {
      target = classCodes.get(text);
      if (target === undefined)
        fail(
          { row: r, column, field: outcome.name },
          `one of the ${classCodes.size} declared classes of ${outcome.name}`,
        );
    }
    if (drop) {
      dropped++;
      return;
    }
    x.push(...row);
    y.push(target!);
    kept.push(i);
  });
  if (kept.length === 0) fail({}, 'at least one row left after dropping rows with missing values');
  return {
    n: kept.length,
    width,
    x: Float64Array.from(x),
    y: Float32Array.from(y),
    rows: Uint32Array.from(kept),
    missing,
    dropped,
  };
}
