import { roundGraph } from '../../common/secagg/graph.ts';
import { SecAggMessageError, SecAggRoundFailure } from '../../common/secagg/errors.ts';
import type { SecAggMessage } from '../../common/secagg/messages.ts';
import type { Transcript } from '../../common/secagg/transcript.ts';
import { decode, encodedLength, plausibleSum } from '../../common/secagg/quantise.ts';
import type { TypedVector } from '../../protocol/envelope.ts';
import type { MessageSizes, RequestKind, SecAggSizes } from '../../protocol/kinds.ts';
import type { SecureFitInstructions, SecureRoundSettings } from '../../protocol/secure-sums.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { ProtocolViolation, type AdmittedReply } from '../boundary.ts';
import { Channel, type Pending } from '../channel.ts';
import { STATE_VECTOR, type ClientStateStore } from '../state-store.ts';
import type { Failure, FitAssignment, Strategy } from '../strategies/strategy.ts';
import { SecAggCoordinator } from '../../common/secagg/coordinator.ts';
import { thresholdFor, type SecurePlan } from './secure-plan.ts';

/** What one secure exchange needs from the run. */
export interface SecureExchangeContext {
  readonly scenario: Scenario;
  readonly strategy: Strategy;
  readonly plan: SecurePlan;
  readonly channel: Channel;
  readonly sizes: MessageSizes;
  /** Hospitals' state blobs: sent with each fit request, kept again only for hospitals in the sum. */
  readonly states: ClientStateStore;
}

/** What a secure exchange produced, or why it failed (with the hospitals that dropped out on the way). */
export type ExchangeOutcome =
  | {
      /** The decoded sums, in the plan's part order. */
      readonly parts: Float64Array[];
      readonly survivors: string[];
      readonly dropouts: string[];
      readonly failures: Failure[];
      readonly threshold: number;
      /** Every message the server's side accepted, in order (index in the group, message). */
      readonly transcript: Transcript;
    }
  | { readonly reason: string; readonly failures: Failure[] };

/** The session of a flat round: binds keys, nonces and masks to the run and round. */
export function roundSession(seed: number, round: number): string {
  return `seed-${seed}/round-${round}`;
}

/**
 * The session of a round's `attempt`-th restart (after a worker thread died): fresh keys, nonces and masks, so
 * that no two attempts' transcripts together unmask a hospital that was lost between them.
 */
export function attemptSession(session: string, attempt: number): string {
  return attempt === 0 ? session : `${session}/attempt-${attempt}`;
}

/** Names of the reply vectors that carry a secure-aggregation message's fields. */
export const FIELD_TO_VECTOR: Readonly<Record<string, string>> = {
  cipherPublicKey: 'cipher-key',
  maskPublicKey: 'mask-key',
  vector: 'masked',
  selfMaskOwners: 'self-mask-owners',
  selfMaskShares: 'self-mask-shares',
  keyOwners: 'key-owners',
  keyShares: 'key-shares',
};

/**
 * The four exchanges of one SecAgg round among `chosen` (one group: the round's hospitals in the flat topology,
 * one country's in the hierarchical one), with the coordinator's side run by a {@link SecAggCoordinator}; the
 * decoded parts and who was in them, the raw sum and every message the server's side accepted (its
 * transcript), or why the round failed (its reason does not name the round: the caller does).
 */
export async function secureExchange(
  c: SecureExchangeContext,
  round: number,
  global: Float32Array,
  chosen: readonly FitAssignment[],
  excluded: ReadonlyMap<string, string>,
  /** Binds keys, nonces and masks to the run, round and group (see {@link roundSession}). */
  session: string,
): Promise<ExchangeOutcome> {
  const { scenario, plan, channel, strategy } = c;
  const n = chosen.length;
  const ids = chosen.map((a) => a.hospital);
  const idOf = (u: number) => ids[u - 1]!;
  const threshold = thresholdFor(plan.settings, n);
  const k = plan.settings.neighbours;
  const graph = roundGraph(n, scenario.seed, round, k);
  const vectorLength = encodedLength(plan.quantisation);
  const coordinator = new SecAggCoordinator({ threshold, graph, vectorLength, session });
  const failures: Failure[] = [];

  /** Sends one stage's requests, then admits the replies in ascending index order through the coordinator. */
  const stage = async (
    kind: RequestKind,
    requests: ReadonlyMap<number, { vectors: readonly (readonly [string, TypedVector])[]; body: unknown }>,
    expect: (u: number) => { vectors: readonly string[]; secagg: SecAggSizes; optional?: string[] },
    message: (u: number, r: AdmittedReply) => SecAggMessage,
  ): Promise<Map<string, AdmittedReply>> => {
    const admitted = new Map<string, AdmittedReply>();
    const order = [...requests.keys()].sort((a, b) => a - b);
    const pending: Pending[] = await Promise.all(
      order.map((u) => {
        const r = requests.get(u)!;
        return channel.send(round, idOf(u), kind, Channel.body(r.vectors), r.body);
      }),
    );
    order.forEach((u, i) => {
      const hospital = idOf(u);
      const e = expect(u);
      const received = channel.receive(round, hospital, kind, pending[i]!, {
        sizes: { ...c.sizes, secagg: e.secagg },
        vectors: e.vectors,
        ...(e.optional === undefined ? {} : { optionalVectors: e.optional }),
        counts: {},
        check: (reply) => {
          try {
            coordinator.accept(u, message(u, reply));
          } catch (err) {
            if (!(err instanceof SecAggMessageError)) throw err;
            const field = FIELD_TO_VECTOR[err.field] ?? err.field;
            throw new ProtocolViolation(hospital, `vectors.${field}`, err.expected, 'another value');
          }
        },
      });
      if ('reason' in received) failures.push({ hospital, reason: received.reason });
      else admitted.set(hospital, received.reply);
    });
    return admitted;
  };
  const none: SecAggSizes = { peers: 0, encoded: 0, survivors: 0, dropouts: 0 };
  const extra = strategy.broadcastVectors?.(round, global) ?? {};
  const fitVectors: [string, TypedVector][] = [['parameters', global]];
  if (extra.control !== undefined) fitVectors.push(['control', extra.control]);
  for (const [hospital, reason] of excluded) failures.push({ hospital, reason });
  try {
    const trained = await stage(
      'secagg-fit-request',
      new Map(
        chosen.flatMap((a, i) => {
          if (excluded.has(a.hospital)) return [];
          const state = c.states.get(a.hospital);
          const secure: SecureRoundSettings = {
            index: i + 1,
            participants: n,
            threshold,
            ...(k === undefined ? {} : { neighbours: k }),
            session,
            bits: plan.quantisation.bits,
            maxWeight: plan.quantisation.maxWeight,
            weighting: plan.sums.weighting,
            parts: plan.quantisation.parts,
            ...(plan.sums.fairness === undefined ? {} : { fairness: plan.sums.fairness }),
            ...(plan.dp === undefined
              ? {}
              : {
                  dp: {
                    clipNorm: plan.dp.clipNorm,
                    ...(plan.dp.weightCap === undefined ? {} : { weightCap: plan.dp.weightCap }),
                  },
                }),
          };
          const body: SecureFitInstructions = { ...a.instructions, secure };
          const vectors = state === undefined ? fitVectors : [...fitVectors, [STATE_VECTOR, state] as const];
          return [[i + 1, { vectors, body }] as const];
        }),
      ),
      () => ({ vectors: ['cipher-key', 'mask-key'], secagg: none, optional: [STATE_VECTOR] }),
      (_u, r) => ({
        kind: 'secagg/advertise-keys',
        cipherPublicKey: r.vectors.get('cipher-key') as Uint8Array,
        maskPublicKey: r.vectors.get('mask-key') as Uint8Array,
      }),
    );
    const rosters = coordinator.closeAdvertising();
    await stage(
      'secagg-roster',
      new Map(
        [...rosters].map(([u, r]) => [
          u,
          {
            vectors: [
              ['hospitals', r.hospitals],
              ['cipher-keys', r.cipherPublicKeys],
              ['mask-keys', r.maskPublicKeys],
            ],
            body: { round },
          },
        ]),
      ),
      (u) => ({
        vectors: ['recipients', 'ciphertexts'],
        secagg: { ...none, peers: rosters.get(u)!.hospitals.length },
      }),
      (_u, r) => ({
        kind: 'secagg/encrypted-shares',
        recipients: r.vectors.get('recipients') as Uint32Array,
        ciphertexts: r.vectors.get('ciphertexts') as Uint8Array,
      }),
    );
    const deliveries = coordinator.closeSharing();
    await stage(
      'secagg-delivery',
      new Map(
        [...deliveries].map(([u, d]) => [
          u,
          {
            vectors: [
              ['senders', d.senders],
              ['ciphertexts', d.ciphertexts],
            ],
            body: { round },
          },
        ]),
      ),
      () => ({ vectors: ['masked'], secagg: { ...none, encoded: vectorLength } }),
      (_u, r) => ({ kind: 'secagg/masked-input', vector: r.vectors.get('masked') as Uint32Array }),
    );
    const requests = coordinator.closeMasking();
    const expected = (u: number) => {
      const request = requests.get(u)!;
      const holds = [...deliveries.get(u)!.senders, u];
      return {
        survivors: holds.filter((v) => request.survivors.includes(v)).length,
        dropouts: holds.filter((v) => v !== u && request.dropouts.includes(v)).length,
      };
    };
    await stage(
      'secagg-unmask',
      new Map(
        [...requests].map(([u, r]) => [
          u,
          {
            vectors: [
              ['survivors', r.survivors],
              ['dropouts', r.dropouts],
            ],
            body: { round },
          },
        ]),
      ),
      (u) => ({
        vectors: ['self-mask-owners', 'self-mask-shares', 'key-owners', 'key-shares'],
        secagg: { ...none, ...expected(u) },
      }),
      (_u, r) => ({
        kind: 'secagg/unmask-shares',
        selfMaskOwners: r.vectors.get('self-mask-owners') as Uint32Array,
        selfMaskShares: r.vectors.get('self-mask-shares') as Uint8Array,
        keyOwners: r.vectors.get('key-owners') as Uint32Array,
        keyShares: r.vectors.get('key-shares') as Uint8Array,
      }),
    );
    const result = coordinator.finish();
    if (!plausibleSum(plan.quantisation, result.sum, result.survivors.length)) {
      return {
        failures,
        reason:
          `secure aggregation failed: the unmasked sum lies outside what ` +
          `${result.survivors.length} honest hospitals can send (a masked input or a share was not the protocol's)`,
      };
    }
    // Only hospitals in the sum keep the state they trained to: the others' updates were not counted.
    for (const u of result.survivors) c.states.take(idOf(u), trained.get(idOf(u))!);
    return {
      parts: decode(plan.quantisation, result.sum),
      survivors: Array.from(result.survivors, idOf),
      dropouts: Array.from(result.dropouts, idOf),
      failures,
      threshold,
      transcript: coordinator.received,
    };
  } catch (e) {
    if (!(e instanceof SecAggRoundFailure)) throw e;
    const who = e.hospital === undefined ? '' : ` (hospital ${idOf(e.hospital)})`;
    const why =
      e.reason === 'too-few-hospitals'
        ? `${e.got} hospitals answered at ${e.stage}, threshold t = ${e.needed} of ${n}`
        : e.reason === 'too-small-sum'
          ? `${e.got} masked inputs arrived, a secure sum needs at least ${e.needed}: no shares were asked for`
          : e.reason === 'too-few-shares'
            ? `${e.got} shares of a secret arrived, t = ${e.needed} needed${who}`
            : `shares that do not rebuild the advertised key${who}`;
    return {
      failures,
      reason:
        `secure aggregation failed: ${why}` +
        (failures.length > 0 ? `; ${failures.map((f) => f.reason).join('; ')}` : ''),
    };
  }
}
