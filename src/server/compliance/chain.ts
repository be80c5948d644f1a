import { entryHash } from '../ledger.ts';

/** The first thing wrong with a crossing record's chain: the line (from 1) and what is wrong there. */
export interface ChainProblem {
  readonly line: number;
  readonly problem: string;
}

/** What the manifest says the chain should be. */
export interface ExpectedChain {
  readonly genesis: string;
  readonly entries: number;
  readonly head: string;
}

interface Parsed {
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
}

/**
 * Checks a crossing record against its hash chain and the manifest's head, and names the first bad line: an
 * entry changed, deleted, inserted or moved, a line that is not a record, entries missing at the end or
 * added after the head. Each line's `prev` must be the SHA-256 of the previous line's canonical JSON (the
 * genesis for the first) and its `seq` its line number. A rewrite of the whole chain that keeps it
 * consistent, manifest head included, passes: only a run again (`--rerun`) or a head kept elsewhere shows it.
 */
export function checkChain(lines: readonly string[], expected: ExpectedChain): ChainProblem | undefined {
  const parsed: Parsed[] = [];
  for (const [i, text] of lines.entries()) {
    const p = parseLine(text);
    if (p === undefined) return { line: i + 1, problem: 'not a crossing record (JSON with seq and prev)' };
    parsed.push(p);
  }
  const linkTo = (i: number) => (i === 0 ? expected.genesis : parsed[i - 1]!.hash);
  const linked = (i: number) =>
    i < parsed.length
      ? parsed[i]!.prev === linkTo(i)
      : parsed.length !== expected.entries || linkTo(i) === expected.head;
  for (let i = 0; i < parsed.length; i++) {
    if (linked(i)) continue;
    const line = i + 1;
    const prev = parsed[i]!.prev;
    const from = prev === expected.genesis ? 0 : parsed.findIndex((p) => p.hash === prev) + 1 || -1;
    if (from >= line) return { line, problem: `out of order: it follows the entry on line ${from}` };
    if (i + 1 < parsed.length && parsed[i + 1]!.prev === linkTo(i)) {
      const copy = parsed.findIndex((p, k) => k !== i && p.hash === parsed[i]!.hash);
      const what = copy >= 0 ? `a copy of line ${copy + 1}` : 'the next entry links to the one before it';
      return { line, problem: `inserted: ${what}` };
    }
    if (from >= 0 && from < line - 1) {
      const target = from === 0 ? 'the start of the chain' : `line ${from}`;
      return { line: from + 1, problem: `inserted: line ${line} links to ${target}, past this one` };
    }
    if (parsed[i]!.seq > line) {
      const gap =
        parsed[i]!.seq === line + 1 ? `entry ${line} is` : `entries ${line}–${parsed[i]!.seq - 1} are`;
      return { line, problem: `${gap} missing before it (deleted)` };
    }
    if (!linked(i + 1)) return { line, problem: 'changed: its hash is not what the next entry links to' };
    return { line: i, problem: `changed: its hash is not what line ${line} links to` };
  }
  for (const [i, p] of parsed.entries()) {
    if (p.seq !== i + 1) return { line: i + 1, problem: `numbered ${p.seq}: entries renumbered or moved` };
  }
  if (parsed.length < expected.entries) {
    return {
      line: parsed.length + 1,
      problem: `missing: the manifest records ${expected.entries} entries, the file has ${parsed.length} (deleted at the end)`,
    };
  }
  if (parsed.length > expected.entries) {
    return {
      line: expected.entries + 1,
      problem: `added after the manifest's head (${expected.entries} entries)`,
    };
  }
  if (linkTo(parsed.length) !== expected.head) {
    return { line: parsed.length, problem: "changed: its hash is not the manifest's head" };
  }
  return undefined;
}

function parseLine(text: string): Parsed | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const { seq, prev } = v as { seq?: unknown; prev?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || typeof prev !== 'string') return undefined;
  return { seq, prev, hash: entryHash(v) };
}
