import type { Metrics } from '../../protocol/messages.ts';

/** What the bench reads of a run's membership-inference audit (summary.json `audit`). */
export interface StoredAudit {
  readonly overall: Partial<
    Record<'loss' | 'lira', { auc: number; advantage: number; tprAtFpr1: number; tprAtFpr01: number }>
  >;
  readonly dpSgd?: { readonly maxEpsilon: number };
}

/** The DP-SGD ε of a run: the largest any hospital spent. */
export const DPSGD_EPSILON_METRIC = 'global_dpsgd_epsilon';

/** The audit's federation-wide numbers a bench reports, as final metrics of the run. */
export const AUDIT_BENCH_METRICS: readonly string[] = [
  DPSGD_EPSILON_METRIC,
  'global_mia_loss_auc',
  'global_mia_lira_auc',
  'global_mia_loss_tpr_fpr1',
  'global_mia_lira_tpr_fpr1',
  'global_mia_lira_tpr_fpr01',
];

/**
 * A run's audit as final metrics: each attack's AUC, advantage and TPR at FPR 1% and 0.1% over every hospital's
 * patients (`global_mia_<attack>_…`), and with DP-SGD the largest ε a hospital spent.
 */
export function auditBenchMetrics(audit: StoredAudit): Metrics {
  const out: Metrics = {};
  for (const attack of ['loss', 'lira'] as const) {
    const a = audit.overall[attack];
    if (a === undefined) continue;
    out[`global_mia_${attack}_auc`] = a.auc;
    out[`global_mia_${attack}_advantage`] = a.advantage;
    out[`global_mia_${attack}_tpr_fpr1`] = a.tprAtFpr1;
    out[`global_mia_${attack}_tpr_fpr01`] = a.tprAtFpr01;
  }
  if (audit.dpSgd !== undefined) out[DPSGD_EPSILON_METRIC] = audit.dpSgd.maxEpsilon;
  return out;
}
