import { createHash } from 'node:crypto';
import type { Source } from '../../protocol/jurisdiction/enforcer.ts';
import { difference, isSubset, union } from './sorted-sources.ts';

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
 * The record's model lineages, in record order. A lineage (the sorted splits whose records trained a model)
 * is written once, on the first message that carries it, as a delta against an earlier lineage it contains
 * (or in full), and every later message carrying the same lineage names that line instead of repeating it,
 * so the record grows with the messages and the splits new to each model, not with their product. The same
 * table reads a record back ({@link read}), so the writer's choices (which line, which base) depend only on
 * the record so far: a resumed run rebuilt with {@link fromRecord} writes what the uninterrupted one did.
 */
export class LineageTable {
  /** Each defining line's lineage, expanded. */
  readonly #lineages = new Map<number, readonly Source[]>();
  readonly #byContent = new Map<string, number>();
  readonly #byArray = new WeakMap<readonly Source[], number>();
  /** The latest defining lines, newest last. */
  readonly #recent: number[] = [];

  /** The table of a record read so far: every lineage its crossings define, checked. */
  static fromRecord(entries: readonly (SourceFields & { readonly seq: number })[]): LineageTable {
    const table = new LineageTable();
    for (const e of entries) table.read(e);
    return table;
  }

  /**
   * The fields that record `sources` (sorted, distinct) on line `seq`: a reference to the line that defined
   * the same lineage, or its definition against the largest of the latest lineages it contains.
   */
  write(
    seq: number,
    sources: readonly Source[],
  ): { readonly model: number } | { readonly lineage: LineageDefinition } {
    const known = this.#byArray.get(sources) ?? this.#byContent.get(contentKey(sources));
    if (known !== undefined) {
      this.#byArray.set(sources, known);
      return { model: known };
    }
    for (let i = 1; i < sources.length; i++)
      if (!(sources[i - 1]! < sources[i]!)) throw new Error('lineage: sources must be sorted and distinct');
    let base: number | undefined;
    for (const line of this.#recent) {
      const candidate = this.#lineages.get(line)!;
      if (
        isSubset(candidate, sources) &&
        (base === undefined || candidate.length >= this.#lineages.get(base)!.length)
      )
        base = line;
    }
    const adds = base === undefined ? [...sources] : difference(sources, this.#lineages.get(base)!);
    this.#define(seq, sources);
    this.#byArray.set(sources, seq);
    return { lineage: base === undefined ? { adds } : { base, adds } };
  }

  /**
   * The sources of a crossing read in record order (a lineage it defines is kept for the lines after it).
   * Throws a {@link LineageError} for a reference to a line that defines no lineage before it, a definition
   * whose splits are out of order, repeated or already in its base, or fields of the wrong shape.
   */
  read(entry: SourceFields & { readonly seq: number }): readonly Source[] {
    const { seq, sources, lineage, model } = entry;
    const present = [sources, lineage, model].filter((f) => f !== undefined).length;
    if (present > 1)
      throw new LineageError(seq, 'it records its sources more than one way (sources, lineage, model)');
    if (model !== undefined) return this.#defined(seq, model, 'its model');
    if (lineage === undefined) return sources ?? [];
    if (lineage === null || typeof lineage !== 'object' || !Array.isArray(lineage.adds))
      throw new LineageError(seq, 'its lineage is not {"base"?: line, "adds": [splits]}');
    const base = lineage.base === undefined ? [] : this.#defined(seq, lineage.base, 'its lineage base');
    const adds = lineage.adds;
    for (const [i, s] of adds.entries()) {
      if (typeof s !== 'string' || !/:(train|test)$/.test(s))
        throw new LineageError(seq, `its lineage's split ${i + 1} is not hospital:train or hospital:test`);
      if (i > 0 && !(adds[i - 1]! < s))
        throw new LineageError(seq, `its lineage's splits are not sorted and distinct (split ${i + 1})`);
    }
    const full = union(base, adds);
    if (full.length !== base.length + adds.length)
      throw new LineageError(seq, 'its lineage adds a split its base already holds');
    this.#define(seq, full);
    return full;
  }

  #defined(seq: number, line: unknown, what: string): readonly Source[] {
    const lineage = typeof line === 'number' && line < seq ? this.#lineages.get(line) : undefined;
    if (lineage === undefined)
      throw new LineageError(seq, `${what} names line ${String(line)}, which defines no lineage before it`);
    return lineage;
  }

  #define(seq: number, sources: readonly Source[]): void {
    this.#lineages.set(seq, sources);
    this.#byContent.set(contentKey(sources), seq);
    this.#recent.push(seq);
    if (this.#recent.length > BASES_TRIED) this.#recent.shift();
  }
}

function contentKey(sources: readonly Source[]): string {
  const h = createHash('sha256');
  for (const s of sources) h.update(s + '\n');
  return h.digest('base64');
}

/** Each crossing's sources, in record order, lineages resolved (crossings of one lineage share one array). */
export function expandSources(
  entries: readonly (SourceFields & { readonly seq: number })[],
): (readonly Source[])[] {
  const table = new LineageTable();
  return entries.map((e) => table.read(e));
}
