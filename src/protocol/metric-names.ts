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
  loss: {
    min: 0,
    max: 1_000,
    meaning: 'mean cross-entropy (binary, or of the true class), probabilities clipped to 1e-7',
  },
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
  balanced_accuracy: unit('mean recall over the classes present'),
  auroc_macro: unit('mean one-vs-rest AUROC over the classes with both outcomes'),
  auroc_micro: unit('AUROC over every (example, class) pair'),
  f1_macro: unit('mean F1 over the classes present or predicted'),
  top_label_ece: unit('calibration error of the top-label probability'),
  confusion_suppressed: {
    min: 0,
    max: MAX_HOSPITAL_EXAMPLES,
    integer: true,
    meaning: 'examples in confusion cells below the smallest reportable size (sent as 0)',
  },
  mse: { min: 0, max: 1e12, meaning: 'mean squared error of a continuous outcome' },
  mae: { min: 0, max: 1e12, meaning: 'mean absolute error of a continuous outcome' },
  r2: { min: -1e12, max: 1, meaning: "coefficient of determination about the hospital's own mean" },
  target_mean: { min: -1e12, max: 1e12, meaning: "mean of the hospital's held-out targets (for global_r2)" },
  target_var: { min: 0, max: 1e24, meaning: "variance of the hospital's held-out targets (for global_r2)" },
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

/** Most classes reported one by one (`n__class_k`, `sensitivity__class_k`); the confusion matrix has them all. */
export const MAX_CLASS_METRICS = 24;

/** Metrics reported per class `class_<k>`, k < {@link MAX_CLASS_METRICS}. */
export const PER_CLASS: Readonly<Record<string, MetricRule>> = {
  n: PER_SUBGROUP.n!,
  sensitivity: { min: 0, max: 1, meaning: 'recall of the class (true-positive rate one-vs-rest)' },
};

/** The group of held-out examples outside a backdoor's target class, with its trigger applied. */
export const TRIGGERED_GROUP = 'triggered';

/** Metrics of a backdoor's trigger on the global model, when the scenario has a backdoor attacker. */
export const PER_TRIGGERED: Readonly<Record<string, MetricRule>> = {
  n: { ...PER_SUBGROUP.n!, meaning: 'held-out examples outside the target class, with the trigger applied' },
  attack_success: unit('share of those examples the model classifies as the target class'),
};

const CLASS_GROUP = /^class_(0|[1-9]\d?)$/;

/** Separates a metric from its subgroup. */
export const SUBGROUP_SEPARATOR = '__';

/** The rule of a metric name, or undefined when hospitals may not report it. */
export function metricRule(name: string): MetricRule | undefined {
  if (Object.hasOwn(METRIC_RULES, name)) return METRIC_RULES[name as keyof typeof METRIC_RULES];
  const cut = name.indexOf(SUBGROUP_SEPARATOR);
  if (cut < 0) return undefined;
  const group = name.slice(cut + SUBGROUP_SEPARATOR.length);
  const base = name.slice(0, cut);
  const perClass = CLASS_GROUP.exec(group);
  if (perClass !== null) {
    return Number(perClass[1]) < MAX_CLASS_METRICS && Object.hasOwn(PER_CLASS, base)
      ? PER_CLASS[base]
      : undefined;
  }
  if (group === TRIGGERED_GROUP) return Object.hasOwn(PER_TRIGGERED, base) ? PER_TRIGGERED[base] : undefined;
  if (!(SUBGROUPS as readonly string[]).includes(group)) return undefined;
  return Object.hasOwn(PER_SUBGROUP, base) ? PER_SUBGROUP[base] : undefined;
}
