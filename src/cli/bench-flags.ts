import { InvalidArgumentError } from 'commander';

/** Parses `--seeds 5` (seeds 1…5) or `--seeds 3,7,11`. */
export function parseSeeds(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const ints = items.map(Number);
  if (ints.some((n) => !Number.isSafeInteger(n) || n < 0) || items.some((s) => s === '')) {
    throw new InvalidArgumentError('--seeds takes a count (5: seeds 1…5) or a list of seeds (3,7,11).');
  }
  if (items.length === 1) {
    if (ints[0]! < 1 || ints[0]! > 1000) throw new InvalidArgumentError('--seeds: a count from 1 to 1000.');
    return Array.from({ length: ints[0]! }, (_, i) => i + 1);
  }
  return ints;
}

/** Parses `--target auroc=0.8`. */
export function parseTarget(text: string): { metric: string; value: number } {
  const m = /^([a-z][a-z0-9_]*)=([0-9.]+)$/.exec(text.trim());
  if (m === null || !Number.isFinite(Number(m[2]))) {
    throw new InvalidArgumentError('--target takes metric=value, such as auroc=0.8.');
  }
  return { metric: m[1]!, value: Number(m[2]) };
}
