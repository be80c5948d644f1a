import { createHash } from 'node:crypto';
import { HospitalRefusal } from './error-reports.ts';

/** What a hospital keeps between rounds: named float32 vectors (SCAFFOLD's `scaffold.control`, …). */
export type ClientState = ReadonlyMap<string, Float32Array>;

const MAGIC = 0x53434d46; // 'FMCS' little-endian
const VERSION = 1;
const DIGEST = 32;
const HEADER = 4 + 4 + DIGEST + 4;
const NAME = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * Encodes a hospital's state as the opaque blob the coordinator keeps for it: a header naming the format and
 * bound to the hospital (the SHA-256 of its id), the entries (name, length, float32 values), and a SHA-256 of
 * everything before it, so that a blob that was cut, altered or handed to another hospital is refused.
 */
export function encodeClientState(hospital: string, state: ClientState): Uint8Array {
  const entries = [...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const names = entries.map(([name]) => {
    if (!NAME.test(name)) throw new Error(`client state entry name ${JSON.stringify(name)} is not allowed`);
    return Buffer.from(name, 'utf8');
  });
  const size =
    HEADER + entries.reduce((s, [, v], i) => s + 1 + names[i]!.byteLength + 4 + 4 * v.length, 0) + DIGEST;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, VERSION, true);
  out.set(idDigest(hospital), 8);
  view.setUint32(8 + DIGEST, entries.length, true);
  let at = HEADER;
  entries.forEach(([, v], i) => {
    const name = names[i]!;
    out[at] = name.byteLength;
    out.set(name, at + 1);
    at += 1 + name.byteLength;
    view.setUint32(at, v.length, true);
    at += 4;
    for (let k = 0; k < v.length; k++, at += 4) view.setFloat32(at, v[k]!, true);
  });
  out.set(digest(out.subarray(0, at)), at);
  return out;
}

/**
 * Decodes the blob {@link encodeClientState} made for `hospital`. Anything else (another format or version,
 * another hospital's blob, a cut or altered one) is refused, naming the `state` field, never a value.
 */
export function decodeClientState(hospital: string, blob: Uint8Array): Map<string, Float32Array> {
  const refuse = (): never => {
    throw new HospitalRefusal('refused', 'state');
  };
  if (blob.byteLength < HEADER + DIGEST) refuse();
  const body = blob.subarray(0, blob.byteLength - DIGEST);
  if (!equalBytes(digest(body), blob.subarray(body.byteLength))) refuse();
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (view.getUint32(0, true) !== MAGIC || view.getUint32(4, true) !== VERSION) refuse();
  if (!equalBytes(idDigest(hospital), blob.subarray(8, 8 + DIGEST))) refuse();
  const count = view.getUint32(8 + DIGEST, true);
  const state = new Map<string, Float32Array>();
  let at = HEADER;
  for (let e = 0; e < count; e++) {
    if (at + 1 > body.byteLength) refuse();
    const nameLength = blob[at]!;
    if (at + 1 + nameLength + 4 > body.byteLength) refuse();
    const name = Buffer.from(blob.subarray(at + 1, at + 1 + nameLength)).toString('utf8');
    if (!NAME.test(name) || state.has(name)) refuse();
    at += 1 + nameLength;
    const length = view.getUint32(at, true);
    at += 4;
    if (at + 4 * length > body.byteLength) refuse();
    const v = new Float32Array(length);
    for (let k = 0; k < length; k++, at += 4) v[k] = view.getFloat32(at, true);
    state.set(name, v);
  }
  if (at !== body.byteLength) refuse();
  return state;
}

function idDigest(hospital: string): Uint8Array {
  return digest(Buffer.from(`fedmed client state/${hospital}`, 'utf8'));
}

function digest(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
