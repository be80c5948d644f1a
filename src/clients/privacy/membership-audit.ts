import { examplesAt } from '../data/index.ts';
import { attackMetrics, levelsOf } from '../../common/attack-metrics.ts';
import { permutation, type Rng } from '../../common/rng.ts';
import type { Metrics } from '../../protocol/messages.ts';
import {
  AUDIT_ATTACKS,
  AUDIT_BINS,
  auditBin,
  auditMetric,
  type AuditAttack,
  type AuditInstructions,
} from '../../protocol/membership-audit.ts';
import type { OutputHead } from '../../protocol/outcome.ts';
import type { DpSgdStep } from '../../models/dp-sgd.ts';
import type { Examples, LocalTrainer } from '../../models/types.ts';
import { concatExamples, type LocalData } from '../data/index.ts';

/** What a hospital's audit sends: counts, bounded metrics and per attack members then non-members per bin. */
export interface AuditOutcome {
  readonly members: number;
  readonly nonMembers: number;
  readonly metrics: Metrics;
  readonly histograms: Readonly<Record<AuditAttack, Uint32Array>>;
}

/** What the audit needs of its hospital: the model it trains, its data, and the local recipe's privacy. */
export interface AuditContext {
  readonly trainer: LocalTrainer;
  readonly data: LocalData;
  readonly head: OutputHead;
  /** The federation's initial model, where every reference model starts. */
  readonly initial: Float32Array;
  /** The hospital's DP-SGD step, when its local training uses one (the reference models mimic it). */
  readonly dpSgd?: DpSgdStep;
  /** The named seeded stream of one purpose of the audit. */
  readonly rng: (...purpose: string[]) => Rng;
  /**
   * Keeps the reference models' statistics between audits of one run (they depend on the hospital's data, the
   * initial model and the instructions, never on the audited model), computing them on first use.
   */
  readonly memo?: (key: string, compute: () => ReferenceStats) => ReferenceStats;
}

/** Each patient's mean logit-confidence over the reference models that left it out, and their spread. */
export interface ReferenceStats {
  readonly mean: Float64Array;
  readonly sigma: number;
}

/** Probabilities of the true label are clipped to [P_MIN, 1 − P_MIN] before their logit is taken. */
const P_MIN = 1e-7;
/** Smallest spread of reference scores LiRA divides by. */
const MIN_SIGMA = 1e-3;

/**
 * Membership inference against `global` on the hospital's training patients (members) versus its held-out
 * patients (non-members), as an auditor inside the hospital would run it:
 * - the loss-threshold attack (Yeom et al. 2018, "Privacy risk in machine learning"): a patient whose loss is
 *   low is called a member; its score is the logit of the model's probability of the true label, log(p/(1−p)),
 *   a decreasing function of the loss;
 * - a calibrated attack in the spirit of LiRA (Carlini et al. 2022, "Membership inference attacks from first
 *   principles"), offline with a fixed variance: `references` models (pairs on a random half of the hospital's
 *   patients and its complement, the same model and recipe from the initial model) give each patient the mean
 *   logit-confidence μ of the models that did not see it; its score is (φ − μ)/σ, σ the spread of those
 *   left-out scores around their means over all patients, so patients that are easy for any model do not pass
 *   for members.
 * Only counts per score bin and each attack's metrics (exact, from the hospital's own scores) leave.
 */
export function membershipAudit(
  ctx: AuditContext,
  global: Float32Array,
  ins: AuditInstructions,
): AuditOutcome {
  const { trainer, data, head } = ctx;
  if (head.kind === 'continuous') throw new Error('the membership audit needs a binary or class outcome');
  if (ins.references < 4 || ins.references % 2 !== 0)
    throw new Error('the membership audit needs an even number of at least 4 reference models');
  const pool = concatExamples([data.train, data.test]);
  const members = data.train.n;
  trainer.setParameters(global);
  const target = confidence(trainer, pool, head);
  const compute = () => referenceMeans(ctx, pool, ins);
  const reference = ctx.memo === undefined ? compute() : ctx.memo(JSON.stringify(ins), compute);
  const lira = new Float64Array(pool.n);
  for (let i = 0; i < pool.n; i++) lira[i] = (target[i]! - reference.mean[i]!) / reference.sigma;
  const scores: Record<AuditAttack, Float64Array> = { loss: target, lira };
  const metrics: Metrics = {};
  const histograms = {} as Record<AuditAttack, Uint32Array>;
  for (const attack of AUDIT_ATTACKS) {
    const s = scores[attack];
    const h = new Uint32Array(2 * AUDIT_BINS);
    for (let i = 0; i < pool.n; i++) h[auditBin(attack, s[i]!) + (i < members ? 0 : AUDIT_BINS)]!++;
    histograms[attack] = h;
    const levels = levelsOf(s.subarray(0, members), s.subarray(members));
    const m = attackMetrics(levels.members, levels.nonMembers);
    if (m === undefined) continue;
    metrics[auditMetric(attack, 'auc')] = m.auc;
    metrics[auditMetric(attack, 'advantage')] = m.advantage;
    metrics[auditMetric(attack, 'tpr_fpr1')] = m.tprAtFpr1;
    metrics[auditMetric(attack, 'tpr_fpr01')] = m.tprAtFpr01;
  }
  return { members, nonMembers: data.test.n, metrics, histograms };
}

/** Per patient of `pool`, log(p/(1−p)) of the model's probability p of its true label. */
function confidence(trainer: LocalTrainer, pool: Examples, head: OutputHead): Float64Array {
  const probs = trainer.predict(pool);
  const classes = head.kind === 'multiclass' ? head.classes : 1;
  const out = new Float64Array(pool.n);
  for (let i = 0; i < pool.n; i++) {
    const y = pool.y[i]!;
    const raw = classes === 1 ? (y === 1 ? probs[i]! : 1 - probs[i]!) : probs[i * classes + y]!;
    const p = Math.min(1 - P_MIN, Math.max(P_MIN, raw));
    out[i] = Math.log(p) - Math.log1p(-p);
  }
  return out;
}

/**
 * Trains the reference models in pairs (a random half of `pool` and its complement) and returns each patient's
 * mean logit-confidence over the models that left it out, and the pooled spread of those scores around it.
 */
function referenceMeans(ctx: AuditContext, pool: Examples, ins: AuditInstructions): ReferenceStats {
  const n = pool.n;
  const pairs = ins.references / 2;
  const outScores = Array.from({ length: pairs }, () => new Float64Array(n));
  for (let j = 0; j < pairs; j++) {
    const order = permutation(n, ctx.rng('split', String(j)));
    const half = Math.floor(n / 2);
    const sides = [order.subarray(0, half), order.subarray(half)];
    sides.forEach((inside, side) => {
      const outside = sides[1 - side]!;
      ctx.trainer.setParameters(ctx.initial);
      ctx.trainer.train(
        examplesAt(pool, inside),
        {
          ...ins.training,
          localEpochs: ins.epochs,
          ...(ctx.dpSgd === undefined ? {} : { dpSgd: ctx.dpSgd }),
        },
        ctx.rng('reference', String(2 * j + side)),
      );
      const phi = confidence(ctx.trainer, pool, ctx.head);
      for (const i of outside) outScores[j]![i] = phi[i]!;
    });
  }
  const mean = new Float64Array(n);
  for (const s of outScores) for (let i = 0; i < n; i++) mean[i]! += s[i]! / pairs;
  let squares = 0;
  for (const s of outScores) for (let i = 0; i < n; i++) squares += (s[i]! - mean[i]!) ** 2;
  const sigma = Math.max(MIN_SIGMA, Math.sqrt(squares / (n * (pairs - 1))));
  return { mean, sigma };
}

/** The examples of `pool` at `rows`, in that order. */
