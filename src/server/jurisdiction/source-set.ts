import { createHash } from 'node:crypto';
import type { Source } from '../../protocol/jurisdiction/enforcer.ts';

/** A trie node: 16 slots, each empty, one source, or a node one level (4 bits of its digest) further down. */
type Slot = Source | Trie | undefined;
type Trie = Slot[];

const MOD = 1n << 128n;

/**
 * The SHA-256 of each source, computed once: its nibbles place it in a {@link SourceSet}'s trie, and its first
 * 128 bits are its share of the set's content key (so a key is the sum of its members', added as they come).
 */
export class SourceDigests {
  readonly #digests = new Map<Source, Buffer>();
  readonly #terms = new Map<Source, bigint>();
  /** Sources hashed so far (each once) and trie nodes made: the work done, for tests. */
  hashed = 0;
  nodes = 0;

  digest(s: Source): Buffer {
    let d = this.#digests.get(s);
    if (d === undefined) {
      d = createHash('sha256').update(s).digest();
      this.#digests.set(s, d);
      this.hashed++;
    }
    return d;
  }

  term(s: Source): bigint {
    let t = this.#terms.get(s);
    if (t === undefined) {
      t = this.digest(s).readBigUInt64BE(0) * 2n ** 64n + this.digest(s).readBigUInt64BE(8);
      this.#terms.set(s, t);
    }
    return t;
  }

  /** The content key of a list of distinct sources: its size and the sum of its members' terms. */
  key(sources: readonly Source[]): string {
    let sum = 0n;
    for (const s of sources) sum += this.term(s);
    return `${sources.length}:${(sum % MOD).toString(16)}`;
  }
}

/**
 * A persistent set of sources: a hash trie keyed by each source's SHA-256, so a set made from another by adding
 * k sources shares all but O(k log n) of its nodes with it, and membership costs O(log n). Its content key
 * (size and sum of the members' digests) is kept as it grows, so equal sets have equal keys however built.
 */
export class SourceSet {
  readonly size: number;
  readonly #root: Trie;
  readonly #sum: bigint;
  readonly #digests: SourceDigests;

  private constructor(digests: SourceDigests, root: Trie, size: number, sum: bigint) {
    this.#digests = digests;
    this.#root = root;
    this.size = size;
    this.#sum = sum;
  }

  /** The empty set, hashing with `digests`. */
  static empty(digests: SourceDigests): SourceSet {
    return new SourceSet(digests, new Array<Slot>(16), 0, 0n);
  }

  /** `size:sum`, the same as {@link SourceDigests.key} of the same sources. */
  get key(): string {
    return `${this.size}:${(this.#sum % MOD).toString(16)}`;
  }

  has(s: Source): boolean {
    const d = this.#digests.digest(s);
    let node = this.#root;
    for (let level = 0; ; level++) {
      const slot = node[nibble(d, level)];
      if (slot === undefined || typeof slot === 'string') return slot === s;
      node = slot;
    }
  }

  /** This set with `adds` (none of them in it) added; nodes it does not change are shared. */
  with(adds: readonly Source[]): SourceSet {
    if (adds.length === 0) return this;
    const own = new WeakSet<Trie>();
    const root = this.#root.slice();
    own.add(root);
    this.#digests.nodes++;
    let sum = this.#sum;
    for (const s of adds) {
      this.#insert(root, s, own);
      sum += this.#digests.term(s);
    }
    return new SourceSet(this.#digests, root, this.size + adds.length, sum % MOD);
  }

  #insert(root: Trie, s: Source, own: WeakSet<Trie>): void {
    const d = this.#digests.digest(s);
    let node = root;
    for (let level = 0; ; level++) {
      const i = nibble(d, level);
      const slot = node[i];
      if (slot === undefined) {
        node[i] = s;
        return;
      }
      if (typeof slot === 'string') {
        if (slot === s) throw new RangeError(`source set: ${s} is already in the set`);
        const child = new Array<Slot>(16);
        child[nibble(this.#digests.digest(slot), level + 1)] = slot;
        own.add(child);
        this.#digests.nodes++;
        node[i] = child;
        node = child;
        continue;
      }
      let child = slot;
      if (!own.has(slot)) {
        child = slot.slice();
        own.add(child);
        this.#digests.nodes++;
      }
      node[i] = child;
      node = child;
    }
  }
}

function nibble(d: Buffer, level: number): number {
  const byte = d[level >> 1]!;
  return level & 1 ? byte & 15 : byte >> 4;
}
