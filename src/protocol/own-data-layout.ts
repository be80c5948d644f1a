import type { DataConfig } from '../scenario/schema.ts';

/**
 * How a table or an image of the scenario's own-data kinds becomes model inputs: an agreement written in the
 * scenario (declared features, categories, image size), never read from records, so the coordinator can lay out
 * the model and check the statistics hospitals send.
 */

/** Scenario data read from each hospital's own files: a declared table or an image folder. */
export type OwnDataConfig = Extract<DataConfig, { kind: 'tabular' | 'image-folder' }>;
/** A declared table. */
export type TabularConfig = Extract<DataConfig, { kind: 'tabular' }>;

/** What an encoded input column holds, which decides how it is scaled and imputed. */
export type ColumnRole = 'numeric' | 'category' | 'indicator' | 'pixel';

/** One model input column of a declared table. */
export interface EncodedColumn {
  readonly name: string;
  /** Index of the declared feature it encodes. */
  readonly feature: number;
  readonly role: ColumnRole;
}

/** True for the data kinds read from each hospital's own files through a declared layout. */
export function isOwnData(data: DataConfig): data is OwnDataConfig {
  return data.kind === 'tabular' || data.kind === 'image-folder';
}

/**
 * The input columns of a declared table, in order: per feature, a numeric value or one 0/1 column per category
 * (`<feature>=<category>`), then `<feature>_missing` when its missing policy is impute-indicator.
 */
export function tabularColumns(data: TabularConfig): EncodedColumn[] {
  const columns: EncodedColumn[] = [];
  data.features.forEach((f, feature) => {
    if (f.type === 'numeric') columns.push({ name: f.name, feature, role: 'numeric' });
    else
      for (const c of f.categories ?? []) columns.push({ name: `${f.name}=${c}`, feature, role: 'category' });
    if (f.missing === 'impute-indicator')
      columns.push({ name: `${f.name}_missing`, feature, role: 'indicator' });
  });
  return columns;
}

/** Roles of every model input of own data, in input order. */
export function columnRoles(data: OwnDataConfig): ColumnRole[] {
  if (data.kind === 'tabular') return tabularColumns(data).map((c) => c.role);
  return new Array<ColumnRole>(data.height * data.width * data.channels).fill('pixel');
}

/** Names of the declared fields whose missing cells a hospital counts (a table's features; none for images). */
export function countedFields(data: OwnDataConfig): string[] {
  return data.kind === 'tabular' ? data.features.map((f) => f.name) : [];
}

/** True when the inputs need the federation's statistics: federated scaling, or a feature imputed by the mean. */
export function usesFederatedStatistics(data: OwnDataConfig): boolean {
  const scaling = data.preprocessing.scaling;
  if (scaling === 'federated-standardise' || scaling === 'federated-min-max') return true;
  return (
    scaling === 'none' &&
    data.kind === 'tabular' &&
    data.features.some((f) => f.missing === 'impute' || f.missing === 'impute-indicator')
  );
}

/** Which columns a transform scales: numeric features and pixels (not one-hot categories or indicators). */
export function scaledColumns(data: OwnDataConfig): boolean[] {
  return columnRoles(data).map((r) => r === 'numeric' || r === 'pixel');
}

/** How the scenario's scaling names a transform of summaries (local standardisation is standardisation too). */
export function scalingOf(data: OwnDataConfig): 'standardise' | 'min-max' | 'none' {
  const s = data.preprocessing.scaling;
  return s === 'federated-standardise' || s === 'local-standardise'
    ? 'standardise'
    : s === 'federated-min-max'
      ? 'min-max'
      : 'none';
}

/** The largest magnitude a table's value may have once converted to its declared unit. */
export const MAX_CELL_MAGNITUDE = 1e15;
