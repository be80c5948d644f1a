import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import {
  EnvelopeBody,
  encodeEnvelope,
  envelopeLimit,
  EnvelopeError,
  openEnvelope,
} from '../../src/protocol/envelope.ts';

const LIMITS = { maxBytes: 1 << 20, maxJsonBytes: 4096 };

describe('envelopes', () => {
  it('carry vectors of every type, aligned, and JSON fields, and open to copies of exactly their length', () => {
    const f32 = Float32Array.from([1.5, -2, 3]);
    const f64 = Float64Array.from([Math.PI, -0]);
    const u32 = Uint32Array.from([0, 2 ** 32 - 1]);
    const u8 = Uint8Array.from([7]);
    const bytes = encodeEnvelope('fit-reply', { numExamples: 3, metrics: { loss: 0.25 } }, [
      ['a', f32],
      ['b', u8],
      ['c', f64],
      ['d', u32],
    ]);
    const env = openEnvelope(bytes, LIMITS);
    expect(env.kind).toBe('fit-reply');
    expect(env.fields).toEqual({ numExamples: 3, metrics: { loss: 0.25 } });
    expect([...env.vectors.keys()]).toEqual(['a', 'b', 'c', 'd']);
    expect(env.vectors.get('a')).toEqual(f32);
    expect(env.vectors.get('b')).toEqual(u8);
    expect(Object.is(env.vectors.get('c')![1], -0)).toBe(true);
    expect(env.vectors.get('d')).toEqual(u32);
    for (const v of env.vectors.values()) expect(v.buffer.byteLength).toBe(v.byteLength);
    expect(bytes.byteLength).toBeLessThanOrEqual(
      envelopeLimit(
        [
          ['f32', 3],
          ['u8', 1],
          ['f64', 2],
          ['u32', 2],
        ],
        4096,
      ).maxBytes,
    );
  });

  it('seals one body for many recipients, each with its own bytes and the hash of them', () => {
    const body = new EnvelopeBody([['parameters', new Float32Array(1000).fill(0.5)]]);
    const sealed = ['kr-1', 'cn-1'].map((h) => body.seal('fit-request', { hospital: h }));
    for (const s of sealed) expect(s.sha256).toBe(sha256(s.bytes));
    sealed[0]!.bytes.fill(0);
    expect(openEnvelope(sealed[1]!.bytes, LIMITS).vectors.get('parameters')![999]).toBe(0.5);
  });

  it.each([
    [
      'too many bytes',
      (b: Uint8Array) => b,
      { maxBytes: 10, maxJsonBytes: 4096 },
      /message must be at most 10 bytes/,
    ],
    [
      'JSON longer than allowed',
      (b: Uint8Array) => b,
      { maxBytes: 1 << 20, maxJsonBytes: 8 },
      /message JSON must be at most 8 bytes/,
    ],
    [
      'a broken magic number',
      (b: Uint8Array) => (b.fill(0, b.length - 4), b),
      LIMITS,
      /message must be an envelope \(got other bytes\)/,
    ],
    [
      'a JSON length past the start',
      (b: Uint8Array) => (new DataView(b.buffer).setUint32(b.length - 8, 1e6, true), b),
      LIMITS,
      /message JSON must be at most/,
    ],
    ['a vector table longer than the bytes', (b: Uint8Array) => b.slice(8), LIMITS, /./],
  ])('refuses %s, naming the part', (_what, mangle, limits, message) => {
    const good = encodeEnvelope('fit-reply', { numExamples: 1 }, [['parameters', new Float32Array(4)]]);
    expect(() => openEnvelope(mangle(good), limits)).toThrow(EnvelopeError);
    expect(() =>
      openEnvelope(
        mangle(encodeEnvelope('fit-reply', { numExamples: 1 }, [['parameters', new Float32Array(4)]])),
        limits,
      ),
    ).toThrow(message);
  });

  it('refuses a vector table that claims more bytes than the message has, or leaves bytes over', () => {
    const json = (table: unknown) => {
      const text = Buffer.from(JSON.stringify({ kind: 'x', vectors: table }));
      const out = new Uint8Array(16 + text.length + 8);
      out.set(text, 16);
      const dv = new DataView(out.buffer);
      dv.setUint32(out.length - 8, text.length, true);
      dv.setUint32(out.length - 4, 0x31444d46, true);
      return out;
    };
    expect(() => openEnvelope(json([['a', 'f32', 5]]), LIMITS)).toThrow(
      /vectors\.a must be within the message/,
    );
    expect(() => openEnvelope(json([['a', 'f32', 2]]), LIMITS)).toThrow(
      /vectors must be filling the message/,
    );
    expect(() => openEnvelope(json([['a', 'f16', 4]]), LIMITS)).toThrow(/vectors\.a must be of type/);
    for (const inherited of ['hasOwnProperty', 'toString', 'constructor', '__proto__']) {
      expect(() => openEnvelope(json([['a', inherited, 1]]), LIMITS), inherited).toThrow(EnvelopeError);
    }
    expect(() =>
      openEnvelope(
        json([
          ['a', 'f32', 4],
          ['a', 'f32', 0],
        ]),
        LIMITS,
      ),
    ).toThrow(/distinct vector name/);
    expect(openEnvelope(json([['a', 'f32', 4]]), LIMITS).vectors.get('a')!.length).toBe(4);
  });
});
