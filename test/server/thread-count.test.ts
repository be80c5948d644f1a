import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultThreads } from '../../src/server/thread-count.ts';

describe('defaultThreads', () => {
  it('is the available parallelism, capped by the hospitals', () => {
    expect(defaultThreads(1)).toBe(1);
    expect(defaultThreads(10_000)).toBe(availableParallelism());
    expect(defaultThreads(2)).toBe(Math.min(2, availableParallelism()));
  });
});
