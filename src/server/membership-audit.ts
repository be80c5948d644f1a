import { dpSgdEpsilon } from '../common/dp/dp-sgd-epsilon.ts';
import { dpSteps } from '../models/dp-sgd.ts';
import { attackMetrics, type AttackMetrics } from '../common/attack-metrics.ts';
import type { MessageSizes } from '../protocol/kinds.ts';
import {
  AUDIT_ATTACKS,
  AUDIT_BINS,
  type AuditAttack,
  type AuditInstructions,
} from '../protocol/membership-audit.ts';
import type { Metrics } from '../protocol/messages.ts';
import type { Scenario } from '../scenario/schema.ts';
import { ProtocolViolation, type AdmittedReply, type ReplyContract } from './boundary.ts';
import { Channel } from './channel.ts';
import { compareIds } from './sampling.ts';
import type { Failure } from './strategies/strategy.ts';

/** One attack's success over a group of patients, with the counts its confidence intervals need. */
export type AttackSummary = AttackMetrics;

/** Summed score-bin counts of an attack over every audited hospital: members, then non-members, per bin. */
export interface AttackBins {
  readonly members: readonly number[];
  readonly nonMembers: readonly number[];
}

/** What the audit found at one hospital: its own exact metrics (as it reported them) and its counts. */
export interface HospitalAudit {
  readonly members: number;
  readonly nonMembers: number;
  readonly metrics: Metrics;
}

/** The membership-inference audit of the final global model, per hospital, per country and overall. */
export interface AuditRecord {
  readonly round: number;
  readonly references: number;
  readonly epochs: number;
  readonly method: string;
  readonly hospitals: Record<string, HospitalAudit>;
  /** Per country, each attack over its hospitals' patients at once (from summed score-bin counts). */
  readonly countries: Record<string, Partial<Record<AuditAttack, AttackSummary>>>;
  /** Each attack over every audited hospital's patients at once, and the summed counts it came from. */
  readonly overall: Partial<Record<AuditAttack, AttackSummary & { readonly bins: AttackBins }>>;
  readonly failures: readonly Failure[];
  /** With DP-SGD: δ and the ε each hospital reports having spent (its own accountant), and the largest. */
  readonly dpSgd?: {
    readonly delta: number;
    readonly epsilon: Record<string, number>;
    readonly maxEpsilon: number;
  };
  /** With `audit.every`: the same audit of the global model after every k-th round, in round order. */
  readonly periodic?: readonly Omit<AuditRecord, 'periodic'>[];
}

/** What the audit phase needs of the run. */
export interface AuditRun {
  readonly channel: Channel;
  readonly scenario: Scenario;
  readonly model: Float32Array;
  readonly holdings: ReadonlyMap<string, { readonly train: number; readonly test: number }>;
  readonly sizes: MessageSizes;
  /** The round the audited model came from. */
  readonly round: number;
  /** The state blob a hospital keeps, handed back so it can report its DP-SGD ε. */
  readonly state: (hospital: string) => Uint8Array | undefined;
  /** Fit requests the coordinator sent each hospital (from the crossing record), to bound its ε itself. */
  readonly fitRequests: ReadonlyMap<string, number>;
}

/**
 * A hospital's DP-SGD ε as the coordinator bounds it, never from what the worker says: every fit request it
 * was sent counted as a full local training of `localEpochs` epochs of round(1/q) Poisson-sampled steps.
 */
function epsilonBound(scenario: Scenario, requests: number): number {
  const dp = scenario.privacy!.dpSgd!;
  return dpSgdEpsilon(dp, requests * dpSteps(dp.sampleRate, scenario.training.localEpochs));
}

/** The ledger's round of crossings outside the rounds (like setup's): no round's line in metrics.jsonl counts them. */
const OUTSIDE_ROUNDS = 0;

const METHOD =
  "each hospital attacks the model on its training (members) versus held-out (non-members) patients: loss threshold (Yeom et al. 2018) and an offline fixed-variance LiRA (Carlini et al. 2022) with reference models trained on halves of its patients; a hospital's metrics are exact, a country's and the overall ones are computed from summed counts per score bin (patients in one bin count as ties)";

/**
 * The audit phase after the rounds, of each model in `models` (round → global model after it, in round order):
 * the last is the final model's audit, the others (with `audit.every`) its `periodic` record.
 */
export async function runMembershipAudits(
  run: Omit<AuditRun, 'model' | 'round'> & { readonly models: ReadonlyMap<number, Float32Array> },
): Promise<AuditRecord> {
  const records: AuditRecord[] = [];
  for (const [round, model] of [...run.models].sort(([a], [b]) => a - b)) {
    records.push(await runMembershipAudit({ ...run, round, model }));
  }
  const last = records.pop()!;
  return records.length === 0 ? last : { ...last, periodic: records };
}

/**
 * One audit: every hospital audits the final model on its own patients, replies with
 * declared metrics and counts per score bin only, and the coordinator sums the counts by country and overall
 * to compute each attack's success over many hospitals' patients at once (AUCs cannot be averaged exactly).
 */
export async function runMembershipAudit(run: AuditRun): Promise<AuditRecord> {
  const { channel, scenario, round } = run;
  const ids = scenario.hospitals.map((h) => h.id).sort(compareIds);
  const epochs = scenario.audit?.epochs ?? scenario.rounds * scenario.training.localEpochs;
  const references = scenario.audit?.references ?? 4;
  const request: AuditInstructions = { references, epochs, training: scenario.training };
  const shared = Channel.body([['parameters', run.model]]);
  const pending = await Promise.all(
    ids.map((id) => {
      const state = run.state(id);
      const body =
        state === undefined
          ? shared
          : Channel.body([
              ['parameters', run.model],
              ['state', state],
            ]);
      return channel.send(OUTSIDE_ROUNDS, id, 'audit-request', body, request);
    }),
  );
  const hospitals: Record<string, HospitalAudit> = {};
  const bins = new Map<string, Record<AuditAttack, Uint32Array>>();
  const failures: Failure[] = [];
  ids.forEach((id, i) => {
    const held = run.holdings.get(id)!;
    const received = channel.receive(
      OUTSIDE_ROUNDS,
      id,
      'audit-request',
      pending[i]!,
      auditReplyContract(id, held, run.sizes),
    );
    if ('reason' in received) {
      failures.push({ hospital: id, reason: received.reason });
      return;
    }
    const f = received.reply.fields;
    hospitals[id] = {
      members: f.members as number,
      nonMembers: f.nonMembers as number,
      metrics: f.metrics as Metrics,
    };
    bins.set(id, {
      loss: received.reply.vectors.get('loss') as Uint32Array,
      lira: received.reply.vectors.get('lira') as Uint32Array,
    });
  });
  const countryOf = new Map(scenario.hospitals.map((h) => [h.id, h.country]));
  const countries: AuditRecord['countries'] = {};
  for (const country of [...new Set(countryOf.values())].sort()) {
    const of = [...bins].filter(([id]) => countryOf.get(id) === country).map(([, b]) => b);
    if (of.length > 0) countries[country] = pooled(of);
  }
  const overall: AuditRecord['overall'] = {};
  for (const attack of AUDIT_ATTACKS) {
    const summed = sum([...bins.values()].map((b) => b[attack]));
    const m = attackMetrics(summed.members, summed.nonMembers);
    if (m !== undefined) overall[attack] = { ...m, bins: summed };
  }
  const dp = scenario.privacy?.dpSgd;
  // The larger of the coordinator's bound and what the hospital reports: ε is never under-reported.
  const epsilon = Object.fromEntries(
    dp === undefined
      ? []
      : ids.map((id) => [
          id,
          Math.max(
            epsilonBound(scenario, run.fitRequests.get(id) ?? 0),
            hospitals[id]?.metrics.dpsgd_epsilon ?? 0,
          ),
        ]),
  );
  return {
    round,
    references,
    epochs,
    method: METHOD,
    hospitals,
    countries,
    overall,
    failures,
    ...(dp === undefined
      ? {}
      : { dpSgd: { delta: dp.delta, epsilon, maxEpsilon: Math.max(0, ...Object.values(epsilon)) } }),
  };
}

/** Each attack's metrics over the patients of several hospitals, from their summed counts. */
function pooled(
  of: readonly Record<AuditAttack, Uint32Array>[],
): Partial<Record<AuditAttack, AttackSummary>> {
  const out: Partial<Record<AuditAttack, AttackSummary>> = {};
  for (const attack of AUDIT_ATTACKS) {
    const s = sum(of.map((b) => b[attack]));
    const m = attackMetrics(s.members, s.nonMembers);
    if (m !== undefined) out[attack] = m;
  }
  return out;
}

/** Members' and non-members' counts per bin, summed over hospitals in the order given (integers: exact). */
function sum(histograms: readonly Uint32Array[]): AttackBins {
  const members = new Array<number>(AUDIT_BINS).fill(0);
  const nonMembers = new Array<number>(AUDIT_BINS).fill(0);
  for (const h of histograms) {
    for (let k = 0; k < AUDIT_BINS; k++) {
      members[k]! += h[k]!;
      nonMembers[k]! += h[AUDIT_BINS + k]!;
    }
  }
  return { members, nonMembers };
}

/**
 * What a hospital's audit reply must be: the kind table's audit-reply (two score-bin count vectors, the member
 * and non-member counts, declared bounded metrics), its counts exactly the hospital's training and held-out
 * examples, and each histogram counting every one of them once.
 */
export function auditReplyContract(
  hospital: string,
  held: { readonly train: number; readonly test: number },
  sizes: MessageSizes,
): ReplyContract {
  return {
    hospital,
    kind: 'audit-reply',
    sizes,
    vectors: [...AUDIT_ATTACKS],
    counts: { members: { min: held.train, max: held.train }, nonMembers: { min: held.test, max: held.test } },
    check: (reply) => checkBins(hospital, reply),
  };
}

/** Each histogram counts every member and every non-member once. */
function checkBins(hospital: string, reply: AdmittedReply): void {
  for (const attack of AUDIT_ATTACKS) {
    const h = reply.vectors.get(attack)!;
    let members = 0;
    let nonMembers = 0;
    for (let k = 0; k < AUDIT_BINS; k++) {
      members += h[k]!;
      nonMembers += h[AUDIT_BINS + k]!;
    }
    if (members !== reply.fields.members || nonMembers !== reply.fields.nonMembers) {
      throw new ProtocolViolation(
        hospital,
        `vectors.${attack}`,
        'counts adding up to members, then to nonMembers',
        'other totals',
      );
    }
  }
}
