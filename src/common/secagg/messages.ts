import { TAG_BYTES } from './aead.ts';
import { SecAggMessageError } from './errors.ts';
import { KEY_BYTES } from './key-agreement.ts';
import { shareByteLength } from './shamir.ts';

/**
 * Every message of the secure-aggregation protocol: plain objects of typed arrays and a `kind`, one
 * validator each (exact fields, element types, lengths, index ranges and order) and their byte counts, in
 * one table ({@link SECAGG_MESSAGES}) that the coordinator's boundary and crossing record can read.
 * Hospitals are named by their index in the round, 1…n. Index lists are strictly ascending.
 */

/** Bytes of each secret a hospital shares: its mask-agreement private key and its self-mask seed. */
export const SECRET_BYTES = KEY_BYTES;
/** Bytes of one Shamir share of a 32-byte secret. */
export const SHARE_BYTES = shareByteLength(SECRET_BYTES);
/** Plaintext of one encrypted share message: sender index, receiver index (uint32 each), two shares. */
export const SHARE_PLAINTEXT_BYTES = 8 + 2 * SHARE_BYTES;
/** One AES-256-GCM ciphertext of that plaintext, tag included. */
export const CIPHERTEXT_BYTES = SHARE_PLAINTEXT_BYTES + TAG_BYTES;

/** Round 0, hospital → coordinator: the hospital's two public keys (share encryption, mask agreement). */
export interface AdvertiseKeys {
  readonly kind: 'secagg/advertise-keys';
  readonly cipherPublicKey: Uint8Array;
  readonly maskPublicKey: Uint8Array;
}

/** Coordinator → hospital: the keys of its neighbours that advertised, ascending by index. */
export interface KeyRoster {
  readonly kind: 'secagg/key-roster';
  readonly hospitals: Uint32Array;
  /** 32 bytes per hospital, in the order of `hospitals`. */
  readonly cipherPublicKeys: Uint8Array;
  readonly maskPublicKeys: Uint8Array;
}

/** Round 1, hospital → coordinator: one ciphertext of its shares for each neighbour on its roster. */
export interface EncryptedShares {
  readonly kind: 'secagg/encrypted-shares';
  readonly recipients: Uint32Array;
  /** {@link CIPHERTEXT_BYTES} per recipient, in the order of `recipients`. */
  readonly ciphertexts: Uint8Array;
}

/** Coordinator → hospital: the ciphertexts addressed to it, by sender. */
export interface ShareDelivery {
  readonly kind: 'secagg/share-delivery';
  readonly senders: Uint32Array;
  readonly ciphertexts: Uint8Array;
}

/** Round 2, hospital → coordinator: its encoded input plus its self mask and pairwise masks, mod 2^32. */
export interface MaskedInput {
  readonly kind: 'secagg/masked-input';
  readonly vector: Uint32Array;
}

/** Coordinator → hospital: who sent a masked input (survivors) and who shared keys but did not (dropouts). */
export interface UnmaskRequest {
  readonly kind: 'secagg/unmask-request';
  readonly survivors: Uint32Array;
  readonly dropouts: Uint32Array;
}

/** Round 3, hospital → coordinator: its shares of survivors' self-mask seeds and of dropouts' mask keys. */
export interface UnmaskShares {
  readonly kind: 'secagg/unmask-shares';
  readonly selfMaskOwners: Uint32Array;
  /** {@link SHARE_BYTES} per owner, in the order of `selfMaskOwners`. */
  readonly selfMaskShares: Uint8Array;
  readonly keyOwners: Uint32Array;
  readonly keyShares: Uint8Array;
}

/** Any secure-aggregation message. */
export type SecAggMessage =
  AdvertiseKeys | KeyRoster | EncryptedShares | ShareDelivery | MaskedInput | UnmaskRequest | UnmaskShares;

/** A message's kind. */
export type SecAggKind = SecAggMessage['kind'];

/** What a validator needs to know about the round. */
export interface SecAggMessageContext {
  /** Hospitals in the round: indices run 1…participants. */
  readonly participants: number;
  /** Words of a masked input (the encoded vector's length). */
  readonly vectorLength: number;
}

/** One kind's entry in the table. */
export interface SecAggKindSpec<M extends SecAggMessage> {
  readonly direction: 'hospital-to-coordinator' | 'coordinator-to-hospital';
  /** What the message carries, in words. */
  readonly carries: string;
  /** Returns the message typed, or throws {@link SecAggMessageError} naming the field and what was expected. */
  readonly validate: (value: unknown, ctx: SecAggMessageContext) => M;
}

type Table = { readonly [K in SecAggKind]: SecAggKindSpec<Extract<SecAggMessage, { kind: K }>> };

/** The declared kinds of secure-aggregation messages. */
export const SECAGG_MESSAGES: Table = {
  'secagg/advertise-keys': {
    direction: 'hospital-to-coordinator',
    carries: 'two X25519 public keys',
    validate: (value) => {
      const kind = 'secagg/advertise-keys';
      const o = fields(value, kind, ['kind', 'cipherPublicKey', 'maskPublicKey']);
      return {
        kind,
        cipherPublicKey: bytes(o.cipherPublicKey, kind, 'cipherPublicKey', KEY_BYTES),
        maskPublicKey: bytes(o.maskPublicKey, kind, 'maskPublicKey', KEY_BYTES),
      };
    },
  },
  'secagg/key-roster': {
    direction: 'coordinator-to-hospital',
    carries: 'neighbours’ indices and public keys',
    validate: (value, ctx) => {
      const kind = 'secagg/key-roster';
      const o = fields(value, kind, ['kind', 'hospitals', 'cipherPublicKeys', 'maskPublicKeys']);
      const hospitals = indices(o.hospitals, kind, 'hospitals', ctx.participants);
      return {
        kind,
        hospitals,
        cipherPublicKeys: bytes(o.cipherPublicKeys, kind, 'cipherPublicKeys', hospitals.length * KEY_BYTES),
        maskPublicKeys: bytes(o.maskPublicKeys, kind, 'maskPublicKeys', hospitals.length * KEY_BYTES),
      };
    },
  },
  'secagg/encrypted-shares': {
    direction: 'hospital-to-coordinator',
    carries: 'AES-256-GCM ciphertexts of Shamir shares, one per neighbour',
    validate: (value, ctx) => {
      const kind = 'secagg/encrypted-shares';
      const o = fields(value, kind, ['kind', 'recipients', 'ciphertexts']);
      const recipients = indices(o.recipients, kind, 'recipients', ctx.participants);
      return {
        kind,
        recipients,
        ciphertexts: bytes(o.ciphertexts, kind, 'ciphertexts', recipients.length * CIPHERTEXT_BYTES),
      };
    },
  },
  'secagg/share-delivery': {
    direction: 'coordinator-to-hospital',
    carries: 'the ciphertexts addressed to one hospital',
    validate: (value, ctx) => {
      const kind = 'secagg/share-delivery';
      const o = fields(value, kind, ['kind', 'senders', 'ciphertexts']);
      const senders = indices(o.senders, kind, 'senders', ctx.participants);
      return {
        kind,
        senders,
        ciphertexts: bytes(o.ciphertexts, kind, 'ciphertexts', senders.length * CIPHERTEXT_BYTES),
      };
    },
  },
  'secagg/masked-input': {
    direction: 'hospital-to-coordinator',
    carries: 'a masked, quantised update (uniform-looking words mod 2^32)',
    validate: (value, ctx) => {
      const kind = 'secagg/masked-input';
      const o = fields(value, kind, ['kind', 'vector']);
      return { kind, vector: words(o.vector, kind, 'vector', ctx.vectorLength) };
    },
  },
  'secagg/unmask-request': {
    direction: 'coordinator-to-hospital',
    carries: 'the indices of survivors and dropouts',
    validate: (value, ctx) => {
      const kind = 'secagg/unmask-request';
      const o = fields(value, kind, ['kind', 'survivors', 'dropouts']);
      return {
        kind,
        survivors: indices(o.survivors, kind, 'survivors', ctx.participants),
        dropouts: indices(o.dropouts, kind, 'dropouts', ctx.participants),
      };
    },
  },
  'secagg/unmask-shares': {
    direction: 'hospital-to-coordinator',
    carries: 'Shamir shares of survivors’ self-mask seeds and dropouts’ mask keys',
    validate: (value, ctx) => {
      const kind = 'secagg/unmask-shares';
      const o = fields(value, kind, ['kind', 'selfMaskOwners', 'selfMaskShares', 'keyOwners', 'keyShares']);
      const selfMaskOwners = indices(o.selfMaskOwners, kind, 'selfMaskOwners', ctx.participants);
      const keyOwners = indices(o.keyOwners, kind, 'keyOwners', ctx.participants);
      return {
        kind,
        selfMaskOwners,
        selfMaskShares: bytes(o.selfMaskShares, kind, 'selfMaskShares', selfMaskOwners.length * SHARE_BYTES),
        keyOwners,
        keyShares: bytes(o.keyShares, kind, 'keyShares', keyOwners.length * SHARE_BYTES),
      };
    },
  },
};

/** Validates a message of any declared kind (read from its `kind` field). */
export function validateSecAggMessage(value: unknown, ctx: SecAggMessageContext): SecAggMessage {
  const kind = isPlainObject(value) ? value.kind : undefined;
  if (typeof kind !== 'string' || !Object.hasOwn(SECAGG_MESSAGES, kind)) {
    throw new SecAggMessageError('secure-aggregation message', 'kind', 'one of the declared kinds');
  }
  return SECAGG_MESSAGES[kind as SecAggKind].validate(value, ctx);
}

/** Bytes a message puts on the wire: its arrays' bytes (the kind is implied by the channel). */
export function secaggByteLength(message: SecAggMessage): number {
  let total = 0;
  for (const v of Object.values(message)) if (ArrayBuffer.isView(v)) total += v.byteLength;
  return total;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fields(value: unknown, kind: string, names: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(value)) throw new SecAggMessageError(kind, 'the message', 'a plain object');
  if (value.kind !== kind) throw new SecAggMessageError(kind, 'kind', `'${kind}'`);
  const keys = Object.keys(value);
  const extra = keys.find((k) => !names.includes(k));
  if (extra !== undefined) throw new SecAggMessageError(kind, 'fields', `exactly ${names.join(', ')}`);
  for (const name of names) {
    if (!keys.includes(name)) throw new SecAggMessageError(kind, name, 'present');
  }
  return value;
}

function ownBuffer(view: ArrayBufferView, kind: string, field: string): void {
  if (view.buffer instanceof SharedArrayBuffer) {
    throw new SecAggMessageError(kind, field, 'backed by an ordinary (not shared) buffer');
  }
}

function bytes(value: unknown, kind: string, field: string, length: number): Uint8Array {
  if (!(value instanceof Uint8Array) || Object.getPrototypeOf(value) !== Uint8Array.prototype) {
    throw new SecAggMessageError(kind, field, 'a Uint8Array');
  }
  ownBuffer(value, kind, field);
  if (value.length !== length) throw new SecAggMessageError(kind, field, `${length} bytes`);
  return value;
}

function words(value: unknown, kind: string, field: string, length: number): Uint32Array {
  if (!(value instanceof Uint32Array)) throw new SecAggMessageError(kind, field, 'a Uint32Array');
  ownBuffer(value, kind, field);
  if (value.length !== length) throw new SecAggMessageError(kind, field, `${length} words`);
  return value;
}

function indices(value: unknown, kind: string, field: string, participants: number): Uint32Array {
  if (!(value instanceof Uint32Array)) throw new SecAggMessageError(kind, field, 'a Uint32Array of indices');
  ownBuffer(value, kind, field);
  if (value.length > participants)
    throw new SecAggMessageError(kind, field, `at most ${participants} indices`);
  for (let i = 0; i < value.length; i++) {
    const x = value[i]!;
    if (x < 1 || x > participants)
      throw new SecAggMessageError(kind, field, `indices in [1, ${participants}]`);
    if (i > 0 && x <= value[i - 1]!) throw new SecAggMessageError(kind, field, 'strictly ascending indices');
  }
  return value;
}
