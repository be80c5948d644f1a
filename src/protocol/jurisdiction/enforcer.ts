import { DATA_CLASS_NAMES, type DataClass, type Direction } from '../kinds.ts';
import type { BasisName } from './bases.ts';
import type { Consortium } from './consortium.ts';
import type { Leg, Rule } from './rule.ts';
import { chainOf, listOf, type SourceChain, type Sources } from './source-chain.ts';

/** Patients a message derives from: one split of one hospital, as `hospital:train` or `hospital:test`. */
export type Source = `${string}:${'train' | 'test'}`;

/** What fedmed knows of one message, from which its legs and their rules follow. */
export interface Facts {
  readonly direction: Direction;
  /** The hospital at the worker's end. */
  readonly hospital: string;
  /** Its classes, computed by fedmed. */
  readonly classes: readonly DataClass[];
  /**
   * The patients whose data it newly discloses: a hospital's reply, that hospital's own splits; a model sent
   * to a hospital, every split whose records trained it, round after round.
   */
  readonly sources: readonly Source[];
}

/**
 * Facts whose sources may be a chain shared with earlier lists (a crossing record's lineage read back), so
 * that the policies weigh each message by what its lineage adds.
 */
export interface ChainedFacts extends Omit<Facts, 'sources'> {
  readonly sources: Sources;
}

/** Where each party's messages go in a topology other than flat (see the server's topology hops). */
export interface TopologyHops {
  /** Every party's country, hospitals and aggregators. */
  readonly countryOf: ReadonlyMap<string, string>;
  /** Parties that relay their country's hospitals' data and hold none of their own. */
  readonly relays: ReadonlySet<string>;
  /** The country (or `neutral`) at the other end of a party's messages. */
  peerOf(party: string): { readonly country: string };
}

/** A basis a crossing relied on, the rule that asked for it, and the step it covered. */
export interface Reliance {
  readonly rule: string;
  readonly basis: BasisName;
  /** Country whose policy the rule is (whose patients the data derive from). */
  readonly origin: string;
  /** Where the data went: the coordinator's site (a country or neutral) or a hospital's country. */
  readonly destination: string;
}

/** A rule a crossing does not satisfy: which class took which leg, and the bases any one of which would do. */
export interface Breach {
  readonly rule: string;
  readonly says: string;
  readonly cite?: string;
  readonly class: DataClass;
  readonly leg: Leg;
  /** Country whose patients the data derive from, whose policy this is. */
  readonly origin: string;
  /** Where the data would go: the coordinator's site (a country or neutral) or a hospital's country. */
  readonly destination: string;
  /** Each basis that would satisfy the rule, with why a declared one falls short. */
  readonly missing: readonly string[];
}

/** The policies' verdict on one message. */
export interface Verdict {
  readonly relied: readonly Reliance[];
  readonly breaches: readonly Breach[];
}

/** How many training and held-out patients a hospital holds. */
export interface Holding {
  readonly train: number;
  readonly test: number;
}

/** The patients an enforcer counted as exported, per volume threshold (`origin|exporter|rule`). */
export type ExportedTallies = Readonly<Record<string, readonly Source[]>>;

/** One leg of a message for the patients of one country. */
interface Transfer {
  readonly leg: Leg;
  readonly origin: string;
  readonly destination: string;
  readonly classes: readonly DataClass[];
  /** The hospital sending it; absent when the coordinator sends. */
  readonly exporter?: string;
  readonly sources: SourceChain;
  /** The hospitals of its sources, sorted (asked only where a basis covers some hospitals alone). */
  readonly hospitals: () => readonly string[];
}

/** The splits counted as exported under one volume threshold, their people, and what is known of lists. */
interface Exported {
  readonly sources: Set<Source>;
  /** People of `sources` under the holdings of version `version` (recounted when the holdings change). */
  people: number;
  version: number;
  /** Links of source chains already counted, each with all before it (a model's list is committed once). */
  readonly committed: WeakSet<SourceChain>;
  /**
   * People of a chain's sources not yet in `sources`, valid while `sources` has the size and the holdings the
   * version they had then.
   */
  readonly volumes: WeakMap<
    SourceChain,
    { readonly size: number; readonly version: number; readonly extra: number }
  >;
}

/**
 * Evaluates messages against a consortium's policies, in the order they are made. A hospital's reply takes
 * the leg out of the hospital and, if the coordinator is elsewhere, out of its country, under its own
 * country's policy: the exporter is the one the law binds. A model the coordinator sends to a hospital
 * takes a leg out of the country of each origin other than the recipient's, under that origin's policy: an
 * onward transfer of what the coordinator gathered. It keeps, per exporter, the patients whose data of each
 * volume rule's classes it has sent, so that volume thresholds count people once, cumulatively.
 */
export class Enforcer {
  readonly #consortium: Consortium;
  readonly #countryOf: ReadonlyMap<string, string>;
  readonly #site: string;
  readonly #hops: TopologyHops | undefined;
  readonly #holdings = new Map<string, Holding>();
  readonly #exported = new Map<string, Exported>();
  /** Changes of the holdings, which volumes computed before them no longer reflect. */
  #holdingsVersion = 0;
  /** What a threshold under which nothing was exported yet counts: nothing (a first message's own people). */
  readonly #none: Exported = this.#newExported();
  /**
   * A model's sources split by country, once per link of its chain (many messages carry the same model, and a
   * lineage read back from a record is split by what it adds to its base).
   */
  readonly #byOrigin = new WeakMap<SourceChain, ReadonlyMap<string, SourceChain>>();
  readonly #hospitals = new WeakMap<SourceChain, readonly string[]>();
  readonly #ownChains = new Map<string, SourceChain>();

  /**
   * `site` is the coordinator's country or `neutral`; `countryOf` maps each hospital to its country. `hops`, for a
   * topology other than flat, says where each party's messages go and which parties only relay others' data.
   */
  constructor(
    consortium: Consortium,
    countryOf: ReadonlyMap<string, string>,
    site: string,
    hops?: TopologyHops,
  ) {
    this.#consortium = consortium;
    this.#countryOf = hops?.countryOf ?? countryOf;
    this.#site = site;
    this.#hops = hops;
  }

  get consortium(): Consortium {
    return this.#consortium;
  }

  /** Records how many patients `hospital` holds (learned at setup), for volume thresholds. */
  hold(hospital: string, holding: Holding): void {
    this.#holdings.set(hospital, holding);
    this.#holdingsVersion++;
  }

  /**
   * What a checkpoint keeps: the patients counted as exported per threshold, in the order they were counted
   * (the holdings are not in it: a resumed run learns them again from its hospitals' setup, whose record must be
   * the one the checkpointed run wrote).
   */
  exported(): ExportedTallies {
    return Object.fromEntries([...this.#exported].map(([k, v]) => [k, [...v.sources]]));
  }

  /** Puts back what {@link exported} returned (a resumed run's enforcer counts on from the checkpoint). */
  restoreExported(exported: ExportedTallies): void {
    this.#exported.clear();
    for (const [k, v] of Object.entries(exported)) {
      const e = this.#newExported();
      for (const source of v) this.#addExported(e, source);
      this.#exported.set(k, e);
    }
  }

  /** Patients in a split of a hospital (0 before its setup is known). */
  people(source: Source): number {
    const cut = source.lastIndexOf(':');
    const h = this.#holdings.get(source.slice(0, cut));
    return h === undefined ? 0 : source.endsWith(':train') ? h.train : h.test;
  }

  /** The bases `facts` relies on and the rules it breaks, if it were sent now. Changes nothing. */
  check(facts: ChainedFacts): Verdict {
    const relied: Reliance[] = [];
    const breaches: Breach[] = [];
    for (const t of this.#transfers(facts)) {
      for (const rule of this.#consortium.rules(t.origin)) {
        const cls = this.#applies(rule, t);
        if (cls === undefined) continue;
        const standings = rule.anyOf.map(
          (b) => [b, this.#consortium.standing(b, t.origin, t.destination, t.hospitals)] as const,
        );
        const met = standings.find(([, s]) => s.ok);
        if (met !== undefined) {
          relied.push({ rule: rule.id, basis: met[0], origin: t.origin, destination: t.destination });
          continue;
        }
        breaches.push({
          rule: rule.id,
          says: rule.says,
          ...(rule.cite === undefined ? {} : { cite: rule.cite }),
          class: cls,
          leg: t.leg,
          origin: t.origin,
          destination: t.destination,
          missing: standings.map(([b, s]) =>
            !s.ok && s.shortfall !== undefined ? `${b} (${s.shortfall})` : b,
          ),
        });
      }
    }
    return { relied, breaches };
  }

  /** Counts `facts`'s patients as exported, for later volume thresholds: call once it has crossed. */
  commit(facts: ChainedFacts): void {
    for (const t of this.#transfers(facts)) {
      for (const rule of this.#consortium.rules(t.origin)) {
        if (
          rule.peopleOver === undefined ||
          rule.leg !== t.leg ||
          firstShared(rule.classes, t.classes) === undefined
        )
          continue;
        const key = this.#volumeKey(rule, t);
        let e = this.#exported.get(key);
        if (e === undefined) this.#exported.set(key, (e = this.#newExported()));
        // Only the links not yet counted: a lineage that extends a committed one adds its own splits.
        for (let c: SourceChain | undefined = t.sources; c !== undefined && !e.committed.has(c); c = c.base) {
          for (const source of c.adds) this.#addExported(e, source);
          e.committed.add(c);
        }
      }
    }
  }

  #applies(rule: Rule, t: Transfer): DataClass | undefined {
    if (rule.leg !== t.leg) return undefined;
    const cls = firstShared(rule.classes, t.classes);
    if (cls === undefined) return undefined;
    if (
      rule.criticalInfrastructure === true &&
      (t.exporter === undefined || !this.#consortium.isCritical(t.exporter))
    )
      return undefined;
    if (rule.peopleOver !== undefined && this.#volume(rule, t) <= rule.peopleOver) return undefined;
    return cls;
  }

  /**
   * People whose data of the rule's classes the exporter has sent out of the origin, with this message: those
   * already counted and this message's others. Many messages carry one model's sources, so the people not yet
   * counted are kept per link of its chain until more is exported; a link extending a counted or known one
   * costs its own splits.
   */
  #volume(rule: Rule, t: Transfer): number {
    const e = this.#exported.get(this.#volumeKey(rule, t)) ?? this.#none;
    const size = e.sources.size;
    const version = this.#holdingsVersion;
    const path: SourceChain[] = [];
    let extra = 0;
    for (let c: SourceChain | undefined = t.sources; c !== undefined; c = c.base) {
      if (e.committed.has(c)) break;
      const known = e.volumes.get(c);
      if (known !== undefined && known.size === size && known.version === version) {
        extra = known.extra;
        break;
      }
      path.push(c);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      for (const source of path[i]!.adds) if (!e.sources.has(source)) extra += this.people(source);
      e.volumes.set(path[i]!, { size, version, extra });
    }
    return this.#peopleOf(e) + extra;
  }

  #newExported(): Exported {
    return {
      sources: new Set(),
      people: 0,
      version: this.#holdingsVersion,
      committed: new WeakSet(),
      volumes: new WeakMap(),
    };
  }

  #addExported(e: Exported, source: Source): void {
    if (e.sources.has(source)) return;
    e.people = this.#peopleOf(e) + this.people(source);
    e.sources.add(source);
  }

  /** `e`'s people under the current holdings: counted again only if a hospital's holdings changed since. */
  #peopleOf(e: Exported): number {
    if (e.version !== this.#holdingsVersion) {
      let people = 0;
      for (const source of e.sources) people += this.people(source);
      e.people = people;
      e.version = this.#holdingsVersion;
    }
    return e.people;
  }

  #volumeKey(rule: Rule, t: Transfer): string {
    return `${t.origin}|${t.exporter ?? 'coordinator'}|${rule.id}`;
  }

  #transfers(f: ChainedFacts): Transfer[] {
    const country = this.#country(f.hospital);
    if (f.direction === 'to-coordinator') {
      const site = this.#hops?.peerOf(f.hospital).country ?? this.#site;
      const all = listOf(f.sources);
      const leg = (leg: Leg, sources: SourceChain): Transfer => ({
        leg,
        origin: country,
        destination: site,
        classes: f.classes,
        exporter: f.hospital,
        sources,
        hospitals: () => this.#hospitalsOf(sources),
      });
      if (this.#hops?.relays.has(f.hospital) === true) {
        // A country aggregator sends on what its hospitals sent it: only the border is a new step.
        const own = all.filter((s) => this.#country(hospitalOf(s)) === country);
        return site === country ? [] : [leg('leave-country', { base: undefined, adds: own })];
      }
      const sources = this.#ownChain(all.filter((s) => hospitalOf(s) === f.hospital));
      const out = [leg('leave-hospital', sources)];
      if (site !== country) out.push(leg('leave-country', sources));
      return out;
    }
    const byOrigin = this.#splitByOrigin(chainOf(f.sources));
    return [...byOrigin.keys()]
      .filter((origin) => origin !== country)
      .sort()
      .map((origin) => {
        const sources = byOrigin.get(origin)!;
        return {
          leg: 'leave-country',
          origin,
          destination: country,
          classes: f.classes,
          sources,
          hospitals: () => this.#hospitalsOf(sources),
        };
      });
  }

  /**
   * A chain's sources by country, each country's part a chain of its own: a link's split is its base's with
   * the link's splits added to the parts of their countries (the other parts are its base's, shared).
   */
  #splitByOrigin(chain: SourceChain): ReadonlyMap<string, SourceChain> {
    const path: SourceChain[] = [];
    let c: SourceChain | undefined = chain;
    for (; c !== undefined && !this.#byOrigin.has(c); c = c.base) path.push(c);
    let split: ReadonlyMap<string, SourceChain> = c === undefined ? new Map() : this.#byOrigin.get(c)!;
    for (let i = path.length - 1; i >= 0; i--) {
      const link = path[i]!;
      const groups = new Map<string, Source[]>();
      for (const s of link.adds) {
        const origin = this.#country(hospitalOf(s));
        const group = groups.get(origin);
        if (group === undefined) groups.set(origin, [s]);
        else group.push(s);
      }
      const next = new Map(split);
      for (const [origin, adds] of groups) next.set(origin, { base: split.get(origin), adds });
      this.#byOrigin.set(link, next);
      split = next;
    }
    return split;
  }

  /**
   * The chain of a hospital's own splits in a reply: the same object for the same splits (a hospital has two), so
   * what is known of it (its volume, that it was counted) is kept from one reply to the next.
   */
  #ownChain(own: readonly Source[]): SourceChain {
    const key = own.join('\n');
    let chain = this.#ownChains.get(key);
    if (chain === undefined) this.#ownChains.set(key, (chain = { base: undefined, adds: own }));
    return chain;
  }

  #hospitalsOf(part: SourceChain): readonly string[] {
    let hospitals = this.#hospitals.get(part);
    if (hospitals === undefined) {
      hospitals = hospitalsOf(listOf(part));
      this.#hospitals.set(part, hospitals);
    }
    return hospitals;
  }

  #country(hospital: string): string {
    const c = this.#countryOf.get(hospital);
    if (c === undefined) throw new Error(`jurisdiction: unknown hospital ${hospital}`);
    return c;
  }
}

/** The hospital of a source. */
export function hospitalOf(source: Source): string {
  return source.slice(0, source.lastIndexOf(':'));
}

function hospitalsOf(sources: readonly Source[]): string[] {
  return [...new Set(sources.map(hospitalOf))].sort();
}

/** The first class, in the table's order, that both lists hold. */
function firstShared(a: readonly DataClass[], b: readonly DataClass[]): DataClass | undefined {
  return DATA_CLASS_NAMES.find((c) => a.includes(c) && b.includes(c));
}
