import type { Rng } from '../../common/rng.ts';
import { compareIds } from '../sampling.ts';

/**
 * Poisson sampling, as the RDP accountant assumes: every hospital takes part independently with probability
 * q, one uniform draw each in ascending id order, so the draw depends only on the stream (e.g.
 * `stream(seed, 'dp-sample', 'round-N')`), q and the ids. The round may have any number of hospitals,
 * none included; returned in ascending id order.
 */
export function poissonSample<T extends { readonly id: string }>(
  hospitals: readonly T[],
  q: number,
  rng: Rng,
): T[] {
  if (!(q > 0 && q <= 1)) throw new RangeError(`the sampling rate must be in (0, 1], got ${q}`);
  return [...hospitals].sort((a, b) => compareIds(a.id, b.id)).filter(() => rng.next() < q);
}
