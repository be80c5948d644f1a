import { describe, expect, it } from 'vitest';
import { decodeClientState, encodeClientState } from '../../src/clients/client-state.ts';
import { HospitalRefusal } from '../../src/clients/error-reports.ts';
import { clientStateMaxBytes } from '../../src/protocol/kinds.ts';
import { ClientStateStore } from '../../src/server/state-store.ts';
import type { AdmittedReply } from '../../src/server/boundary.ts';

const control = Float32Array.from([0.5, -1.25, 3e-8, -0]);
const state = new Map([['scaffold.control', control]]);

describe("a hospital's state blob", () => {
  it('round-trips every float32 bit for the hospital it was made for', () => {
    const blob = encodeClientState('kr-1', state);
    const back = decodeClientState('kr-1', blob);
    expect([...back.keys()]).toEqual(['scaffold.control']);
    expect(new Uint8Array(back.get('scaffold.control')!.buffer)).toEqual(new Uint8Array(control.buffer));
    expect(blob.byteLength).toBe(44 + 1 + 16 + 4 + 16 + 32);
  });

  it('is refused, naming the state field, when cut, altered, or handed to another hospital', () => {
    const blob = encodeClientState('kr-1', state);
    const altered = blob.slice();
    altered[50] = altered[50]! ^ 1;
    for (const [id, b] of [
      ['kr-2', blob],
      ['kr-1', blob.subarray(0, blob.byteLength - 1)],
      ['kr-1', altered],
      ['kr-1', new Uint8Array(10)],
    ] as const) {
      expect(() => decodeClientState(id, b)).toThrow(HospitalRefusal);
      expect(() => decodeClientState(id, b)).toThrow('refused: state');
    }
  });
});

describe('the hospital-side state store', () => {
  const reply = (vectors: [string, Float32Array | Uint8Array][]): AdmittedReply => ({
    kind: 'fit-reply',
    fields: {},
    vectors: new Map(vectors),
  });

  it('keeps the blob apart from what strategies see, and forgets it when a reply carries none', () => {
    const store = new ClientStateStore(4);
    const blob = encodeClientState('kr-1', state);
    const params = new Float32Array(4);
    const seen = store.take(
      'kr-1',
      reply([
        ['parameters', params],
        ['state', blob],
      ]),
    );
    expect([...seen.vectors.keys()]).toEqual(['parameters']);
    expect(store.get('kr-1')).toBe(blob);
    expect(store.size).toEqual({ hospitals: 1, bytes: blob.byteLength });
    store.take('kr-1', reply([['parameters', params]]));
    expect(store.get('kr-1')).toBeUndefined();
  });

  it('is bounded by the model size', () => {
    const store = new ClientStateStore(4);
    const big = new Uint8Array(clientStateMaxBytes(4) + 1);
    expect(() => store.take('kr-1', reply([['state', big]]))).toThrow(/at most 65568 bytes/);
  });
});
