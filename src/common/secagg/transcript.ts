import type { TypedVector } from '../../protocol/envelope.ts';
import type { SecAggMessage } from './messages.ts';

/** Every message the server's side of one secure round accepted, in order: the sender's index and the message. */
export type Transcript = readonly { readonly from: number; readonly message: SecAggMessage }[];

/** The hospitals' messages a server accepts, in the order of the protocol's stages. */
export const UPLOAD_KINDS = [
  'secagg/advertise-keys',
  'secagg/encrypted-shares',
  'secagg/masked-input',
  'secagg/unmask-shares',
] as const;

/** An upload's kind. */
export type UploadKind = (typeof UPLOAD_KINDS)[number];

/** Each upload's typed-array fields and the vector name each travels under. */
const FIELDS: Readonly<Record<UploadKind, readonly (readonly [string, string])[]>> = {
  'secagg/advertise-keys': [
    ['cipherPublicKey', 'cipher-key'],
    ['maskPublicKey', 'mask-key'],
  ],
  'secagg/encrypted-shares': [
    ['recipients', 'recipients'],
    ['ciphertexts', 'ciphertexts'],
  ],
  'secagg/masked-input': [['vector', 'masked']],
  'secagg/unmask-shares': [
    ['selfMaskOwners', 'self-mask-owners'],
    ['selfMaskShares', 'self-mask-shares'],
    ['keyOwners', 'key-owners'],
    ['keyShares', 'key-shares'],
  ],
};

/** A transcript as envelope parts: `messages` (sender and kind of each) and one vector per field, `m<i>-<field>`. */
export function packTranscript(transcript: Transcript): {
  readonly messages: readonly { readonly from: number; readonly kind: UploadKind }[];
  readonly vectors: readonly (readonly [string, TypedVector])[];
} {
  const messages: { from: number; kind: UploadKind }[] = [];
  const vectors: [string, TypedVector][] = [];
  transcript.forEach(({ from, message }, i) => {
    const kind = message.kind as UploadKind;
    const fields = FIELDS[kind];
    if (fields === undefined) throw new RangeError(`a transcript holds hospitals' uploads, not ${kind}`);
    messages.push({ from, kind });
    const record = message as unknown as Record<string, TypedVector>;
    for (const [field, name] of fields) vectors.push([`m${i}-${name}`, record[field]!]);
  });
  return { messages, vectors };
}

/**
 * Rebuilds a transcript from {@link packTranscript}'s parts as they arrived (untrusted: a missing vector or an
 * unknown kind throws a RangeError naming it; the messages' contents are for the protocol's validators).
 */
export function unpackTranscript(messages: unknown, vectors: ReadonlyMap<string, TypedVector>): Transcript {
  if (!Array.isArray(messages)) throw new RangeError('messages: expected a list');
  return messages.map((m: unknown, i) => {
    const { from, kind } = (m ?? {}) as { from?: unknown; kind?: unknown };
    if (typeof from !== 'number' || !Number.isInteger(from))
      throw new RangeError(`messages[${i}].from: expected an index`);
    const fields = typeof kind === 'string' ? FIELDS[kind as UploadKind] : undefined;
    if (fields === undefined) throw new RangeError(`messages[${i}].kind: expected an upload's kind`);
    const message: Record<string, unknown> = { kind };
    for (const [field, name] of fields) {
      const v = vectors.get(`m${i}-${name}`);
      if (v === undefined) throw new RangeError(`vectors.m${i}-${name}: missing`);
      message[field] = v;
    }
    return { from, message: message as unknown as SecAggMessage };
  });
}
