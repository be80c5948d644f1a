import { createHash } from 'node:crypto';
import { stream } from '../../common/rng.ts';
import { SecAggMessageError, SecAggRefusal } from '../../common/secagg/errors.ts';
import { roundGraph } from '../../common/secagg/graph.ts';
import type { TypedVector } from '../../protocol/envelope.ts';
import type { SecAggSizes } from '../../protocol/kinds.ts';
import type { FitReply } from '../../protocol/messages.ts';
import type { SecureRoundSettings } from '../../protocol/secure-sums.ts';
import type { FaultBehaviour } from '../../scenario/schema.ts';
import { HospitalRefusal } from '../error-reports.ts';
import { SecAggHospital } from './secagg-hospital.ts';
import { secureContribution } from './secure-contribution.ts';

/** Vectors of a reply, by the names the kind table gives them. */
export type SecureVectors = readonly (readonly [string, TypedVector])[];

/** Who the participant is: its hospital, the run's seed and the round. */
export interface ParticipantIdentity {
  readonly hospital: string;
  readonly seed: number;
  readonly round: number;
  /** The hospital's `dataSecret` (data-secret.ts): keys and masks come from it with the seed, so the seed alone does not give them. */
  readonly secret: string;
}

/**
 * One hospital's part in one secure-aggregation round, inside its worker: it encodes its trained update
 * (which never leaves in the clear), then answers each stage's request through its {@link SecAggHospital}.
 * A refusal or a malformed request becomes a `refused` report; a test-only fault can make it drop out
 * after a stage, or send a malformed key, share ciphertexts or masked vector.
 */
export class SecureParticipant {
  readonly #hospital: SecAggHospital;
  readonly #encoded: Uint32Array;
  readonly #fault: FaultBehaviour | undefined;
  /** The most any of its replies may carry, for the worker's own size check before a reply leaves. */
  readonly bounds: SecAggSizes;

  private constructor(
    hospital: SecAggHospital,
    encoded: Uint32Array,
    fault: FaultBehaviour | undefined,
    participants: number,
  ) {
    this.#hospital = hospital;
    this.#encoded = encoded;
    this.#fault = fault;
    this.bounds = {
      peers: participants,
      encoded: encoded.length,
      survivors: participants,
      dropouts: participants,
    };
  }

  /** Encodes the trained update and advertises two public keys (the reply to a secure fit request). */
  static start(
    id: ParticipantIdentity,
    trained: FitReply,
    global: Float32Array,
    settings: SecureRoundSettings,
    learningRate: number,
    fault: FaultBehaviour | undefined,
  ): { participant: SecureParticipant; vectors: SecureVectors } {
    const rounds = `round-${id.round}`;
    const { encoded } = secureContribution(
      trained,
      global,
      settings,
      learningRate,
      stream(id.seed, 'secagg-quantise', id.hospital, rounds),
    );
    const hospital = guarded(
      () =>
        new SecAggHospital({
          index: settings.index,
          threshold: settings.threshold,
          graph: roundGraph(settings.participants, id.seed, id.round, settings.neighbours),
          vectorLength: encoded.length,
          session: settings.session,
          secret: sessionSecret(id, settings.session),
        }),
    );
    const keys = guarded(() => hospital.advertiseKeys());
    const maskKey =
      fault === 'secagg-bad-key' ? new Uint8Array(keys.maskPublicKey.length) : keys.maskPublicKey;
    return {
      participant: new SecureParticipant(hospital, encoded, fault, settings.participants),
      vectors: [
        ['cipher-key', keys.cipherPublicKey],
        ['mask-key', maskKey],
      ],
    };
  }

  /** Stage 1: the neighbours' keys in, this hospital's encrypted shares out. */
  roster(v: ReadonlyMap<string, TypedVector>): SecureVectors {
    this.#dropIf('secagg-drop-after-advertising');
    const shares = guarded(() =>
      this.#hospital.shareKeys({
        kind: 'secagg/key-roster',
        hospitals: v.get('hospitals'),
        cipherPublicKeys: v.get('cipher-keys'),
        maskPublicKeys: v.get('mask-keys'),
      }),
    );
    const ciphertexts =
      this.#fault === 'secagg-bad-shares' ? shares.ciphertexts.slice(1) : shares.ciphertexts;
    return [
      ['recipients', shares.recipients],
      ['ciphertexts', ciphertexts],
    ];
  }

  /** Stage 2: the shares addressed to it in, its masked input out. */
  delivery(v: ReadonlyMap<string, TypedVector>): SecureVectors {
    this.#dropIf('secagg-drop-after-sharing');
    const masked = guarded(() =>
      this.#hospital.maskInput(
        { kind: 'secagg/share-delivery', senders: v.get('senders'), ciphertexts: v.get('ciphertexts') },
        this.#encoded,
      ),
    );
    const vector = this.#fault === 'secagg-bad-masked' ? masked.vector.slice(1) : masked.vector;
    return [['masked', vector]];
  }

  /** Stage 3: who survived and who dropped in, its shares of their secrets out. */
  unmask(v: ReadonlyMap<string, TypedVector>): SecureVectors {
    this.#dropIf('secagg-drop-after-masking');
    const shares = guarded(() =>
      this.#hospital.unmask({
        kind: 'secagg/unmask-request',
        survivors: v.get('survivors'),
        dropouts: v.get('dropouts'),
      }),
    );
    return [
      ['self-mask-owners', shares.selfMaskOwners],
      ['self-mask-shares', shares.selfMaskShares],
      ['key-owners', shares.keyOwners],
      ['key-shares', shares.keyShares],
    ];
  }

  #dropIf(fault: FaultBehaviour): void {
    if (this.#fault === fault) throw new HospitalRefusal('injected');
  }
}

/** Runs a step of the protocol; a refusal or a malformed request from the coordinator is reported as `refused`. */
function guarded<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof SecAggRefusal) throw new HospitalRefusal('refused', `secure aggregation (${e.reason})`);
    if (e instanceof SecAggMessageError)
      throw new HospitalRefusal('refused', `secure aggregation (${e.field})`);
    throw e;
  }
}

/** The hospital's key material for one session: its seed, id, the session and its data secret, hashed. */
function sessionSecret(id: ParticipantIdentity, session: string): Uint8Array {
  const hash = createHash('sha256').update(JSON.stringify([id.seed, id.hospital, session, id.secret]));
  return new Uint8Array(hash.digest());
}
