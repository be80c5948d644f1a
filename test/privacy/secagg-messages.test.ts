import { describe, expect, it } from 'vitest';
import { SecAggMessageError } from '../../src/common/secagg/errors.ts';
import {
  CIPHERTEXT_BYTES,
  SECAGG_MESSAGES,
  secaggByteLength,
  SHARE_BYTES,
  validateSecAggMessage,
  type SecAggKind,
  type SecAggMessage,
} from '../../src/common/secagg/messages.ts';
import { stream } from '../../src/common/rng.ts';
import { runSecAggRound } from '../helpers/secagg-round.ts';

const N = 6;
const LENGTH = 16;
const ctx = { participants: N, vectorLength: LENGTH };
const rng = stream(1, 'test', 'messages');
const inputs = Array.from({ length: N }, () => Uint32Array.from({ length: LENGTH }, () => rng.int(2 ** 32)));
const run = runSecAggRound({
  threshold: 4,
  inputs,
  seed: 1,
  round: 1,
  drops: new Map([[6, 'after-sharing']]),
});
const first = (kind: SecAggKind): SecAggMessage =>
  run.exchanged.find((e) => e.message.kind === kind)!.message;

function rejection(value: unknown): [string, string] {
  try {
    validateSecAggMessage(value, ctx);
  } catch (e) {
    if (e instanceof SecAggMessageError) return [e.field, e.expected];
    throw e;
  }
  throw new Error('accepted');
}

describe('the secure-aggregation message table', () => {
  it('declares seven kinds, each with its direction, and validates every message a real round sends', () => {
    expect(Object.keys(SECAGG_MESSAGES)).toHaveLength(7);
    for (const { from, message } of run.exchanged) {
      const spec = SECAGG_MESSAGES[message.kind];
      expect(spec.direction).toBe(
        from === 'coordinator' ? 'coordinator-to-hospital' : 'hospital-to-coordinator',
      );
      expect(validateSecAggMessage(message, ctx)).toEqual(message);
    }
  });

  it('counts each message’s bytes from the group size and vector length', () => {
    const peers = N - 1;
    expect(secaggByteLength(first('secagg/advertise-keys'))).toBe(64);
    expect(secaggByteLength(first('secagg/key-roster'))).toBe(peers * (4 + 64));
    expect(secaggByteLength(first('secagg/encrypted-shares'))).toBe(peers * (4 + CIPHERTEXT_BYTES));
    expect(CIPHERTEXT_BYTES).toBe(8 + 2 * SHARE_BYTES + 16);
    expect(SHARE_BYTES).toBe(44);
    expect(secaggByteLength(first('secagg/masked-input'))).toBe(LENGTH * 4);
    // Five survivors, one dropout; a survivor holds shares of the other four survivors, itself and the dropout.
    expect(secaggByteLength(first('secagg/unmask-request'))).toBe(6 * 4);
    expect(secaggByteLength(first('secagg/unmask-shares'))).toBe(
      5 * (4 + SHARE_BYTES) + 1 * (4 + SHARE_BYTES),
    );
  });

  it('rejects wrong kinds, shapes, element types, lengths, index ranges and order, naming the field', () => {
    const keys = first('secagg/advertise-keys');
    const shares = first('secagg/unmask-shares');
    const masked = first('secagg/masked-input');
    const request = first('secagg/unmask-request');
    expect(rejection({ ...keys, kind: 'secagg/unknown' })).toEqual(['kind', 'one of the declared kinds']);
    expect(rejection(null)).toEqual(['kind', 'one of the declared kinds']);
    expect(rejection({ ...keys, extra: 1 })[0]).toBe('fields');
    expect(rejection({ kind: 'secagg/advertise-keys', cipherPublicKey: new Uint8Array(32) })).toEqual([
      'maskPublicKey',
      'present',
    ]);
    expect(rejection({ ...keys, maskPublicKey: new Uint8Array(31) })).toEqual(['maskPublicKey', '32 bytes']);
    expect(rejection({ ...keys, maskPublicKey: Buffer.alloc(32) })).toEqual([
      'maskPublicKey',
      'a Uint8Array',
    ]);
    expect(rejection({ ...keys, maskPublicKey: new Uint8Array(new SharedArrayBuffer(32)) })[0]).toBe(
      'maskPublicKey',
    );
    expect(rejection({ ...masked, vector: new Int32Array(LENGTH) })).toEqual(['vector', 'a Uint32Array']);
    expect(rejection({ ...masked, vector: new Uint32Array(LENGTH + 1) })).toEqual([
      'vector',
      `${LENGTH} words`,
    ]);
    expect(rejection({ ...request, survivors: Uint32Array.of(0, 1) })).toEqual([
      'survivors',
      `indices in [1, ${N}]`,
    ]);
    expect(rejection({ ...request, survivors: Uint32Array.of(1, N + 1) })).toEqual([
      'survivors',
      `indices in [1, ${N}]`,
    ]);
    expect(rejection({ ...request, dropouts: Uint32Array.of(3, 2) })).toEqual([
      'dropouts',
      'strictly ascending indices',
    ]);
    expect(rejection({ ...request, dropouts: Uint32Array.of(2, 2) })).toEqual([
      'dropouts',
      'strictly ascending indices',
    ]);
    expect(rejection({ ...shares, keyShares: new Uint8Array(0) })).toEqual([
      'keyShares',
      `${SHARE_BYTES} bytes`,
    ]);
    expect(rejection(Object.assign(Object.create({ evil: true }) as object, keys))).toEqual([
      'kind',
      'one of the declared kinds',
    ]);
  });
});
