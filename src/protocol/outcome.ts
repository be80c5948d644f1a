import type { DataConfig } from '../scenario/schema.ts';

/**
 * What a model predicts, as both sides of the boundary need to know it: the coordinator to lay out the
 * parameters and to check metric vectors, the hospitals to train and score. It follows from the scenario's
 * data, never from the records.
 */

/** A binary outcome (one sigmoid unit), a multi-class one (softmax over `classes` units) or a continuous one. */
export type OutputHead =
  | { readonly kind: 'binary' }
  | { readonly kind: 'multiclass'; readonly classes: number }
  | { readonly kind: 'continuous' };

/** The head every model had before outcomes other than binary existed. */
export const BINARY_HEAD: OutputHead = { kind: 'binary' };

/** The head the scenario's data asks for: its declared outcome, or binary for the synthetic kinds. */
export function headOf(data: DataConfig): OutputHead {
  if (data.kind !== 'tabular' && data.kind !== 'image-folder') return BINARY_HEAD;
  const o = data.outcome;
  return o.type === 'multiclass' ? { kind: 'multiclass', classes: o.classes.length } : { kind: o.type };
}

/** The three metrics a table of runs shows first for an outcome of this kind. */
export function headlineMetrics(head: OutputHead): readonly [string, string, string] {
  if (head.kind === 'multiclass') return ['accuracy', 'balanced_accuracy', 'auroc_macro'];
  if (head.kind === 'continuous') return ['r2', 'mse', 'mae'];
  return ['auroc', 'auprc', 'accuracy'];
}

/** Units of the output layer: one per class for a multi-class outcome, else one. */
export function outputUnits(head: OutputHead): number {
  return head.kind === 'multiclass' ? head.classes : 1;
}

/** The output layer's activation as the exported model applies it. */
export function outputActivation(head: OutputHead): 'sigmoid' | 'softmax' | 'linear' {
  return head.kind === 'binary' ? 'sigmoid' : head.kind === 'multiclass' ? 'softmax' : 'linear';
}
