import type { EnvelopeBody } from '../../protocol/envelope.ts';
import type { Ledger } from '../ledger.ts';
import type { PreprocessingHops } from '../preprocessing.ts';
import { aggregatorId } from './hops.ts';
import type { Relay } from './relay.ts';

/**
 * Own data's federated preprocessing through the country aggregators (hierarchical topology): the coordinator
 * asks each country's aggregator for statistics, which asks its hospitals (domestic hops); each aggregator relays
 * its hospitals' admitted statistics replies up as they came, in one `country-statistics` per country (the only
 * hop of them that can cross a border, weighed by the jurisdiction policies like every other); the transform goes
 * down the same way (`country-transform-request`, then each hospital) and the hospitals' acknowledgements come
 * back up in one `country-transform-reply` per country. What crosses is what the flat run sends the coordinator:
 * each hospital's summaries, combined by the coordinator in ascending hospital order, so the transform is the
 * flat run's bit for bit. `round` is 0 at setup, or the round in which hospitals set up again get the transform.
 */
export function countryPreprocessingHops(
  ledger: Ledger,
  relay: Relay,
  countries: readonly string[],
  countryOf: ReadonlyMap<string, string>,
  round = 0,
): PreprocessingHops {
  let from = 0;
  return {
    down(kind: 'statistics-request' | 'transform-request', body: EnvelopeBody) {
      const request =
        kind === 'statistics-request' ? 'country-statistics-request' : 'country-transform-request';
      for (const c of countries) relay.down(round, aggregatorId(c), request, body);
      from = ledger.entries.length;
    },
    up(kind: 'statistics-request' | 'transform-request') {
      const reply = kind === 'statistics-request' ? 'statistics-reply' : 'transform-reply';
      const replies = ledger.entries.slice(from).filter((e) => e.kind === reply && e.admitted);
      for (const c of countries) {
        relay.up(
          round,
          aggregatorId(c),
          replies.filter((e) => countryOf.get(e.hospital) === c),
          kind === 'statistics-request' ? 'country-statistics' : 'country-transform-reply',
        );
      }
    },
  };
}
