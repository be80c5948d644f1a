import { createHash } from 'node:crypto';
import type { LocalData } from '../data/index.ts';

/**
 * A digest of a hospital's examples, training and held-out (inputs and targets), computed inside its worker and
 * never sent: it keys the randomness a hospital must keep from the coordinator and the country aggregators
 * (secure aggregation's keys and masks, DP-SGD's sampling and noise), so that the run's seed alone does not give
 * it away while the run still repeats bit for bit. It is as secret as the data: a synthetic cohort can be made
 * again by anyone who holds the scenario and its seed; a hospital's own files cannot.
 */
export function dataSecret(data: LocalData): string {
  const hash = createHash('sha256');
  for (const split of [data.train, data.test]) {
    hash.update(`${split.n}:${split.inputShape.join('x')};`);
    hash.update(new Uint8Array(split.x.buffer, split.x.byteOffset, split.x.byteLength));
    hash.update(new Uint8Array(split.y.buffer, split.y.byteOffset, split.y.byteLength));
  }
  return hash.digest('hex');
}
