import { createHash } from 'node:crypto';

/** A value a checkpoint holds: JSON values, typed vectors and byte blobs. */
export type Stored =
  | number
  | string
  | boolean
  | null
  | Float32Array
  | Float64Array
  | Uint8Array
  | readonly Stored[]
  | { readonly [key: string]: Stored };

/** A checkpoint file that cannot be read: truncated, altered, or not a checkpoint at all. */
export class CorruptCheckpoint extends Error {
  override readonly name = 'CorruptCheckpoint';
}

const MAGIC = 'FEDMED-CHECKPOINT\n';
const TYPES = { f32: Float32Array, f64: Float64Array, u8: Uint8Array } as const;
type BlobType = keyof typeof TYPES;

/**
 * Lays a value out as one file: the magic line, the length of a JSON header, the header (the value with every
 * typed vector replaced by `{ "$blob": i, "type": … }`), the vectors' bytes one after another (8-byte aligned),
 * and the SHA-256 of everything before it, so a torn or altered file is detected.
 */
export function encodeStored(value: Stored): Uint8Array {
  const blobs: Uint8Array[] = [];
  const header = JSON.stringify(value, (_k, v: unknown) => {
    if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Uint8Array) {
      const type: BlobType = v instanceof Float32Array ? 'f32' : v instanceof Float64Array ? 'f64' : 'u8';
      blobs.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return { $blob: blobs.length - 1, type, length: v.length };
    }
    return v;
  });
  const head = Buffer.from(header, 'utf8');
  const prefix = Buffer.alloc(MAGIC.length + 8);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(head.length, MAGIC.length);
  prefix.writeUInt32LE(blobs.length, MAGIC.length + 4);
  const parts: Uint8Array[] = [prefix, head];
  let size = prefix.length + head.length;
  for (const b of blobs) {
    const pad = (8 - (size % 8)) % 8;
    parts.push(new Uint8Array(pad), b);
    size += pad + b.length;
  }
  const body = Buffer.concat(parts);
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

/** Reads back what {@link encodeStored} wrote; anything else is a {@link CorruptCheckpoint}. */
export function decodeStored(bytes: Uint8Array): Stored {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 8 + 32 || buf.toString('latin1', 0, MAGIC.length) !== MAGIC)
    throw new CorruptCheckpoint('not a fedmed checkpoint (its first bytes differ)');
  const body = buf.subarray(0, buf.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - 32)))
    throw new CorruptCheckpoint('its checksum does not match its contents (torn or altered)');
  const headLength = body.readUInt32LE(MAGIC.length);
  const count = body.readUInt32LE(MAGIC.length + 4);
  let offset = MAGIC.length + 8;
  if (offset + headLength > body.length) throw new CorruptCheckpoint('its header runs past its end');
  let header: unknown;
  try {
    header = JSON.parse(body.toString('utf8', offset, offset + headLength));
  } catch {
    throw new CorruptCheckpoint('its header is not JSON');
  }
  offset += headLength;
  const seen: { type: BlobType; length: number }[] = [];
  collectBlobs(header, seen);
  if (seen.length !== count) throw new CorruptCheckpoint('its header and its vectors disagree');
  const blobs: (Float32Array | Float64Array | Uint8Array)[] = [];
  for (const { type, length } of seen) {
    offset += (8 - (offset % 8)) % 8;
    const bytesLength = length * TYPES[type].BYTES_PER_ELEMENT;
    if (offset + bytesLength > body.length) throw new CorruptCheckpoint('a vector runs past its end');
    const copy = new Uint8Array(body.subarray(offset, offset + bytesLength));
    blobs.push(new TYPES[type](copy.buffer, 0, length));
    offset += bytesLength;
  }
  return restoreBlobs(header, blobs);
}

function isBlobRef(v: unknown): v is { $blob: number; type: BlobType; length: number } {
  if (v === null || typeof v !== 'object' || !('$blob' in v)) return false;
  const r = v as { type?: unknown; length?: unknown };
  return (
    typeof r.type === 'string' &&
    Object.hasOwn(TYPES, r.type) &&
    typeof r.length === 'number' &&
    Number.isInteger(r.length) &&
    r.length >= 0
  );
}

/** Blob references in the order JSON.stringify met them (which is the order of the blobs). */
function collectBlobs(v: unknown, out: { type: BlobType; length: number }[]): void {
  if (isBlobRef(v)) {
    if (v.$blob !== out.length) throw new CorruptCheckpoint('its vectors are out of order');
    out.push({ type: v.type, length: v.length });
    return;
  }
  if (Array.isArray(v)) for (const x of v) collectBlobs(x, out);
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) collectBlobs(x, out);
}

function restoreBlobs(v: unknown, blobs: readonly (Float32Array | Float64Array | Uint8Array)[]): Stored {
  if (isBlobRef(v)) return blobs[v.$blob]!;
  if (Array.isArray(v)) return v.map((x) => restoreBlobs(x, blobs));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, restoreBlobs(x, blobs)]));
  return v as Stored;
}
