import { DATA_CLASS_NAMES, type DataClass, type Direction } from '../kinds.ts';
import type { BasisName } from './bases.ts';
import type { Consortium } from './consortium.ts';
import type { Leg, Rule } from './rule.ts';

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

/** An enforcer's running tallies, as a checkpoint keeps them. */
export interface EnforcerTallies {
  readonly holdings: Readonly<Record<string, Holding>>;
  readonly exported: Readonly<Record<string, readonly Source[]>>;
}

/** One leg of a message for the patients of one country. */
interface Transfer {
  readonly leg: Leg;
  readonly origin: string;
  readonly destination: string;
  readonly classes: readonly DataClass[];
  /** The hospital sending it; absent when the coordinator sends. */
  readonly exporter?: string;
  readonly sources: readonly Source[];
  /** The hospitals of its sources, sorted. */
  readonly hospitals: readonly string[];
}

/** A model's sources from one country, and their hospitals. */
interface OriginPart {
  readonly sources: readonly Source[];
  readonly hospitals: readonly string[];
}

/** The splits counted as exported under one volume threshold, their people, and what is known of lists. */
interface Exported {
  readonly sources: Set<Source>;
  people: number;
  /** Sources lists already counted (a model's list is committed once, however many messages carry it). */
  readonly committed: WeakSet<readonly Source[]>;
  /** A list's volume, valid while `sources` has the size it had then. */
  readonly volumes: WeakMap<readonly Source[], { readonly size: number; readonly people: number }>;
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
  /** A model's sources split by country, computed once per sources list (many messages carry the same model). */
  readonly #byOrigin = new WeakMap<readonly Source[], ReadonlyMap<string, OriginPart>>();

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
  }

  /** What a checkpoint keeps: each hospital's holdings and the patients counted as exported per threshold. */
  tallies(): EnforcerTallies {
    return {
      holdings: Object.fromEntries(this.#holdings),
      exported: Object.fromEntries([...this.#exported].map(([k, v]) => [k, [...v.sources].sort()])),
    };
  }

  /** Puts back what {@link tallies} returned (a resumed run's enforcer starts where the checkpoint left it). */
  restoreTallies(t: EnforcerTallies): void {
    this.#holdings.clear();
    for (const [h, holding] of Object.entries(t.holdings)) this.#holdings.set(h, holding);
    this.#exported.clear();
    for (const [k, v] of Object.entries(t.exported)) {
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
  check(facts: Facts): Verdict {
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
  commit(facts: Facts): void {
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
        if (e.committed.has(t.sources)) continue;
        e.committed.add(t.sources);
        for (const source of t.sources) this.#addExported(e, source);
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
   * already counted and this message's others. Many messages carry one model's sources list, so the answer is
   * kept per list until more is exported.
   */
  #volume(rule: Rule, t: Transfer): number {
    const e = this.#exported.get(this.#volumeKey(rule, t));
    if (e === undefined) return t.sources.reduce((n, source) => n + this.people(source), 0);
    const known = e.volumes.get(t.sources);
    if (known !== undefined && known.size === e.sources.size) return known.people;
    let people = e.people;
    for (const source of t.sources) if (!e.sources.has(source)) people += this.people(source);
    e.volumes.set(t.sources, { size: e.sources.size, people });
    return people;
  }

  #newExported(): Exported {
    return { sources: new Set(), people: 0, committed: new WeakSet(), volumes: new WeakMap() };
  }

  #addExported(e: Exported, source: Source): void {
    if (e.sources.has(source)) return;
    e.sources.add(source);
    e.people += this.people(source);
  }

  #volumeKey(rule: Rule, t: Transfer): string {
    return `${t.origin}|${t.exporter ?? 'coordinator'}|${rule.id}`;
  }

  #transfers(f: Facts): Transfer[] {
    const country = this.#country(f.hospital);
    if (f.direction === 'to-coordinator') {
      const site = this.#hops?.peerOf(f.hospital).country ?? this.#site;
      const base = { origin: country, destination: site, classes: f.classes, exporter: f.hospital };
      if (this.#hops?.relays.has(f.hospital) === true) {
        // A country aggregator sends on what its hospitals sent it: only the border is a new step.
        const sources = f.sources.filter((s) => this.#country(hospitalOf(s)) === country);
        const hospitals = hospitalsOf(sources);
        return site === country ? [] : [{ ...base, leg: 'leave-country', sources, hospitals }];
      }
      const sources = f.sources.filter((s) => hospitalOf(s) === f.hospital);
      const hospitals = hospitalsOf(sources);
      return [
        { ...base, leg: 'leave-hospital', sources, hospitals },
        ...(site === country ? [] : [{ ...base, leg: 'leave-country' as const, sources, hospitals }]),
      ];
    }
    const byOrigin = this.#splitByOrigin(f.sources);
    return [...byOrigin.keys()]
      .filter((origin) => origin !== country)
      .sort()
      .map((origin) => ({
        leg: 'leave-country',
        origin,
        destination: country,
        classes: f.classes,
        ...byOrigin.get(origin)!,
      }));
  }

  #splitByOrigin(sources: readonly Source[]): ReadonlyMap<string, OriginPart> {
    let split = this.#byOrigin.get(sources);
    if (split === undefined) {
      const groups = new Map<string, Source[]>();
      for (const s of sources) {
        const origin = this.#country(hospitalOf(s));
        const group = groups.get(origin);
        if (group === undefined) groups.set(origin, [s]);
        else group.push(s);
      }
      split = new Map(
        [...groups].map(([origin, group]) => [origin, { sources: group, hospitals: hospitalsOf(group) }]),
      );
      this.#byOrigin.set(sources, split);
    }
    return split;
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
