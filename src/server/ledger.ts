import { canonicalJson, sha256 } from '../common/hash.ts';
import { count, noBytes, type ByteTotals } from './byte-totals.ts';
import {
  hospitalOf,
  type Facts,
  type Holding,
  type Reliance,
  type Source,
} from '../protocol/jurisdiction/enforcer.ts';
import { KINDS, type DataClass, type Direction, type Kind, type Purpose } from '../protocol/kinds.ts';
import { scenarioHash } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { JurisdictionGate } from './jurisdiction/gate.ts';
import { LineageTable, type LineageDefinition } from './jurisdiction/lineage.ts';
import { topologyHops, type Hops, type Party } from './topology/hops.ts';
import type { Violation } from './jurisdiction/violation.ts';

export type { DataClass, Direction, Kind as CrossingKind, Purpose };

/** One message across the boundary between the coordinator and a hospital's worker. */
export interface Crossing {
  /** Its line in the record, from 1. */
  readonly seq: number;
  /** SHA-256 of the previous entry's canonical JSON (of the scenario's canonical JSON for the first). */
  readonly prev: string;
  /** Round it belongs to; 0 for setup and baselines. */
  readonly round: number;
  readonly hospital: string;
  /** Country of the hospital. */
  readonly country: string;
  readonly direction: Direction;
  readonly kind: Kind;
  readonly purpose: Purpose;
  /** What it carried, as the jurisdiction policies weigh it: computed by fedmed, never taken from the sender. */
  readonly classes: readonly DataClass[];
  /** Countries of the patients whose data it newly discloses (see {@link sources}). */
  readonly origins: readonly string[];
  /**
   * The patients whose data it newly discloses, as `hospital:split`: a reply, its hospital's own split.
   * Absent when none (setup, error reports, a random model), and for a message to a hospital, which records
   * them as {@link lineage} or {@link model} instead.
   */
  readonly sources?: readonly Source[];
  /**
   * A message to a hospital that is the first to carry its model's lineage (every split whose records trained
   * the model, or the federation's transform): the lineage, in full or as the splits it adds to the lineage
   * defined on line `base`. Its sources are that lineage.
   */
  readonly lineage?: LineageDefinition;
  /** A later message carrying the same lineage: the line (`seq`) that defined it. Its sources are that lineage. */
  readonly model?: number;
  /** Bytes of the message as it crossed (its envelope). */
  readonly bytes: number;
  /** SHA-256 of those bytes; absent for a message rejected or discarded, which is measured but not hashed. */
  readonly sha256?: string;
  /** True when the hospital's country differs from the coordinator's site (always, for a neutral site). */
  readonly crossesBorder: boolean;
  /**
   * The other end when it is not the coordinator (hierarchical topology: a hospital's country aggregator, or the
   * coordinator for an aggregator's messages); `crossesBorder` then compares the two ends' countries.
   */
  readonly peer?: Party;
  /** False when the boundary rejected the message or a policy had it discarded. */
  readonly admitted: boolean;
  /** False for a request the coordinator did not send because a policy forbids it or its reply. */
  readonly sent?: false;
  /** Why it was rejected, discarded or not sent: field and expectation or rule, never a value. */
  readonly reason?: string;
  /** The legal bases it relied on, each with the rule that asked for it. */
  readonly relied?: readonly Reliance[];
  /** Rules it breaks (or its reply would break): a stop for the federation, flagged for the baselines. */
  readonly violations?: readonly Violation[];
  /** Training and held-out patients a hospital reported holding at setup, as the boundary admitted them. */
  readonly holds?: Holding;
  /** Set on records a real deployment could not send without breaking data sovereignty (the pooled oracle). */
  readonly sovereigntyViolation?: true;
}

/** Totals of bytes crossed. */
export type { ByteTotals } from './byte-totals.ts';

/** A message's size and, unless it was rejected, its hash. */
export interface Measured {
  readonly bytes: number;
  readonly sha256?: string;
}

/** How the boundary and the policies took a message. */
export interface Handling {
  readonly admitted: boolean;
  readonly reason?: string;
  /** The purpose it served, when not its kind's (an error report serves its request's). */
  readonly purpose?: Purpose;
  /** False for a request a policy kept from being sent. */
  readonly sent?: false;
}

/** What the jurisdiction layer found of a message. */
export interface Judged {
  readonly facts: Facts;
  readonly relied?: readonly Reliance[];
  readonly violations?: readonly Violation[];
  readonly holds?: Holding;
}

/** The end of the chain, for the manifest: how many entries, the first link and the last hash. */
export interface ChainHead {
  readonly entries: number;
  /** SHA-256 the first entry links to: the resolved scenario's hash. */
  readonly genesis: string;
  /** SHA-256 of the last entry's canonical JSON (the genesis when there is none). */
  readonly head: string;
}

/** SHA-256 of an entry as the chain hashes it: its canonical JSON. */
export function entryHash(entry: unknown): string {
  return sha256(canonicalJson(entry));
}

/**
 * The record of every crossing, in the order the coordinator handled them, hash-chained: each entry carries
 * the SHA-256 of the previous one's canonical JSON, the first the scenario's hash, and {@link head} is the
 * last one's. Entries are built with their keys in canonical order, so `JSON.stringify` writes the text that
 * was hashed.
 */
export class Ledger {
  readonly #entries: Crossing[] = [];
  readonly #site: string;
  readonly #countryOf: ReadonlyMap<string, string>;
  readonly #genesis: string;
  readonly #gate: JurisdictionGate | undefined;
  readonly #hops: Hops | undefined;
  #lineages = new LineageTable();
  readonly #origins = new WeakMap<readonly Source[], readonly string[]>();
  #head: string;
  #flushed = 0;
  #tally = new RoundTally();

  /**
   * `site` is the coordinator's country code or 'neutral'. `genesis` is what the first entry links to; a run's
   * ledger (see {@link forRun}) uses the scenario's hash and weighs every message with the scenario's policies.
   */
  constructor(
    site: string,
    countryOf: ReadonlyMap<string, string>,
    options: {
      readonly genesis?: string;
      readonly jurisdiction?: JurisdictionGate;
      readonly hops?: Hops;
    } = {},
  ) {
    this.#site = site;
    this.#countryOf = options.hops?.countryOf ?? countryOf;
    this.#hops = options.hops;
    this.#genesis = options.genesis ?? '0'.repeat(64);
    this.#head = this.#genesis;
    this.#gate = options.jurisdiction;
  }

  /** The ledger of a run of `scenario` whose initial model is `initial`. */
  static forRun(scenario: Scenario, initial: Float32Array): Ledger {
    const hops = topologyHops(scenario);
    return new Ledger(scenario.coordinator.site, new Map(scenario.hospitals.map((h) => [h.id, h.country])), {
      genesis: scenarioHash(scenario),
      jurisdiction: new JurisdictionGate(scenario, initial),
      ...(hops === undefined ? {} : { hops }),
    });
  }

  /** The jurisdiction layer that weighs this run's messages (absent for a tool outside any run). */
  get jurisdiction(): JurisdictionGate | undefined {
    return this.#gate;
  }

  /**
   * Records one message of `kind`; its direction comes from the kind table, its purpose too unless given (an
   * error report serves the purpose of the request it answers), its classes from `judged` or the table.
   */
  record(
    round: number,
    hospital: string,
    kind: Kind,
    message: Measured,
    handling: Handling = { admitted: true },
    judged?: Judged,
  ): Crossing {
    const country = this.#countryOf.get(hospital);
    if (country === undefined) throw new Error(`ledger: unknown hospital ${hospital}`);
    const spec = KINDS[kind];
    const sources = judged?.facts.sources ?? [];
    // Only the federation's own messages take the topology's hops; baselines' go where they really would.
    const peer = spec.purpose === 'federation' ? this.#hops?.peerOf(hospital) : undefined;
    const site = peer?.country ?? this.#site;
    const seq = this.#entries.length + 1;
    const draft = {
      seq,
      prev: this.#head,
      round,
      hospital,
      country,
      direction: spec.direction,
      kind,
      purpose: handling.purpose ?? spec.purpose,
      classes: judged?.facts.classes ?? [spec.dataClass],
      origins: this.#originsOf(sources),
      ...(sources.length === 0
        ? {}
        : spec.direction === 'to-hospital'
          ? this.#lineages.write(seq, sources)
          : { sources }),
      bytes: message.bytes,
      ...(message.sha256 === undefined ? {} : { sha256: message.sha256 }),
      crossesBorder: site === 'neutral' || site !== country,
      ...(peer === undefined ? {} : { peer }),
      admitted: handling.admitted,
      ...(handling.sent === false ? { sent: false as const } : {}),
      ...(handling.reason === undefined ? {} : { reason: handling.reason }),
      ...(judged?.relied === undefined || judged.relied.length === 0 ? {} : { relied: judged.relied }),
      ...(judged?.violations === undefined || judged.violations.length === 0
        ? {}
        : { violations: judged.violations }),
      ...(judged?.holds === undefined ? {} : { holds: judged.holds }),
      ...(kind === 'pooled-records' ? { sovereigntyViolation: true as const } : {}),
    };
    // The entry's canonical JSON is its text in crossings.jsonl and what the chain hashes: written once.
    const text = canonicalJson(draft);
    const entry = JSON.parse(text) as Crossing;
    this.#head = sha256(text);
    this.#entries.push(entry);
    this.#tally.add(entry);
    return entry;
  }

  /**
   * Records the patient records a pooled oracle used from `hospital`: nothing crossed in the simulation, but a
   * real deployment would have had to send these bytes out of the hospital. The policies weigh them and any
   * rule they break is flagged; the record is a sovereignty violation whatever bases are in place.
   */
  recordPooledRecords(hospital: string, bytes: number): Crossing {
    const gate = this.#gate;
    if (gate === undefined) return this.record(0, hospital, 'pooled-records', { bytes });
    const facts = gate.recordsFacts(hospital);
    const verdict = gate.check(facts);
    return this.record(
      0,
      hospital,
      'pooled-records',
      { bytes },
      { admitted: true },
      {
        facts,
        relied: verdict.relied,
        violations: verdict.breaches.map((b) => ({ ...b, kind: 'pooled-records' as const })),
      },
    );
  }

  /**
   * Takes the crossings a checkpointed run recorded as this ledger's own (they are already written): those
   * recorded so far (a resumed run's setup, done again) must be the same entries, or a RangeError says where they differ.
   */
  resumeFrom(recorded: readonly Crossing[]): void {
    this.#entries.forEach((e, i) => {
      const was = recorded[i];
      if (was === undefined || canonicalJson(was) !== canonicalJson(e))
        throw new RangeError(
          `crossing ${i + 1} (${e.kind}, hospital ${e.hospital}) differs from the one the checkpointed run recorded`,
        );
    });
    this.#lineages = LineageTable.fromRecord(recorded);
    this.#entries.length = 0;
    this.#tally = new RoundTally();
    for (const e of recorded) {
      this.#entries.push(e);
      this.#tally.add(e);
    }
    this.#head = recorded.length === 0 ? this.#genesis : entryHash(recorded[recorded.length - 1]);
    this.#flushed = recorded.length;
  }

  #originsOf(sources: readonly Source[]): readonly string[] {
    let origins = this.#origins.get(sources);
    if (origins === undefined) {
      origins = [...new Set(sources.map((s) => this.#countryOf.get(hospitalOf(s)) ?? '?'))].sort();
      this.#origins.set(sources, origins);
    }
    return origins;
  }

  /** Every crossing so far. */
  get entries(): readonly Crossing[] {
    return this.#entries;
  }

  /** The chain's end: entries, genesis and head. */
  get chain(): ChainHead {
    return { entries: this.#entries.length, genesis: this.#genesis, head: this.#head };
  }

  /** Crossings recorded since the previous call. */
  takeUnflushed(): readonly Crossing[] {
    const out = this.#entries.slice(this.#flushed);
    this.#flushed = this.#entries.length;
    return out;
  }

  /** Byte totals of the crossings that served `purpose` (the federation unless told), in one round or all. */
  totals(round?: number, purpose: Purpose = 'federation'): ByteTotals {
    return round === undefined ? byteTotals(this.#entries, round, purpose) : this.#tally.of(round, purpose);
  }
}

/** What {@link byteTotals} counts of the crossings it is given. */
type Counted = Pick<
  Crossing,
  'round' | 'purpose' | 'direction' | 'bytes' | 'crossesBorder' | 'admitted' | 'kind' | 'sent'
>;

/** Byte totals per round and purpose, kept as crossings are recorded, so a round's need not scan the record. */
class RoundTally {
  readonly #totals = new Map<string, ByteTotals>();

  add(e: Counted): void {
    const key = `${e.round}/${e.purpose}`;
    let t = this.#totals.get(key);
    if (t === undefined) this.#totals.set(key, (t = noBytes()));
    count(t, e);
  }

  of(round: number, purpose: Purpose): ByteTotals {
    return { ...(this.#totals.get(`${round}/${purpose}`) ?? noBytes()) };
  }
}

/** Byte totals of the crossings in `entries` that served `purpose`, in one round or all. */
export function byteTotals(
  entries: readonly Counted[],
  round: number | undefined,
  purpose: Purpose,
): ByteTotals {
  const t = noBytes();
  for (const e of entries) {
    if (e.purpose !== purpose) continue;
    if (round !== undefined && e.round !== round) continue;
    count(t, e);
  }
  return t;
}
