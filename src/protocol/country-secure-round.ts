import type { QuantisationSpec } from '../common/secagg/quantise.ts';
import type { SecureRoundSettings } from './secure-sums.ts';

/**
 * What a country aggregator is told of a secure round inside its country (hierarchical topology): its public
 * parameters, as the country's hospitals were told (`session` binds keys, nonces and masks to the run, round
 * and country, such as `seed-7/round-3/country-KR`), and the layout of the transcript it received.
 */
export interface CountrySecureRound extends Pick<
  SecureRoundSettings,
  'participants' | 'threshold' | 'neighbours' | 'session'
> {
  readonly seed: number;
  readonly quantisation: QuantisationSpec;
  /** Sender and kind of each message received, in order; their fields travel as vectors `m<i>-<field>`. */
  readonly messages: unknown;
}
