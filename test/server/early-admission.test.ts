import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactly, type AdmittedReply, type ReplyContract } from '../../src/server/boundary.ts';
import { Channel, type Pending } from '../../src/server/channel.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';

const entry = { url: new URL('../fixtures/fit-reply-worker.ts', import.meta.url).href, data: {} };
const LENGTH = 5;

/** A fit contract made afresh on each call, as `replyContracts` makes them. */
const contract = (examples = 10): Omit<ReplyContract, 'hospital' | 'kind'> => ({
  sizes: { parameters: LENGTH, histogramBins: 0 },
  vectors: ['parameters'],
  counts: { numExamples: exactly(examples) },
});

describe('early admission', () => {
  let pool: WorkerPool;
  let channel: Channel;
  beforeAll(async () => {
    pool = await WorkerPool.start(['a', 'b'], 1, { timeoutMs: 60_000, entry });
    channel = new Channel(pool);
  });
  afterAll(() => pool.close());

  const send = async (): Promise<{ pending: Pending; early: AdmittedReply }> => {
    const body = Channel.body([['parameters', Float32Array.of(1, 2, 3, 4, 5)]]);
    const pending = await channel.send(1, 'a', 'fit-request', body, {}, contract());
    const verdict = pending.ok ? pending.early?.verdict : undefined;
    if (verdict?.status !== 'admitted') throw new Error('the reply was not admitted on arrival');
    return { pending, early: verdict.reply };
  };

  it('takes the verdict reached on arrival for the same hospital, kind and contract content, not object', async () => {
    const { pending, early } = await send();
    const received = channel.receive(1, 'a', 'fit-request', pending, contract());
    expect('reply' in received && received.reply).toBe(early);
  });

  it('admits again under a contract of other content, or for another hospital or kind', async () => {
    const { pending, early } = await send();
    const stricter = channel.receive(1, 'a', 'fit-request', pending, contract(11));
    expect('reason' in stricter && stricter.reason).toMatch(/numExamples/);
    const other = channel.receive(1, 'b', 'fit-request', pending, contract());
    expect('reply' in other && other.reply).not.toBe(early);
    expect('reply' in other && other.reply.vectors.get('parameters')).toEqual(Float32Array.of(1, 2, 3, 4, 5));
    const kind = channel.receive(1, 'a', 'local-only-request', pending, contract());
    expect('reason' in kind && kind.reason).toMatch(/kind must be local-only-reply/);
  });
});
