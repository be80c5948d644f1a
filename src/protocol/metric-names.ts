/**
 * Every metric a hospital may report, with the range its value must lie in. A reply naming any other metric,
 * or giving a value outside its range, is rejected at the boundary: the names a hospital can send are a
 * bounded, declared set, and no reply can push the federation's means to overflow.
 */

/** The range of a metric's value, and whether it counts something. */
export interface MetricRule {
  readonly min: number;
  readonly max: number;
  readonly integer?: true;
  /** One line on what it is. */
  readonly meaning: string;
}

/** Most examples a hospital may hold: the scenario's largest `patients`. */
export const MAX_HOSPITAL_EXAMPLES = 10_000_000;

const unit = (meaning: string): MetricRule => ({ min: 0, max: 1, meaning });

/** Metrics over a hospital's evaluation or training, by name. */
export const METRIC_RULES = {
  loss: { min: 0, max: 1_000, meaning: 'mean binary cross-entropy, probabilities clipped to 1e-7' },
  accuracy: unit('share of correct decisions'),
  auroc: unit('area under the ROC curve'),
  auprc: unit('average precision'),
  sensitivity: unit('true-positive rate at the threshold'),
  specificity: unit('true-negative rate at the threshold'),
  brier: unit('mean squared error of the predicted probability'),
  ece: unit('expected calibration error'),
  train_loss: { min: 0, max: 1e12, meaning: 'training loss of the last local epoch' },
  initial_loss: { min: 0, max: 1e12, meaning: 'training loss of the received model (q-FedAvg)' },
  local_steps: { min: 0, max: 1e12, integer: true, meaning: 'optimizer steps of local training (FedNova)' },
} as const satisfies Record<string, MetricRule>;

/** Subgroups a hospital may report metrics for, as `<metric>__<group>`. */
export const SUBGROUPS = ['female', 'male', 'age_lt50', 'age_50_64', 'age_65plus'] as const;

/** Metrics reported per subgroup; `n` counts the subgroup's examples. */
export const PER_SUBGROUP: Readonly<Record<string, MetricRule>> = {
  n: { min: 0, max: MAX_HOSPITAL_EXAMPLES, integer: true, meaning: 'examples in the subgroup' },
  auroc: METRIC_RULES.auroc,
  auprc: METRIC_RULES.auprc,
  sensitivity: METRIC_RULES.sensitivity,
  specificity: METRIC_RULES.specificity,
  brier: METRIC_RULES.brier,
};

/** Separates a metric from its subgroup. */
export const SUBGROUP_SEPARATOR = '__';

/** The rule of a metric name, or undefined when hospitals may not report it. */
export function metricRule(name: string): MetricRule | undefined {
  if (Object.hasOwn(METRIC_RULES, name)) return METRIC_RULES[name as keyof typeof METRIC_RULES];
  const cut = name.indexOf(SUBGROUP_SEPARATOR);
  if (cut < 0) return undefined;
  const group = name.slice(cut + SUBGROUP_SEPARATOR.length);
  if (!(SUBGROUPS as readonly string[]).includes(group)) return undefined;
  const base = name.slice(0, cut);
  return Object.hasOwn(PER_SUBGROUP, base) ? PER_SUBGROUP[base] : undefined;
}
