import { hospitalOf } from '../../protocol/jurisdiction/enforcer.ts';
import type { DataClass } from '../../protocol/kinds.ts';
import type { Scenario } from '../../scenario/schema.ts';
import type { Enforcement } from '../jurisdiction/violation.ts';
import type { Crossing } from '../ledger.ts';

/** Messages and bytes of one flow, and how much of it crossed a border. */
export interface Flow {
  messages: number;
  bytes: number;
  crossBorderMessages: number;
  crossBorderBytes: number;
}

/** A legal basis a country's policy relied on, for one destination, and how many crossings relied on it. */
export interface BasisUse {
  readonly rule: string;
  readonly basis: string;
  readonly destination: string;
  crossings: number;
}

/** One country's side of a run, from its crossing record. */
export interface CountryCompliance {
  readonly hospitals: readonly string[];
  /** Patients its hospitals hold (training and held-out, as each reported at setup): all of them stay home. */
  recordsKeptAtHome: number;
  /** Patient records the federation sent out of its hospitals: 0 by construction (the pooled oracle's apart). */
  rawRecordsExported: number;
  /** Messages sent from this country (its hospitals' replies; the coordinator's, if it sits here), by class. */
  readonly sent: Partial<Record<DataClass, Flow>>;
  /** Messages received in this country, by class. */
  readonly received: Partial<Record<DataClass, Flow>>;
  /** Bytes sent and received, all classes together, and how many of them crossed a border. */
  readonly bytes: { sent: number; received: number; sentAcrossBorder: number; receivedAcrossBorder: number };
  /** The bases its policy's rules relied on. */
  readonly basesReliedOn: BasisUse[];
  /** Federation messages that broke a rule of its policy. */
  violations: number;
}

/** A federation message that broke a rule, as the compliance report lists it. */
export interface ViolationEntry {
  readonly seq: number;
  readonly round: number;
  readonly hospital: string;
  readonly kind: string;
  readonly enforcement: Enforcement;
  /** The first rule it broke, which the run stopped on; the class, origin, destination and missing bases are its. */
  readonly rule: string;
  /** The other rules the same message broke, if any. */
  readonly alsoBroke?: readonly string[];
  readonly class: DataClass;
  readonly origin: string;
  readonly destination: string;
  readonly missing: readonly string[];
}

/** What a pooling would have taken from one country's hospitals (the pooled oracle, never sent). */
export interface PooledExport {
  records: number;
  bytes: number;
  readonly rulesBroken: string[];
}

/** A run's compliance, per country, computed from its crossing record alone. */
export interface Compliance {
  /** Whether the scenario declared jurisdiction policies (without, nothing was refused). */
  readonly policies: boolean;
  /** `violation` when a federation message broke a rule (the run stopped there). */
  readonly status: 'compliant' | 'violation';
  readonly violations: readonly ViolationEntry[];
  /** Countries of the hospitals and the coordinator's site (`neutral` for a neutral one). */
  readonly countries: Record<string, CountryCompliance>;
  /** The pooled oracle: always a sovereignty violation, shown apart; absent when it did not run. */
  readonly pooledOracle?: {
    readonly sovereigntyViolation: true;
    readonly countries: Record<string, PooledExport>;
  };
  /** Local-only baseline messages that broke a rule (flagged, never stopping the run). */
  readonly localOnlyViolations: number;
}

const emptyFlow = (): Flow => ({ messages: 0, bytes: 0, crossBorderMessages: 0, crossBorderBytes: 0 });

/** How the coordinator dealt with a forbidden crossing, from its record. */
export function enforcementOf(c: Pick<Crossing, 'sent' | 'kind' | 'admitted'>): Enforcement {
  if (c.sent === false) return 'not sent';
  if (c.kind === 'error') return 'refused by the hospital';
  return 'discarded';
}

/**
 * The compliance report of a run: per country, the records kept at home, the federation's crossings by class
 * and direction with their bytes, the bases relied on and the violations; the pooled oracle's exports apart.
 * It reads only the crossing record (and the scenario's countries), so `fedmed verify` can recompute it.
 */
export function complianceReport(
  scenario: Pick<Scenario, 'hospitals' | 'coordinator' | 'jurisdiction'>,
  crossings: readonly Crossing[],
): Compliance {
  const site = scenario.coordinator.site;
  const countryOf = new Map(scenario.hospitals.map((h) => [h.id, h.country]));
  const countries: Record<string, CountryCompliance> = {};
  for (const c of [...new Set([...countryOf.values(), site])].sort()) {
    countries[c] = {
      hospitals: scenario.hospitals.filter((h) => h.country === c).map((h) => h.id),
      recordsKeptAtHome: 0,
      rawRecordsExported: 0,
      sent: {},
      received: {},
      bytes: { sent: 0, received: 0, sentAcrossBorder: 0, receivedAcrossBorder: 0 },
      basesReliedOn: [],
      violations: 0,
    };
  }
  const violations: ViolationEntry[] = [];
  const pooled: Record<string, PooledExport> = {};
  let pooledRan = false;
  let localOnlyViolations = 0;
  const holdings = new Map<string, NonNullable<Crossing['holds']>>();
  for (const c of crossings)
    if (c.holds !== undefined && !holdings.has(c.hospital)) holdings.set(c.hospital, c.holds);
  for (const c of crossings) {
    if (c.purpose === 'pooled') {
      if (c.kind !== 'pooled-records') continue;
      pooledRan = true;
      const p = (pooled[c.country] ??= { records: 0, bytes: 0, rulesBroken: [] });
      p.records += peopleOf(c, holdings);
      p.bytes += c.bytes;
      for (const v of c.violations ?? []) if (!p.rulesBroken.includes(v.rule)) p.rulesBroken.push(v.rule);
      continue;
    }
    if (c.purpose === 'local-only') {
      if ((c.violations ?? []).length > 0) localOnlyViolations++;
      continue;
    }
    if (c.purpose !== 'federation') continue;
    if (c.holds !== undefined) countries[c.country]!.recordsKeptAtHome += c.holds.train + c.holds.test;
    if (c.classes.includes('personal-records')) countries[c.country]!.rawRecordsExported++;
    if ((c.violations ?? []).length > 0) {
      const v = c.violations![0]!;
      const also = [...new Set(c.violations!.slice(1).map((x) => x.rule))].filter((r) => r !== v.rule);
      violations.push({
        seq: c.seq,
        round: c.round,
        hospital: c.hospital,
        kind: v.kind,
        enforcement: enforcementOf(c),
        rule: v.rule,
        ...(also.length === 0 ? {} : { alsoBroke: also }),
        class: v.class,
        origin: v.origin,
        destination: v.destination,
        missing: v.missing,
      });
      const owner = countries[v.origin];
      if (owner !== undefined) owner.violations++;
    }
    for (const r of c.relied ?? []) {
      const owner = countries[r.origin];
      if (owner === undefined) continue;
      const use = owner.basesReliedOn.find(
        (u) => u.rule === r.rule && u.basis === r.basis && u.destination === r.destination,
      );
      if (use === undefined) owner.basesReliedOn.push({ ...r, crossings: 1 });
      else use.crossings++;
    }
    if (c.sent === false) continue;
    const [from, to] = c.direction === 'to-coordinator' ? [c.country, site] : [site, c.country];
    add(countries[from]!, 'sent', c);
    add(countries[to]!, 'received', c);
  }
  for (const country of Object.values(countries)) {
    country.basesReliedOn.sort(
      (a, b) => cmp(a.rule, b.rule) || cmp(a.basis, b.basis) || cmp(a.destination, b.destination),
    );
  }
  return {
    policies: scenario.jurisdiction !== undefined,
    status: violations.length === 0 ? 'compliant' : 'violation',
    violations,
    countries,
    ...(pooledRan ? { pooledOracle: { sovereigntyViolation: true as const, countries: pooled } } : {}),
    localOnlyViolations,
  };
}

function add(country: CountryCompliance, way: 'sent' | 'received', c: Crossing): void {
  for (const cls of c.classes) {
    const f = (country[way][cls] ??= emptyFlow());
    f.messages++;
    f.bytes += c.bytes;
    if (c.crossesBorder) {
      f.crossBorderMessages++;
      f.crossBorderBytes += c.bytes;
    }
  }
  country.bytes[way] += c.bytes;
  if (c.crossesBorder) country.bytes[way === 'sent' ? 'sentAcrossBorder' : 'receivedAcrossBorder'] += c.bytes;
}

/** Patients a crossing's sources hold, from the setup replies' holdings in the same record (each hospital's first). */
function peopleOf(c: Crossing, holdings: ReadonlyMap<string, NonNullable<Crossing['holds']>>): number {
  let people = 0;
  for (const s of c.sources ?? []) {
    const holds = holdings.get(hospitalOf(s));
    if (holds !== undefined) people += s.endsWith(':train') ? holds.train : holds.test;
  }
  return people;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
