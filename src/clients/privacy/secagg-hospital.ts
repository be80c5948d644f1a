import { hkdfSync } from 'node:crypto';
import { stream, type Rng } from '../../common/rng.ts';
import { messageNonce, open, seal } from '../../common/secagg/aead.ts';
import { SecAggRefusal, type RefusalReason } from '../../common/secagg/errors.ts';
import { areNeighbours, groupOf, type NeighbourGraph } from '../../common/secagg/graph.ts';
import {
  agree,
  KEY_BYTES,
  KeyAgreementError,
  keyPairFromBytes,
  type KeyPair,
} from '../../common/secagg/key-agreement.ts';
import { applyMask } from '../../common/secagg/mask.ts';
import {
  SECAGG_MESSAGES,
  SECRET_BYTES,
  SHARE_BYTES,
  SHARE_PLAINTEXT_BYTES,
  CIPHERTEXT_BYTES,
  type AdvertiseKeys,
  type EncryptedShares,
  type MaskedInput,
  type SecAggMessageContext,
  type UnmaskShares,
} from '../../common/secagg/messages.ts';
import { pairMaskSeed, pairSign, shareEncryptionKey } from '../../common/secagg/session.ts';
import { SECURE_MINIMUM } from '../../common/secagg/settings.ts';
import { shareSecret } from '../../common/secagg/shamir.ts';

/** What one hospital needs to take part in one round of secure aggregation. */
export interface SecAggHospitalConfig {
  /** Its index in the round, 1…n. */
  readonly index: number;
  readonly threshold: number;
  /** The round's public neighbour graph (complete, or SecAgg+'s). */
  readonly graph: NeighbourGraph;
  /** Words of the encoded input. */
  readonly vectorLength: number;
  /** Names the round, such as `seed-7/round-3`; binds keys, nonces and masks to it. */
  readonly session: string;
  /**
   * The hospital's own key material for this session (fresh for every round, country and restart of a round,
   * and keyed by its data: see secure-participant.ts). Each secret is derived from it on its own by HKDF-SHA-256
   * (its two private keys, its self-mask seed, each share polynomial's stream), so a secret the protocol reveals
   * (a survivor's self-mask seed, a polynomial the shares determine) says nothing of the others: from one stream
   * drawn in turn, the self-mask seed the coordinator rebuilds gave back the generator's state and, stepped back,
   * the mask private key. Runs repeat bit for bit; a real deployment must use fresh randomness.
   */
  readonly secret: Uint8Array;
  /** Test switch: send the input unmasked (shares still flow), to show that the privacy test needs the masks. */
  readonly testOnlyDisableMasks?: boolean;
}

type Stage = 'new' | 'advertised' | 'shared' | 'masked' | 'unmasked';

interface Peer {
  /** The X25519 secret agreed with the peer's share-encryption key. */
  readonly cipherSecret: Uint8Array;
  readonly maskSeed: Uint8Array;
}

/**
 * The hospital's side of SecAgg (Bonawitz et al. 2017) and SecAgg+ (Bell et al. 2020), as a state machine
 * driven by the coordinator's messages: advertise two public keys → send each neighbour its encrypted shares
 * of our mask-agreement private key and self-mask seed → send the input plus the self mask and the pairwise
 * masks → reveal self-mask shares of survivors and key shares of dropouts, never both for one peer and only
 * once. Every message it reads is validated; anything that would expose an update is refused with a
 * {@link SecAggRefusal}.
 */
export class SecAggHospital {
  readonly #c: SecAggHospitalConfig;
  readonly #ctx: SecAggMessageContext;
  readonly #group: Uint32Array;
  #stage: Stage = 'new';
  #cipher: KeyPair | undefined;
  #mask: KeyPair | undefined;
  #selfMaskSeed: Uint8Array | undefined;
  #ownSelfMaskShare: Uint8Array | undefined;
  readonly #peers = new Map<number, Peer>();
  /** Shares we hold for each peer that sent us its ciphertext: [key share, self-mask share]. */
  readonly #held = new Map<number, readonly [Uint8Array, Uint8Array]>();

  constructor(config: SecAggHospitalConfig) {
    this.#c = config;
    this.#ctx = { participants: config.graph.participants, vectorLength: config.vectorLength };
    this.#group = groupOf(config.graph, config.index);
    const m = this.#group.length;
    if (!Number.isInteger(config.threshold) || config.threshold <= m / 2 || config.threshold > m) {
      this.#refuse('weak-threshold', `threshold ${config.threshold} is not in (${m}/2, ${m}] for its group`);
    }
  }

  /** Stage 0: two fresh X25519 public keys, for share encryption and for mask agreement. */
  advertiseKeys(): AdvertiseKeys {
    this.#advance('new', 'advertised');
    this.#cipher = keyPairFromBytes(this.#derive('cipher-key', KEY_BYTES));
    this.#mask = keyPairFromBytes(this.#derive('mask-key', KEY_BYTES));
    return {
      kind: 'secagg/advertise-keys',
      cipherPublicKey: this.#cipher.publicKey.slice(),
      maskPublicKey: this.#mask.publicKey.slice(),
    };
  }

  /** Stage 1: reads the roster of neighbours' keys and returns one ciphertext of our shares per neighbour. */
  shareKeys(rosterMessage: unknown): EncryptedShares {
    this.#advance('advertised', 'shared');
    const roster = SECAGG_MESSAGES['secagg/key-roster'].validate(rosterMessage, this.#ctx);
    const u = this.#c.index;
    const t = this.#c.threshold;
    const peers = Array.from(roster.hospitals);
    for (const v of peers) {
      if (v === u || !areNeighbours(this.#c.graph, u, v)) {
        this.#refuse('not-a-neighbour', `the roster lists hospital ${v}, which is not a neighbour`, v);
      }
    }
    if (peers.length + 1 < t) {
      this.#refuse('too-few-peers', `${peers.length + 1} of its group advertised keys, threshold is ${t}`);
    }
    const keys = new Set([hex(this.#cipher!.publicKey), hex(this.#mask!.publicKey)]);
    peers.forEach((v, i) => {
      for (const key of [keyAt(roster.cipherPublicKeys, i), keyAt(roster.maskPublicKeys, i)]) {
        if (keys.has(hex(key))) this.#refuse('duplicate-keys', `hospital ${v}'s keys repeat another key`, v);
        keys.add(hex(key));
      }
    });

    this.#selfMaskSeed = this.#derive('self-mask', SECRET_BYTES);
    const holders = [...peers, u].sort((a, b) => a - b);
    const keyShares = shareSecret(this.#mask!.privateBytes, holders, t, this.#stream('mask-key-shares'));
    const seedShares = shareSecret(this.#selfMaskSeed, holders, t, this.#stream('self-mask-shares'));
    const ciphertexts = new Uint8Array(peers.length * CIPHERTEXT_BYTES);
    const session = new TextEncoder().encode(this.#c.session);
    let out = 0;
    holders.forEach((v, h) => {
      if (v === u) {
        this.#ownSelfMaskShare = seedShares[h]!.value;
        return;
      }
      const i = peers.indexOf(v);
      const cipherSecret = this.#agree(this.#cipher!, keyAt(roster.cipherPublicKeys, i), v);
      const maskSecret = this.#agree(this.#mask!, keyAt(roster.maskPublicKeys, i), v);
      this.#peers.set(v, { cipherSecret, maskSeed: pairMaskSeed(maskSecret, this.#c.session, u, v) });
      const plaintext = new Uint8Array(SHARE_PLAINTEXT_BYTES);
      const view = new DataView(plaintext.buffer);
      view.setUint32(0, u);
      view.setUint32(4, v);
      plaintext.set(keyShares[h]!.value, 8);
      plaintext.set(seedShares[h]!.value, 8 + SHARE_BYTES);
      const key = shareEncryptionKey(cipherSecret, this.#c.session, u, v);
      ciphertexts.set(seal(key, messageNonce(u, v, 0), plaintext, session), out);
      out += CIPHERTEXT_BYTES;
    });
    return { kind: 'secagg/encrypted-shares', recipients: Uint32Array.from(peers), ciphertexts };
  }

  /**
   * Stage 2: decrypts the shares delivered to us and returns `input` (the encoded update, mod 2^32) plus
   * our self mask and ± the pairwise mask with every neighbour that sent us shares.
   */
  maskInput(deliveryMessage: unknown, input: Uint32Array): MaskedInput {
    this.#advance('shared', 'masked');
    const delivery = SECAGG_MESSAGES['secagg/share-delivery'].validate(deliveryMessage, this.#ctx);
    if (input.length !== this.#c.vectorLength) {
      throw new RangeError(`the input must have ${this.#c.vectorLength} words, got ${input.length}`);
    }
    const u = this.#c.index;
    if (delivery.senders.length + 1 < this.#c.threshold) {
      this.#refuse(
        'too-few-peers',
        `${delivery.senders.length + 1} of its group shared keys, threshold is ${this.#c.threshold}`,
      );
    }
    const session = new TextEncoder().encode(this.#c.session);
    delivery.senders.forEach((v, i) => {
      const peer = this.#peers.get(v);
      if (peer === undefined) {
        this.#refuse('not-a-neighbour', `shares arrived from hospital ${v}, not on its roster`, v);
      }
      const key = shareEncryptionKey(peer.cipherSecret, this.#c.session, v, u);
      const sealed = delivery.ciphertexts.subarray(i * CIPHERTEXT_BYTES, (i + 1) * CIPHERTEXT_BYTES);
      const plaintext = open(key, messageNonce(v, u, 0), sealed, session);
      const view = plaintext && new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
      if (view === undefined || view.getUint32(0) !== v || view.getUint32(4) !== u) {
        this.#refuse('bad-ciphertext', `the shares from hospital ${v} fail authentication`, v);
      }
      this.#held.set(v, [
        plaintext!.slice(8, 8 + SHARE_BYTES),
        plaintext!.slice(8 + SHARE_BYTES, 8 + 2 * SHARE_BYTES),
      ]);
    });
    const vector = Uint32Array.from(input);
    if (this.#c.testOnlyDisableMasks !== true) {
      applyMask(vector, this.#selfMaskSeed!, 1);
      for (const v of delivery.senders) applyMask(vector, this.#peers.get(v)!.maskSeed, pairSign(u, v));
    }
    return { kind: 'secagg/masked-input', vector };
  }

  /**
   * Stage 3: reveals, for each peer whose shares we hold, its self-mask share if it survived or its key
   * share if it dropped, and our own self-mask share. Refuses a peer listed both ways, being listed as a
   * dropout, fewer than t survivors in our group or SECURE_MINIMUM in the sum, and any second request.
   */
  unmask(requestMessage: unknown): UnmaskShares {
    if (this.#stage === 'unmasked') this.#refuse('already-unmasked', 'it has already revealed its shares');
    this.#advance('masked', 'unmasked');
    const request = SECAGG_MESSAGES['secagg/unmask-request'].validate(requestMessage, this.#ctx);
    const u = this.#c.index;
    const survivors = new Set(request.survivors);
    const dropouts = new Set(request.dropouts);
    for (const v of survivors) {
      if (dropouts.has(v)) this.#refuse('reveal-both', `hospital ${v} is listed as survivor and dropout`, v);
    }
    if (!survivors.has(u) || dropouts.has(u)) {
      this.#refuse('listed-as-dropout', 'it sent its masked input but is not listed as a survivor');
    }
    if (survivors.size < SECURE_MINIMUM) {
      this.#refuse(
        'too-few-survivors',
        `${survivors.size} inputs would be in the sum, at least ${SECURE_MINIMUM}`,
      );
    }
    const alive = Array.from(this.#group).filter((v) => (v === u || this.#held.has(v)) && survivors.has(v));
    if (alive.length < this.#c.threshold) {
      this.#refuse(
        'too-few-survivors',
        `${alive.length} of its group survived, threshold is ${this.#c.threshold}`,
      );
    }
    const revealedDropouts = [...this.#held.keys()].filter((v) => dropouts.has(v)).sort((a, b) => a - b);
    const selfMaskShares = new Uint8Array(alive.length * SHARE_BYTES);
    alive.forEach((v, i) => {
      selfMaskShares.set(v === u ? this.#ownSelfMaskShare! : this.#held.get(v)![1], i * SHARE_BYTES);
    });
    const keyShares = new Uint8Array(revealedDropouts.length * SHARE_BYTES);
    revealedDropouts.forEach((v, i) => keyShares.set(this.#held.get(v)![0], i * SHARE_BYTES));
    return {
      kind: 'secagg/unmask-shares',
      selfMaskOwners: Uint32Array.from(alive),
      selfMaskShares,
      keyOwners: Uint32Array.from(revealedDropouts),
      keyShares,
    };
  }

  #agree(pair: KeyPair, peerPublicKey: Uint8Array, v: number): Uint8Array {
    try {
      return agree(pair.privateKey, peerPublicKey);
    } catch (e) {
      if (e instanceof KeyAgreementError)
        this.#refuse('bad-public-key', `hospital ${v}'s public key is unusable`, v);
      throw e;
    }
  }

  /** `length` bytes of the secret named `purpose`, independent of every other one (HKDF-SHA-256). */
  #derive(purpose: string, length: number): Uint8Array {
    return new Uint8Array(
      hkdfSync('sha256', this.#c.secret, new Uint8Array(0), `fedmed/secagg/${purpose}`, length),
    );
  }

  /** A generator of its own for `purpose`, seeded by a derived secret (its state reveals only its own draws). */
  #stream(purpose: string): Rng {
    return stream(0, 'secagg', Buffer.from(this.#derive(purpose, 32)).toString('hex'));
  }

  #advance(from: Stage, to: Stage): void {
    if (this.#stage !== from) this.#refuse('out-of-order', `asked for stage ${to} while at ${this.#stage}`);
    this.#stage = to;
  }

  #refuse(reason: RefusalReason, detail: string, peer?: number): never {
    throw new SecAggRefusal(this.#c.index, reason, detail, peer);
  }
}

function keyAt(keys: Uint8Array, i: number): Uint8Array {
  return keys.slice(i * KEY_BYTES, (i + 1) * KEY_BYTES);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
