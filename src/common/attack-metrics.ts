/**
 * Success of a membership-inference attack from counts: members (positives) and non-members (negatives) per
 * score level, levels in ascending order of score (the attack calls "member" above a threshold). Computed the
 * same way from a hospital's exact scores (one level per distinct score) and from summed histograms (one level
 * per bin: patients in a bin are ties).
 */

/** An attack's success and the counts its confidence intervals need. */
export interface AttackMetrics {
  /** P(member's score > non-member's), ties one half (Mann–Whitney). */
  readonly auc: number;
  /** 95% interval of the AUC (Hanley & McNeil 1982 standard error), clipped to [0, 1]. */
  readonly aucCi: readonly [number, number];
  /** Largest TPR − FPR over the thresholds. */
  readonly advantage: number;
  /** Largest TPR among thresholds with FPR ≤ 1%, and ≤ 0.1%. */
  readonly tprAtFpr1: number;
  readonly tprAtFpr01: number;
  readonly members: number;
  readonly nonMembers: number;
}

/**
 * P(positive's level > negative's), ties one half (Mann–Whitney), from counts per level in ascending order;
 * undefined without both positives and negatives.
 */
export function rankAuroc(pos: ArrayLike<number>, neg: ArrayLike<number>): number | undefined {
  let below = 0;
  let wins = 0;
  let cases = 0;
  for (let k = 0; k < pos.length; k++) {
    wins += pos[k]! * (below + 0.5 * neg[k]!);
    below += neg[k]!;
    cases += pos[k]!;
  }
  return cases > 0 && below > 0 ? wins / (cases * below) : undefined;
}

/** The attack's metrics; undefined without both members and non-members. */
export function attackMetrics(
  members: ArrayLike<number>,
  nonMembers: ArrayLike<number>,
): AttackMetrics | undefined {
  const { m, n } = totals(members, nonMembers);
  if (m === 0 || n === 0) return undefined;
  const auc = rankAuroc(members, nonMembers)!;
  let advantage = 0;
  let tpr1 = 0;
  let tpr01 = 0;
  // Every threshold below calling everyone a member (TPR = FPR = 1 adds nothing), down to calling no one.
  let tp = m;
  let fp = n;
  for (let k = 0; k < members.length; k++) {
    tp -= members[k]!;
    fp -= nonMembers[k]!;
    const tpr = tp / m;
    const fpr = fp / n;
    advantage = Math.max(advantage, tpr - fpr);
    if (fpr <= 0.01) tpr1 = Math.max(tpr1, tpr);
    if (fpr <= 0.001) tpr01 = Math.max(tpr01, tpr);
  }
  const se = hanleyMcNeil(auc, m, n);
  return {
    auc,
    aucCi: [Math.max(0, auc - 1.959964 * se), Math.min(1, auc + 1.959964 * se)],
    advantage,
    tprAtFpr1: tpr1,
    tprAtFpr01: tpr01,
    members: m,
    nonMembers: n,
  };
}

/** Standard error of an AUC from m positives and n negatives (Hanley & McNeil 1982, eq. 2). */
function hanleyMcNeil(auc: number, m: number, n: number): number {
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const v = (auc * (1 - auc) + (m - 1) * (q1 - auc * auc) + (n - 1) * (q2 - auc * auc)) / (m * n);
  return Math.sqrt(Math.max(0, v));
}

/** Wilson score interval of a proportion k/n at z (1.96: 95%). */
export function wilson(k: number, n: number, z = 1.959964): readonly [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z / d) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

/**
 * Counts per distinct score, ascending: the exact levels of {@link attackMetrics} for raw scores of members
 * and non-members.
 */
export function levelsOf(
  memberScores: ArrayLike<number>,
  nonMemberScores: ArrayLike<number>,
): { members: number[]; nonMembers: number[] } {
  const all: [number, 0 | 1][] = [];
  for (let i = 0; i < memberScores.length; i++) all.push([memberScores[i]!, 1]);
  for (let i = 0; i < nonMemberScores.length; i++) all.push([nonMemberScores[i]!, 0]);
  all.sort((a, b) => a[0] - b[0]);
  const members: number[] = [];
  const nonMembers: number[] = [];
  let last = NaN;
  for (const [s, isMember] of all) {
    if (s !== last) {
      members.push(0);
      nonMembers.push(0);
      last = s;
    }
    if (isMember === 1) members[members.length - 1]!++;
    else nonMembers[nonMembers.length - 1]!++;
  }
  return { members, nonMembers };
}

function totals(members: ArrayLike<number>, nonMembers: ArrayLike<number>): { m: number; n: number } {
  if (members.length !== nonMembers.length)
    throw new RangeError('one member and one non-member count per level');
  let m = 0;
  let n = 0;
  for (let k = 0; k < members.length; k++) {
    m += members[k]!;
    n += nonMembers[k]!;
  }
  return { m, n };
}
