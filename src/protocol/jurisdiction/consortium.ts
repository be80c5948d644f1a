import type { BasisEntry, JurisdictionConfig } from '../../scenario/jurisdiction-schema.ts';
import { BASES, type BasisName } from './bases.ts';
import { policyRules } from './presets.ts';
import type { Rule } from './rule.ts';

/** Whether a basis is in place for one transfer, and if not, what of it was declared and why it falls short. */
export type Standing = { readonly ok: true } | { readonly ok: false; readonly shortfall?: string };

/** Hospitals take their k from here unless a scenario says otherwise; see the schema's `aggregates`. */
const DEFAULT_AGGREGATES = { minHospitals: 3, dpMaxEpsilon: 10 } as const;

/**
 * A consortium's policies compiled for evaluation: each country's rules, the bases in place for its
 * patients and for each transfer, its critical-infrastructure operators, and the aggregate thresholds.
 * Built from the scenario's `jurisdiction` block; without one, no country has rules and nothing is refused.
 */
export class Consortium {
  readonly declared: boolean;
  /** k: fewest hospitals an aggregate needs not to count as per-hospital parameters. */
  readonly minHospitals: number;
  /** x: largest ε for which an aggregate under client-level DP counts as `aggregate-dp` (reserved). */
  readonly dpMaxEpsilon: number;
  readonly #year: number | undefined;
  readonly #rules = new Map<string, readonly Rule[]>();
  readonly #countryBases = new Map<string, readonly BasisEntry[]>();
  readonly #pairBases = new Map<string, readonly BasisEntry[]>();
  readonly #critical = new Set<string>();

  constructor(config: JurisdictionConfig | undefined) {
    this.declared = config !== undefined;
    const aggregates = config?.aggregates ?? DEFAULT_AGGREGATES;
    this.minHospitals = aggregates.minHospitals;
    this.dpMaxEpsilon = aggregates.dpMaxEpsilon;
    this.#year = config?.year;
    for (const [country, policy] of Object.entries(config?.countries ?? {})) {
      this.#rules.set(country, policyRules(policy));
      this.#countryBases.set(country, policy.bases);
      for (const h of policy.criticalInfrastructure) this.#critical.add(h);
    }
    for (const t of config?.transfers ?? []) {
      const key = pairKey(t.from, t.to);
      this.#pairBases.set(key, [...(this.#pairBases.get(key) ?? []), ...t.bases]);
    }
  }

  /** The rules of `country`'s policy, in order (none without a policy). */
  rules(country: string): readonly Rule[] {
    return this.#rules.get(country) ?? [];
  }

  /** True when `hospital` operates critical information infrastructure under its country's policy. */
  isCritical(hospital: string): boolean {
    return this.#critical.has(hospital);
  }

  /**
   * Whether `basis` is in place for data of `origin`'s patients at `hospitals` going to `destination`:
   * declared for the country or for that transfer, covering every one of those hospitals, for all their
   * patients (consent), and not expired in the run's year. `hospitals` is asked only when a declared basis covers
   * some hospitals alone.
   */
  standing(
    basis: BasisName,
    origin: string,
    destination: string,
    hospitals: () => readonly string[],
  ): Standing {
    const declared = [
      ...(this.#countryBases.get(origin) ?? []),
      ...(destination === origin ? [] : (this.#pairBases.get(pairKey(origin, destination)) ?? [])),
    ].filter((b) => b.basis === basis);
    if (declared.length === 0) return { ok: false };
    const shortfalls: string[] = [];
    for (const b of declared) {
      const why = this.#shortfall(b, hospitals);
      if (why === undefined) return { ok: true };
      shortfalls.push(why);
    }
    return { ok: false, shortfall: shortfalls.join('; ') };
  }

  #shortfall(b: BasisEntry, hospitals: () => readonly string[]): string | undefined {
    const all = b.hospitals === undefined ? [] : hospitals();
    const uncovered = all.filter((h) => !b.hospitals!.includes(h));
    if (uncovered.length > 0) return `declared for other hospitals than ${uncovered.join(', ')}`;
    if (b.share !== undefined && b.share < 1) {
      return `declared for ${formatShare(b.share)} of patients; the data derive from all of them`;
    }
    const years = (BASES[b.basis] as { validYears?: number }).validYears;
    if (years !== undefined && b.granted !== undefined && this.#year !== undefined) {
      if (this.#year >= b.granted + years) {
        return `granted ${b.granted}, valid ${years} years: expired by ${this.#year}`;
      }
      if (this.#year < b.granted) return `granted ${b.granted}, after the run's year ${this.#year}`;
    }
    return undefined;
  }
}

function pairKey(from: string, to: string): string {
  return `${from}>${to}`;
}

function formatShare(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
