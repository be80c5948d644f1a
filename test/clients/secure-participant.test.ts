import { describe, expect, it } from 'vitest';
import { SecureParticipant } from '../../src/clients/privacy/secure-participant.ts';
import type { SecureRoundSettings } from '../../src/protocol/secure-sums.ts';
import { attemptSession, roundSession } from '../../src/server/privacy/secure-exchange.ts';

const settings = (session: string): SecureRoundSettings => ({
  index: 1,
  participants: 3,
  threshold: 2,
  session,
  bits: 16,
  maxWeight: 100,
  weighting: 'examples',
  parts: [{ name: 'update', term: 'update', length: 4, range: 1 }],
});

/** The mask key a hospital advertises for a round run under `session`. */
function maskKey(session: string, secret = 'the data of kr-a'): number[] {
  const { vectors } = SecureParticipant.start(
    { hospital: 'kr-a', seed: 7, round: 3, secret },
    { vectors: { parameters: Float32Array.from([0.1, 0.2, 0.3, 0.4]) }, numExamples: 50, metrics: {} },
    new Float32Array(4),
    settings(session),
    0.1,
    undefined,
  );
  return Array.from(vectors.find(([name]) => name === 'mask-key')![1] as Uint8Array);
}

describe("a hospital's secure-aggregation keys", () => {
  it('are the same for a repeat of one session, and fresh for each restart of a round', () => {
    const first = roundSession(7, 3);
    expect(maskKey(first)).toEqual(maskKey(first));
    expect(attemptSession(first, 0)).toBe(first);
    // Keys reused across two attempts would let the two transcripts unmask a hospital lost between them.
    expect(maskKey(attemptSession(first, 1))).not.toEqual(maskKey(first));
    expect(maskKey(attemptSession(first, 2))).not.toEqual(maskKey(attemptSession(first, 1)));
    expect(maskKey(`${first}/country-KR`)).not.toEqual(maskKey(first));
  });

  it("depend on the hospital's data as well as the seed: the seed and the session alone do not give them", () => {
    const session = roundSession(7, 3);
    expect(maskKey(session, 'other data')).not.toEqual(maskKey(session));
  });
});
