import type { OutputHead } from '../protocol/outcome.ts';
import type { Examples } from '../models/types.ts';

/**
 * A label-flipping attacker's training split: every label l of K classes becomes K − 1 − l (1 − y for a binary
 * outcome; the class order reversed for a multi-class one, as in the label-flipping literature). A continuous
 * outcome has no labels to flip; the scenario refuses that combination.
 */
export function labelFlipped(train: Examples, head: OutputHead): Examples {
  if (head.kind === 'continuous') throw new Error('label-flip needs a binary or multi-class outcome');
  const last = head.kind === 'multiclass' ? head.classes - 1 : 1;
  return { ...train, y: train.y.map((l) => last - l) };
}
