import type { Scenario } from '../../scenario/schema.ts';

/** The party id of a country's aggregator (upper-case country code: never a hospital id). */
export function aggregatorId(country: string): string {
  return `aggregator-${country}`;
}

/** One end of a crossing: who and in which country (or `neutral`). */
export interface Party {
  readonly party: string;
  readonly country: string;
}

/**
 * Who talks to whom in a topology other than flat: for each worker-side party (a hospital or a country
 * aggregator), the party at the other end of its messages and that party's site. In the hierarchical
 * topology a hospital talks to its own country's aggregator; an aggregator talks to the coordinator.
 */
export interface Hops {
  /** Every party's country, hospitals and aggregators. */
  readonly countryOf: ReadonlyMap<string, string>;
  /** Country aggregators: they relay their hospitals' data, they hold none of their own. */
  readonly relays: ReadonlySet<string>;
  /** The other end of `party`'s messages. */
  peerOf(party: string): Party;
}

/** The countries of a scenario's hospitals, sorted. */
export function countriesOf(scenario: Pick<Scenario, 'hospitals'>): string[] {
  return [...new Set(scenario.hospitals.map((h) => h.country))].sort();
}

/** The hops of a scenario's topology; undefined for flat (every hospital talks to the coordinator). */
export function topologyHops(scenario: Scenario): Hops | undefined {
  if (scenario.topology !== 'hierarchical') return undefined;
  const countryOf = new Map(scenario.hospitals.map((h) => [h.id, h.country]));
  const relays = new Set<string>();
  for (const c of countriesOf(scenario)) {
    countryOf.set(aggregatorId(c), c);
    relays.add(aggregatorId(c));
  }
  const coordinator: Party = { party: 'coordinator', country: scenario.coordinator.site };
  return {
    countryOf,
    relays,
    peerOf(party) {
      if (relays.has(party)) return coordinator;
      const country = countryOf.get(party);
      if (country === undefined) throw new Error(`topology: unknown party ${party}`);
      return { party: aggregatorId(country), country };
    },
  };
}
