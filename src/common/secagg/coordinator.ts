import {
  SecAggMessageError,
  SecAggRoundFailure,
  SecAggSequenceError,
  type RoundFailureReason,
  type SecAggStage,
} from './errors.ts';
import type { NeighbourGraph } from './graph.ts';
import { agree, isUsablePublicKey, KEY_BYTES, keyPairFromBytes } from './key-agreement.ts';
import { addInto, applyMask } from './mask.ts';
import {
  CIPHERTEXT_BYTES,
  SECAGG_MESSAGES,
  SECRET_BYTES,
  SHARE_BYTES,
  type AdvertiseKeys,
  type EncryptedShares,
  type KeyRoster,
  type MaskedInput,
  type SecAggKind,
  type SecAggMessage,
  type SecAggMessageContext,
  type ShareDelivery,
  type UnmaskRequest,
  type UnmaskShares,
} from './messages.ts';
import { pairMaskSeed, pairSign } from './session.ts';
import type { Transcript } from './transcript.ts';
import { SECURE_MINIMUM } from './settings.ts';
import { reconstructSecret, ShamirError, type Share } from './shamir.ts';

/** The public parameters of one round, as the coordinator runs it. */
export interface SecAggCoordinatorConfig {
  readonly threshold: number;
  readonly graph: NeighbourGraph;
  /** Words of every masked input. */
  readonly vectorLength: number;
  /** Names the round, as the hospitals were told. */
  readonly session: string;
  /** Test switch matching the hospitals': the inputs arrive unmasked, so no mask is removed. */
  readonly testOnlyDisableMasks?: boolean;
}

/** The round's output: the sum of the survivors' inputs mod 2^32, and who the survivors and dropouts were. */
export interface SecAggResult {
  readonly sum: Uint32Array;
  /** Hospitals whose inputs are in the sum. */
  readonly survivors: Uint32Array;
  /** Hospitals that shared keys but sent no masked input; their pairwise masks were rebuilt and removed. */
  readonly dropouts: Uint32Array;
}

/** Everything the coordinator holds about a round: what it received and what it rebuilt. */
export interface HeldMaterial {
  readonly received: Transcript;
  /** Self-mask seeds of survivors, rebuilt from shares. */
  readonly selfMaskSeeds: ReadonlyMap<number, Uint8Array>;
  /** Mask-agreement private keys of dropouts, rebuilt from shares. */
  readonly maskPrivateKeys: ReadonlyMap<number, Uint8Array>;
  readonly result?: SecAggResult;
}

type Stage = SecAggStage | 'done' | 'failed';

const KIND_OF_STAGE: Record<SecAggStage, SecAggKind> = {
  'advertise-keys': 'secagg/advertise-keys',
  'encrypted-shares': 'secagg/encrypted-shares',
  'masked-input': 'secagg/masked-input',
  'unmask-shares': 'secagg/unmask-shares',
};

/**
 * The coordinator's side of SecAgg / SecAgg+ as a state machine: it accepts each stage's messages (validated
 * against the declared kinds and against what each hospital was sent), routes public keys and ciphertexts,
 * and at the end rebuilds the survivors' self-mask seeds and the dropouts' mask keys from shares and outputs
 * only the sum. Each `close…` ends a stage; fewer than t hospitals left at any stage, or a secret with fewer
 * than t shares, fails the round with a {@link SecAggRoundFailure}, as does a rebuilt key that does not match
 * its advertised public key.
 */
export class SecAggCoordinator {
  readonly #c: SecAggCoordinatorConfig;
  readonly #ctx: SecAggMessageContext;
  #stage: Stage = 'advertise-keys';
  readonly #received: { from: number; message: SecAggMessage }[] = [];
  readonly #keys = new Map<number, AdvertiseKeys>();
  readonly #advertisedKeys = new Set<string>();
  readonly #rosters = new Map<number, KeyRoster>();
  readonly #shares = new Map<number, EncryptedShares>();
  readonly #deliveries = new Map<number, ShareDelivery>();
  readonly #masked = new Map<number, MaskedInput>();
  #request: UnmaskRequest | undefined;
  readonly #unmask = new Map<number, UnmaskShares>();
  readonly #selfMaskSeeds = new Map<number, Uint8Array>();
  readonly #maskPrivateKeys = new Map<number, Uint8Array>();
  #result: SecAggResult | undefined;

  constructor(config: SecAggCoordinatorConfig) {
    this.#c = config;
    this.#ctx = { participants: config.graph.participants, vectorLength: config.vectorLength };
  }

  /** The stage whose messages are being accepted, or `done` / `failed`. */
  get stage(): Stage {
    return this.#stage;
  }

  /**
   * Accepts hospital `from`'s message for the current stage. A message of the wrong kind or shape, from a
   * hospital not asked for one, or a second one, throws {@link SecAggMessageError} and is not kept: the
   * caller treats that hospital as dropped. Feed each stage's messages in ascending hospital order: the
   * outcome then depends on nothing else (of two hospitals advertising one key, the later is rejected).
   */
  accept(from: number, value: unknown): void {
    const stage = this.#stage;
    if (stage === 'done' || stage === 'failed') throw new SecAggSequenceError(`the round is ${stage}`);
    const kind = KIND_OF_STAGE[stage];
    const reject = (field: string, expected: string): never => {
      throw new SecAggMessageError(kind, field, expected, from);
    };
    if (!Number.isInteger(from) || from < 1 || from > this.#c.graph.participants) {
      reject('sender', `a hospital index in [1, ${this.#c.graph.participants}]`);
    }
    let message: SecAggMessage;
    try {
      message = SECAGG_MESSAGES[kind].validate(value, this.#ctx);
    } catch (e) {
      if (e instanceof SecAggMessageError) reject(e.field, e.expected);
      throw e;
    }
    switch (message.kind) {
      case 'secagg/advertise-keys':
        if (this.#keys.has(from)) reject('sender', 'a hospital that has not advertised yet');
        for (const field of ['cipherPublicKey', 'maskPublicKey'] as const) {
          if (!isUsablePublicKey(message[field])) {
            reject(field, 'a usable X25519 public key (not a low-order point)');
          }
          if (this.#advertisedKeys.has(hex(message[field])))
            reject(field, 'a key no hospital has advertised');
        }
        if (hex(message.cipherPublicKey) === hex(message.maskPublicKey)) {
          reject('maskPublicKey', 'a different key from cipherPublicKey');
        }
        this.#advertisedKeys.add(hex(message.cipherPublicKey)).add(hex(message.maskPublicKey));
        this.#keys.set(from, message);
        break;
      case 'secagg/encrypted-shares': {
        const roster = this.#rosters.get(from);
        if (roster === undefined) reject('sender', 'a hospital that was sent a key roster');
        if (this.#shares.has(from)) reject('sender', 'a hospital that has not sent its shares yet');
        if (!sameIndices(message.recipients, roster!.hospitals)) {
          reject('recipients', 'exactly the hospitals on its key roster');
        }
        this.#shares.set(from, message);
        break;
      }
      case 'secagg/masked-input':
        if (!this.#deliveries.has(from)) reject('sender', 'a hospital that was delivered shares');
        if (this.#masked.has(from)) reject('sender', 'a hospital that has not sent its masked input yet');
        this.#masked.set(from, message);
        break;
      case 'secagg/unmask-shares': {
        if (!this.#masked.has(from)) reject('sender', 'a hospital whose masked input is in the sum');
        if (this.#unmask.has(from)) reject('sender', 'a hospital that has not sent its unmasking shares yet');
        const expected = this.#expectedReveal(from);
        if (!sameIndices(message.selfMaskOwners, expected.selfMaskOwners)) {
          reject('selfMaskOwners', 'exactly the survivors among those whose shares it holds, and itself');
        }
        if (!sameIndices(message.keyOwners, expected.keyOwners)) {
          reject('keyOwners', 'exactly the dropouts among those whose shares it holds');
        }
        this.#unmask.set(from, message);
        break;
      }
      default:
        reject('kind', 'a hospital’s message');
    }
    this.#received.push({ from, message });
  }

  /** Ends stage 0: each hospital that advertised gets the keys of its neighbours that did. */
  closeAdvertising(): Map<number, KeyRoster> {
    this.#close('advertise-keys', 'encrypted-shares', this.#keys.size);
    const out = new Map<number, KeyRoster>();
    for (const u of sorted(this.#keys.keys())) {
      const peers = Array.from(this.#c.graph.neighbours[u - 1]!).filter((v) => this.#keys.has(v));
      if (peers.length + 1 < this.#c.threshold) continue;
      const cipherPublicKeys = new Uint8Array(peers.length * KEY_BYTES);
      const maskPublicKeys = new Uint8Array(peers.length * KEY_BYTES);
      peers.forEach((v, i) => {
        cipherPublicKeys.set(this.#keys.get(v)!.cipherPublicKey, i * KEY_BYTES);
        maskPublicKeys.set(this.#keys.get(v)!.maskPublicKey, i * KEY_BYTES);
      });
      const roster: KeyRoster = {
        kind: 'secagg/key-roster',
        hospitals: Uint32Array.from(peers),
        cipherPublicKeys,
        maskPublicKeys,
      };
      this.#rosters.set(u, roster);
      out.set(u, roster);
    }
    return out;
  }

  /** Ends stage 1: each hospital that shared gets the ciphertexts addressed to it. */
  closeSharing(): Map<number, ShareDelivery> {
    this.#close('encrypted-shares', 'masked-input', this.#shares.size);
    const out = new Map<number, ShareDelivery>();
    for (const u of sorted(this.#shares.keys())) {
      const senders: number[] = [];
      const pieces: Uint8Array[] = [];
      for (const v of sorted(this.#shares.keys())) {
        const sent = this.#shares.get(v)!;
        const at = sent.recipients.indexOf(u);
        if (at < 0) continue;
        senders.push(v);
        pieces.push(sent.ciphertexts.subarray(at * CIPHERTEXT_BYTES, (at + 1) * CIPHERTEXT_BYTES));
      }
      if (senders.length + 1 < this.#c.threshold) continue;
      const ciphertexts = new Uint8Array(senders.length * CIPHERTEXT_BYTES);
      pieces.forEach((p, i) => ciphertexts.set(p, i * CIPHERTEXT_BYTES));
      const delivery: ShareDelivery = {
        kind: 'secagg/share-delivery',
        senders: Uint32Array.from(senders),
        ciphertexts,
      };
      this.#deliveries.set(u, delivery);
      out.set(u, delivery);
    }
    return out;
  }

  /** Ends stage 2: every hospital whose masked input arrived is asked for its unmasking shares. */
  closeMasking(): Map<number, UnmaskRequest> {
    this.#close('masked-input', 'unmask-shares', this.#masked.size);
    if (this.#masked.size < SECURE_MINIMUM) {
      const got = this.#masked.size;
      const detail = `${got} masked inputs arrived, a sum needs ${SECURE_MINIMUM}: no shares are asked for`;
      this.#fail('too-small-sum', SECURE_MINIMUM, got, detail, undefined, 'masked-input');
    }
    const survivors = Uint32Array.from(sorted(this.#masked.keys()));
    const dropouts = Uint32Array.from(sorted(this.#shares.keys()).filter((v) => !this.#masked.has(v)));
    this.#request = { kind: 'secagg/unmask-request', survivors, dropouts };
    const out = new Map<number, UnmaskRequest>();
    for (const u of survivors)
      out.set(u, { ...this.#request, survivors: survivors.slice(), dropouts: dropouts.slice() });
    return out;
  }

  /** Ends stage 3: rebuilds the secrets it needs from the shares and returns the sum of the survivors' inputs. */
  finish(): SecAggResult {
    this.#close('unmask-shares', 'done', this.#unmask.size);
    try {
      const { survivors, dropouts } = this.#request!;
      const sum = new Uint32Array(this.#c.vectorLength);
      for (const u of survivors) addInto(sum, this.#masked.get(u)!.vector);
      for (const u of survivors) {
        const seed = this.#rebuild(u, 'selfMaskOwners', 'selfMaskShares');
        this.#selfMaskSeeds.set(u, seed);
        if (this.#c.testOnlyDisableMasks !== true) applyMask(sum, seed, -1);
      }
      for (const v of dropouts) {
        const privateBytes = this.#rebuild(v, 'keyOwners', 'keyShares');
        const pair = keyPairFromBytes(privateBytes);
        if (!equalBytes(pair.publicKey, this.#keys.get(v)!.maskPublicKey)) {
          const detail = `the shares of hospital ${v}'s mask key rebuild a key it did not advertise`;
          this.#fail('inconsistent-shares', this.#c.threshold, this.#c.threshold, detail, v);
        }
        this.#maskPrivateKeys.set(v, privateBytes);
        if (this.#c.testOnlyDisableMasks === true) continue;
        for (const u of survivors) {
          if (!this.#deliveries.get(u)!.senders.includes(v)) continue;
          const seed = pairMaskSeed(
            agree(pair.privateKey, this.#keys.get(u)!.maskPublicKey),
            this.#c.session,
            u,
            v,
          );
          applyMask(sum, seed, pairSign(u, v) === 1 ? -1 : 1);
        }
      }
      this.#result = { sum, survivors: survivors.slice(), dropouts: dropouts.slice() };
      return this.#result;
    } catch (e) {
      this.#stage = 'failed';
      throw e;
    }
  }

  /** Every message accepted so far, in order (the coordinator's own record: not to be changed). */
  get received(): Transcript {
    return this.#received;
  }

  /** A copy of everything the coordinator holds about the round (for audits and the privacy tests). */
  held(): HeldMaterial {
    const copy = (m: ReadonlyMap<number, Uint8Array>) => new Map([...m].map(([k, v]) => [k, v.slice()]));
    return {
      received: this.#received.map(({ from, message }) => ({ from, message: copyMessage(message) })),
      selfMaskSeeds: copy(this.#selfMaskSeeds),
      maskPrivateKeys: copy(this.#maskPrivateKeys),
      ...(this.#result === undefined ? {} : { result: this.#result }),
    };
  }

  /** What hospital w must reveal: the survivors and dropouts among those whose shares it holds. */
  #expectedReveal(w: number): { selfMaskOwners: number[]; keyOwners: number[] } {
    const { survivors, dropouts } = this.#request!;
    const holds = [...this.#deliveries.get(w)!.senders, w].sort((a, b) => a - b);
    return {
      selfMaskOwners: holds.filter((v) => survivors.includes(v)),
      keyOwners: holds.filter((v) => v !== w && dropouts.includes(v)),
    };
  }

  /** Rebuilds hospital `owner`'s secret from the first t shares (by holder index) revealed for it. */
  #rebuild(
    owner: number,
    owners: 'selfMaskOwners' | 'keyOwners',
    shares: 'selfMaskShares' | 'keyShares',
  ): Uint8Array {
    const found: Share[] = [];
    for (const w of sorted(this.#unmask.keys())) {
      const reply = this.#unmask.get(w)!;
      const at = reply[owners].indexOf(owner);
      if (at >= 0)
        found.push({ index: w, value: reply[shares].slice(at * SHARE_BYTES, (at + 1) * SHARE_BYTES) });
    }
    const what = owners === 'selfMaskOwners' ? 'self-mask seed' : 'mask key';
    const t = this.#c.threshold;
    if (found.length < t) {
      const detail = `${found.length} shares of hospital ${owner}'s ${what} arrived, ${t} needed`;
      this.#fail('too-few-shares', t, found.length, detail, owner);
    }
    try {
      return reconstructSecret(found, t, SECRET_BYTES);
    } catch (e) {
      if (e instanceof ShamirError)
        this.#fail(
          'inconsistent-shares',
          t,
          found.length,
          `the shares of hospital ${owner}'s ${what} do not fit`,
          owner,
        );
      throw e;
    }
  }

  #close(stage: SecAggStage, next: Stage, got: number): void {
    if (this.#stage !== stage) throw new SecAggSequenceError(`cannot end ${stage} while at ${this.#stage}`);
    const t = this.#c.threshold;
    if (got < t)
      this.#fail('too-few-hospitals', t, got, `${got} hospitals answered, ${t} needed`, undefined, stage);
    this.#stage = next;
  }

  #fail(
    reason: RoundFailureReason,
    needed: number,
    got: number,
    detail: string,
    hospital?: number,
    stage: SecAggStage = 'unmask-shares',
  ): never {
    this.#stage = 'failed';
    throw new SecAggRoundFailure(stage, reason, needed, got, detail, hospital);
  }
}

function sorted(keys: Iterable<number>): number[] {
  return [...keys].sort((a, b) => a - b);
}

function sameIndices(a: Uint32Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function copyMessage(message: SecAggMessage): SecAggMessage {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(message))
    out[k] = ArrayBuffer.isView(v) ? (v as Uint8Array).slice() : v;
  return out as unknown as SecAggMessage;
}
