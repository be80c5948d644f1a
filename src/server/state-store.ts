import type { TypedVector } from '../protocol/envelope.ts';
import { clientStateMaxBytes } from '../protocol/kinds.ts';
import type { AdmittedReply } from './boundary.ts';

/** Name of the client-state vector in fit requests and replies (declared in the kind table). */
export const STATE_VECTOR = 'state';

/**
 * Each hospital's state between rounds (SCAFFOLD's c_i, …), kept in the coordinator's process but outside its
 * view of the federation: an opaque blob only the hospital's worker can read, bounded by
 * {@link clientStateMaxBytes}, admitted by the boundary with its fit reply and handed back with that hospital's
 * next fit request. The coordinator never decodes, aggregates or writes it; because the state outlives the
 * thread, a hospital can move to a fresh thread (after a crash) and go on exactly where it was.
 */
export class ClientStateStore {
  readonly #blobs = new Map<string, Uint8Array>();
  readonly #maxBytes: number;

  constructor(parameters: number) {
    this.#maxBytes = clientStateMaxBytes(parameters);
  }

  /** The blob `hospital` returned last, or undefined if it keeps no state. */
  get(hospital: string): Uint8Array | undefined {
    return this.#blobs.get(hospital);
  }

  /**
   * Takes the state blob out of an admitted fit reply and keeps it for its hospital (a reply without one leaves
   * the hospital with none); returns the reply without it, so no strategy or output ever sees it.
   */
  take(hospital: string, reply: AdmittedReply): AdmittedReply {
    const blob = reply.vectors.get(STATE_VECTOR);
    if (blob === undefined) {
      this.#blobs.delete(hospital);
      return reply;
    }
    if (!(blob instanceof Uint8Array) || blob.byteLength > this.#maxBytes) {
      throw new RangeError(`hospital ${hospital}: its state blob must be at most ${this.#maxBytes} bytes`);
    }
    this.#blobs.set(hospital, blob);
    const vectors = new Map<string, TypedVector>(reply.vectors);
    vectors.delete(STATE_VECTOR);
    return { ...reply, vectors };
  }

  /** Every hospital's blob, in ascending id order, for a checkpoint. */
  entries(): [string, Uint8Array][] {
    return [...this.#blobs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Puts back the blobs a checkpoint kept (each within the size bound). */
  restore(blobs: ReadonlyMap<string, Uint8Array>): void {
    this.#blobs.clear();
    for (const [hospital, blob] of blobs) {
      if (blob.byteLength > this.#maxBytes)
        throw new RangeError(`hospital ${hospital}: its state blob must be at most ${this.#maxBytes} bytes`);
      this.#blobs.set(hospital, blob);
    }
  }

  /** Hospitals with a blob kept, and the bytes held for them in all. */
  get size(): { readonly hospitals: number; readonly bytes: number } {
    let bytes = 0;
    for (const b of this.#blobs.values()) bytes += b.byteLength;
    return { hospitals: this.#blobs.size, bytes };
  }
}
