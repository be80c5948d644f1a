import { createHash } from 'node:crypto';
import { SecAggHospital } from '../../src/clients/privacy/secagg-hospital.ts';
import { stream } from '../../src/common/rng.ts';
import { SecAggMessageError } from '../../src/common/secagg/errors.ts';
import { completeGraph, hararyGraph, type NeighbourGraph } from '../../src/common/secagg/graph.ts';
import type { SecAggMessage, UnmaskRequest } from '../../src/common/secagg/messages.ts';
import { SecAggCoordinator, type SecAggResult } from '../../src/common/secagg/coordinator.ts';

/** The last stage a hospital completes before it drops out of a round. */
export type DropPoint = 'before-advertising' | 'after-advertising' | 'after-sharing' | 'after-masking';

/** One in-process round: hospitals 1…n, their encoded inputs, who drops where. */
export interface SecAggRoundPlan {
  readonly threshold: number;
  /** SecAgg+'s k; absent: complete graph. */
  readonly neighbours?: number;
  /** inputs[u − 1] is hospital u's encoded vector; their count is n. */
  readonly inputs: readonly Uint32Array[];
  readonly seed: number;
  readonly round: number;
  readonly drops?: ReadonlyMap<number, DropPoint>;
  readonly testOnlyDisableMasks?: boolean;
  /** Lets a test rewrite the unmask request one hospital receives (a cheating coordinator). */
  readonly tamperUnmaskRequest?: (to: number, request: UnmaskRequest) => UnmaskRequest;
  /** Lets a test replace what a hospital sends (a faulty or hostile hospital). */
  readonly tamperUpload?: (from: number, message: SecAggMessage) => unknown;
}

/** Every message that crossed, in order. */
export interface Exchanged {
  readonly from: number | 'coordinator';
  readonly to: number | 'coordinator';
  readonly message: SecAggMessage;
}

/** A finished round with both sides' state machines and every message. */
export interface SecAggRoundRun {
  readonly result: SecAggResult;
  readonly coordinator: SecAggCoordinator;
  readonly hospitals: ReadonlyMap<number, SecAggHospital>;
  readonly graph: NeighbourGraph;
  readonly exchanged: readonly Exchanged[];
  /** Milliseconds spent inside the hospitals' state machines (added up) and the coordinator's. */
  readonly time: { readonly hospitals: number; readonly coordinator: number };
  /** Uploads the coordinator rejected (the hospital then counts as dropped). */
  readonly rejected: readonly { readonly from: number; readonly error: SecAggMessageError }[];
}

/** The round's public graph: complete, or SecAgg+'s from the round's public stream. */
export function roundGraph(participants: number, seed: number, round: number, k?: number): NeighbourGraph {
  return k === undefined
    ? completeGraph(participants)
    : hararyGraph(participants, k, stream(seed, 'secagg-graph', `round-${round}`));
}

/** Runs one round in this thread, message by message, as the coordinator and worker boundary would. */
export function runSecAggRound(plan: SecAggRoundPlan): SecAggRoundRun {
  const n = plan.inputs.length;
  const vectorLength = plan.inputs[0]!.length;
  const graph = roundGraph(n, plan.seed, plan.round, plan.neighbours);
  const session = `seed-${plan.seed}/round-${plan.round}`;
  const common = { threshold: plan.threshold, graph, vectorLength, session };
  const off = plan.testOnlyDisableMasks === true ? { testOnlyDisableMasks: true } : {};
  const coordinator = new SecAggCoordinator({ ...common, ...off });
  const hospitals = new Map<number, SecAggHospital>();
  for (let u = 1; u <= n; u++) {
    const secret = createHash('sha256').update(`${plan.seed}/hospital-${u}/round-${plan.round}`).digest();
    hospitals.set(u, new SecAggHospital({ ...common, ...off, index: u, secret: new Uint8Array(secret) }));
  }
  const time = { hospitals: 0, coordinator: 0 };
  const timed = <T>(party: 'hospitals' | 'coordinator', fn: () => T): T => {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      time[party] += performance.now() - t0;
    }
  };
  const exchanged: Exchanged[] = [];
  const rejected: { from: number; error: SecAggMessageError }[] = [];
  const up = (u: number, message: SecAggMessage): void => {
    const sent = plan.tamperUpload?.(u, message) ?? message;
    exchanged.push({ from: u, to: 'coordinator', message: sent as SecAggMessage });
    try {
      timed('coordinator', () => coordinator.accept(u, sent));
    } catch (e) {
      if (!(e instanceof SecAggMessageError)) throw e;
      rejected.push({ from: u, error: e });
    }
  };
  const down = (u: number, message: SecAggMessage): void => {
    exchanged.push({ from: 'coordinator', to: u, message });
  };
  const stays = (u: number, after: DropPoint): boolean => plan.drops?.get(u) !== after;
  const active = (u: number): boolean => stays(u, 'before-advertising');

  const hospital = (u: number): SecAggHospital => hospitals.get(u)!;

  for (const [u, h] of hospitals)
    if (active(u))
      up(
        u,
        timed('hospitals', () => h.advertiseKeys()),
      );
  for (const [u, roster] of timed('coordinator', () => coordinator.closeAdvertising())) {
    down(u, roster);
    if (stays(u, 'after-advertising'))
      up(
        u,
        timed('hospitals', () => hospital(u).shareKeys(roster)),
      );
  }
  for (const [u, delivery] of timed('coordinator', () => coordinator.closeSharing())) {
    down(u, delivery);
    if (stays(u, 'after-sharing')) {
      up(
        u,
        timed('hospitals', () => hospital(u).maskInput(delivery, plan.inputs[u - 1]!)),
      );
    }
  }
  for (const [u, request] of timed('coordinator', () => coordinator.closeMasking())) {
    const sent = plan.tamperUnmaskRequest?.(u, request) ?? request;
    down(u, sent);
    if (stays(u, 'after-masking'))
      up(
        u,
        timed('hospitals', () => hospital(u).unmask(sent)),
      );
  }
  const result = timed('coordinator', () => coordinator.finish());
  return { result, coordinator, hospitals, graph, exchanged, rejected, time };
}

/** The sum modulo 2^32 of some hospitals' inputs (1-based indices). */
export function plainSum(inputs: readonly Uint32Array[], indices: Iterable<number>): Uint32Array {
  const sum = new Uint32Array(inputs[0]!.length);
  for (const u of indices) {
    const v = inputs[u - 1]!;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i]! + v[i]!) >>> 0;
  }
  return sum;
}
