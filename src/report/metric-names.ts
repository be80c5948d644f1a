/** Names and ranges of the metrics fedmed reports; unknown metrics are shown under their own names. */

/** Metrics charted first, in this order, when a run reports them. */
export const PRIMARY_METRICS = [
  'auroc',
  'auprc',
  'accuracy',
  'loss',
  'global_auroc',
  'global_auprc',
] as const;

const LABELS: Readonly<Record<string, string>> = {
  accuracy: 'Accuracy',
  auroc: 'AUROC',
  auprc: 'AUPRC',
  global_auroc: 'Global AUROC',
  global_auprc: 'Global AUPRC',
  global_auroc_macro: 'Global macro AUROC',
  global_auroc_micro: 'Global micro AUROC',
  global_auprc_micro: 'Global micro AUPRC',
  loss: 'Loss',
  brier: 'Brier score',
  ece: 'Expected calibration error',
  sensitivity: 'Sensitivity',
  specificity: 'Specificity',
  train_loss: 'Training loss',
};

const UNIT = new Set([
  'accuracy',
  'auroc',
  'auprc',
  'global_auroc',
  'global_auprc',
  'global_auroc_macro',
  'global_auroc_micro',
  'global_auprc_micro',
  'sensitivity',
  'specificity',
]);

/** A metric's name for people. */
export const metricLabel = (m: string): string => LABELS[m] ?? m;

/** Whether the metric lives in [0, 1]. */
export const unitMetric = (m: string): boolean => UNIT.has(m);

/** Whether a metric is a subgroup's (`auroc__female`) or a subgroup's count (`n__female`). */
export const isSubgroup = (m: string): boolean => m.includes('__');
