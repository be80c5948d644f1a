import type { Source } from '../../protocol/jurisdiction/enforcer.ts';
import { listOf, type SourceChain, type Sources } from '../../protocol/jurisdiction/source-chain.ts';
import { difference, isSubset } from './sorted-sources.ts';
import { SourceDigests, SourceSet } from './source-set.ts';

/**
 * A model's lineage as the crossing record writes it, on the first message that carries the model: the
 * splits added to the lineage defined on line `base`, or, without `base`, every split.
 */
export interface LineageDefinition {
  readonly base?: number;
  readonly adds: readonly Source[];
}

/** How a crossing records its sources: inline, as a lineage it defines, or by the line that defined it. */
export interface SourceFields {
  readonly sources?: readonly Source[];
  readonly lineage?: LineageDefinition;
  readonly model?: number;
}

/** What the crossing record gets wrong about a lineage: the line (from 1) and what is wrong there. */
export class LineageError extends RangeError {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`crossing ${line}: ${problem}`);
  }
}

/** How many of the latest lineages a new one may extend (a few models may be in use at once, as in baselines). */
const BASES_TRIED = 4;

/**
 * One model lineage of a record: the lineage it extends and the splits it adds, sharing the base instead of
 * copying it (a {@link SourceChain}), with its splits as a persistent set for membership and its content key.
 * Defining one costs what it adds, whatever the size of its base.
 */
export class Lineage implements SourceChain {
  readonly base: Lineage | undefined;
  readonly adds: readonly Source[];
  readonly splits: SourceSet;

  constructor(base: Lineage | undefined, adds: readonly Source[], splits: SourceSet) {
    this.base = base;
    this.adds = adds;
    this.splits = splits;
  }

  get size(): number {
    return this.splits.size;
  }
}

/**
 * The record's model lineages, in record order. A lineage (the sorted splits whose records trained a model)
 * is written once, on the first message that carries it, as a delta against an earlier lineage it contains
 * (or in full), and every later message carrying the same lineage names that line instead of repeating it,
 * so the record grows with the messages and the splits new to each model, not with their product. The same
 * table reads a record back ({@link read}), so the writer's choices (which line, which base) depend only on
 * the record so far: a resumed run rebuilt with {@link fromRecord} writes what the uninterrupted one did.
 * Reading a definition costs its delta, not its lineage: lineages share their bases (see {@link Lineage}) and
 * are found by a content key kept as they grow.
 */
export class LineageTable {
  readonly #digests = new SourceDigests();
  readonly #empty = SourceSet.empty(this.#digests);
  /** Each defining line's lineage. */
  readonly #lineages = new Map<number, Lineage>();
  readonly #byContent = new Map<string, number>();
  readonly #byArray = new WeakMap<readonly Source[], number>();
  /** The latest defining lines, newest last, each with its sorted list once the writer needed it. */
  readonly #recent: number[] = [];
  readonly #recentLists = new Map<number, readonly Source[]>();

  /** The table of a record read so far: every lineage its crossings define, checked. */
  static fromRecord(entries: readonly (SourceFields & { readonly seq: number })[]): LineageTable {
    const table = new LineageTable();
    for (const e of entries) table.read(e);
    return table;
  }

  /** The table's work so far, for tests: splits hashed (each once, however many lineages hold it), trie nodes made. */
  get work(): { readonly hashed: number; readonly nodes: number } {
    return { hashed: this.#digests.hashed, nodes: this.#digests.nodes };
  }

  /**
   * The fields that record `sources` (sorted, distinct) on line `seq`: a reference to the line that defined
   * the same lineage, or its definition against the largest of the latest lineages it contains.
   */
  write(
    seq: number,
    sources: readonly Source[],
  ): { readonly model: number } | { readonly lineage: LineageDefinition } {
    const cached = this.#byArray.get(sources);
    if (cached !== undefined) return { model: cached };
    for (let i = 1; i < sources.length; i++)
      if (!(sources[i - 1]! < sources[i]!)) throw new Error('lineage: sources must be sorted and distinct');
    const known = this.#byContent.get(this.#digests.key(sources));
    // The key is a sum of digests, which chosen split names could make collide: a hit is checked member by member.
    const splits = known === undefined ? undefined : this.#lineages.get(known)!.splits;
    if (known !== undefined && sources.every((s) => splits!.has(s))) {
      this.#byArray.set(sources, known);
      return { model: known };
    }
    let baseLine: number | undefined;
    let baseList: readonly Source[] = [];
    for (const line of this.#recent) {
      const candidate = this.#lineages.get(line)!;
      if (candidate.size > sources.length || (baseLine !== undefined && candidate.size < baseList.length))
        continue;
      let list = this.#recentLists.get(line);
      if (list === undefined) this.#recentLists.set(line, (list = listOf(candidate)));
      if (isSubset(list, sources)) {
        baseLine = line;
        baseList = list;
      }
    }
    const base = baseLine === undefined ? undefined : this.#lineages.get(baseLine);
    const adds = base === undefined ? [...sources] : difference(sources, baseList);
    this.#define(seq, base, adds);
    this.#recentLists.set(seq, sources);
    this.#byArray.set(sources, seq);
    return { lineage: baseLine === undefined ? { adds } : { base: baseLine, adds } };
  }

  /**
   * The sources of a crossing read in record order: its inline list, or the {@link Lineage} it defines (kept for
   * the lines after it) or names. Throws a {@link LineageError} for a reference to a line that defines no
   * lineage before it, a definition whose splits are out of order, repeated or already in its base, or fields
   * of the wrong shape. What it keeps grows with what the lines add, never with the lineages' sizes.
   */
  read(entry: SourceFields & { readonly seq: number }): Sources {
    const { seq, sources, lineage, model } = entry;
    const present = [sources, lineage, model].filter((f) => f !== undefined).length;
    if (present > 1)
      throw new LineageError(seq, 'it records its sources more than one way (sources, lineage, model)');
    if (model !== undefined) return this.#defined(seq, model, 'its model');
    if (lineage === undefined) return sources ?? [];
    if (lineage === null || typeof lineage !== 'object' || !Array.isArray(lineage.adds))
      throw new LineageError(seq, 'its lineage is not {"base"?: line, "adds": [splits]}');
    const base =
      lineage.base === undefined ? undefined : this.#defined(seq, lineage.base, 'its lineage base');
    const adds = lineage.adds;
    for (const [i, s] of adds.entries()) {
      if (typeof s !== 'string' || !/:(train|test)$/.test(s))
        throw new LineageError(seq, `its lineage's split ${i + 1} is not hospital:train or hospital:test`);
      if (i > 0 && !(adds[i - 1]! < s))
        throw new LineageError(seq, `its lineage's splits are not sorted and distinct (split ${i + 1})`);
      if (base?.splits.has(s as Source) === true)
        throw new LineageError(seq, 'its lineage adds a split its base already holds');
    }
    return this.#define(seq, base, adds);
  }

  #defined(seq: number, line: unknown, what: string): Lineage {
    const lineage = typeof line === 'number' && line < seq ? this.#lineages.get(line) : undefined;
    if (lineage === undefined)
      throw new LineageError(seq, `${what} names line ${String(line)}, which defines no lineage before it`);
    return lineage;
  }

  #define(seq: number, base: Lineage | undefined, adds: readonly Source[]): Lineage {
    const lineage = new Lineage(base, adds, (base?.splits ?? this.#empty).with(adds));
    this.#lineages.set(seq, lineage);
    this.#byContent.set(lineage.splits.key, seq);
    this.#recent.push(seq);
    if (this.#recent.length > BASES_TRIED) this.#recentLists.delete(this.#recent.shift()!);
    return lineage;
  }
}

/** Each crossing's sources, in record order, lineages resolved and expanded (crossings of one lineage share one array). */
export function expandSources(
  entries: readonly (SourceFields & { readonly seq: number })[],
): (readonly Source[])[] {
  const table = new LineageTable();
  return entries.map((e) => listOf(table.read(e)));
}
