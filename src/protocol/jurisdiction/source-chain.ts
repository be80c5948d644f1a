import type { Source } from './enforcer.ts';

/**
 * A list of sources built as an earlier list plus the splits it adds (sorted, none of them in the earlier
 * list), sharing the earlier list instead of copying it: a crossing record's model lineage as it is read back.
 * Work on a chain can follow the delta: what was computed for `base` stays valid for it.
 */
export interface SourceChain {
  readonly base: SourceChain | undefined;
  readonly adds: readonly Source[];
}

/** Sources as a message's facts carry them: a plain sorted list, or a chain shared with earlier lists. */
export type Sources = readonly Source[] | SourceChain;

const roots = new WeakMap<readonly Source[], SourceChain>();
const expanded = new WeakMap<SourceChain, readonly Source[]>();

/** `sources` as a chain: a plain list is one link (the same link for the same list, so work on it is kept). */
export function chainOf(sources: Sources): SourceChain {
  if (!isList(sources)) return sources;
  let root = roots.get(sources);
  if (root === undefined) {
    root = { base: undefined, adds: sources };
    roots.set(sources, root);
    expanded.set(root, sources);
  }
  return root;
}

/** Every source of `sources`, sorted (a chain is expanded once: its size, in time and memory). */
export function listOf(sources: Sources): readonly Source[] {
  if (isList(sources)) return sources;
  let list = expanded.get(sources);
  if (list === undefined) {
    const parts: (readonly Source[])[] = [];
    for (let c: SourceChain | undefined = sources; c !== undefined; c = c.base) parts.push(c.adds);
    list = parts.length === 1 ? parts[0]! : parts.flat().sort();
    expanded.set(sources, list);
  }
  return list;
}

/** Whether `sources` is a plain list rather than a chain. */
export function isList(sources: Sources): sources is readonly Source[] {
  return Array.isArray(sources);
}
