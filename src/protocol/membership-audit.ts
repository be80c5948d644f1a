import type { TrainingInstructions } from './messages.ts';

/**
 * The membership-inference audit's wire format. Each hospital attacks the global model on its own training
 * patients (members) versus its held-out patients (non-members) and sends back only bounded metrics and, per
 * attack, counts of members and of non-members per bin of attack score: enough for the coordinator to draw the
 * federation-wide attack curve, never one patient's score.
 */

/** Bins of each attack's score histogram. */
export const AUDIT_BINS = 320;

/** The attacks, in the order their histograms and metrics are named. */
export const AUDIT_ATTACKS = ['loss', 'lira'] as const;
/** One attack: the loss threshold (Yeom et al. 2018) or the calibrated likelihood ratio (LiRA, Carlini et al. 2022). */
export type AuditAttack = (typeof AUDIT_ATTACKS)[number];

/**
 * Range of each attack's score that the bins divide equally (beyond it, the end bins): the loss attack scores
 * the logit of the model's probability of the true label (higher: lower loss), LiRA the standardised
 * difference from the reference models that did not see the patient.
 */
export const AUDIT_SCORE_RANGE: Readonly<Record<AuditAttack, readonly [number, number]>> = {
  loss: [-16, 16],
  lira: [-10, 10],
};

/** The audit metrics of one attack, by suffix: `mia_<attack>_<suffix>`. */
export const AUDIT_METRIC_SUFFIXES = ['auc', 'advantage', 'tpr_fpr1', 'tpr_fpr01'] as const;

/** Metric name of one attack's statistic. */
export function auditMetric(attack: AuditAttack, suffix: (typeof AUDIT_METRIC_SUFFIXES)[number]): string {
  return `mia_${attack}_${suffix}`;
}

/** What the coordinator asks of a hospital's audit. */
export interface AuditInstructions {
  /** Reference models LiRA trains inside the hospital (even: each half of the pool and its complement). */
  readonly references: number;
  /** Epochs each reference model trains on its half. */
  readonly epochs: number;
  /** The local recipe the reference models follow (the scenario's training settings). */
  readonly training: TrainingInstructions;
}

/** The bin of `score` for `attack`: equal bins over its range, the end bins beyond. */
export function auditBin(attack: AuditAttack, score: number): number {
  const [lo, hi] = AUDIT_SCORE_RANGE[attack];
  const k = Math.floor(((score - lo) / (hi - lo)) * AUDIT_BINS);
  return Math.min(AUDIT_BINS - 1, Math.max(0, Number.isNaN(k) ? 0 : k));
}
