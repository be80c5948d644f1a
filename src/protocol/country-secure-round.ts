import type { QuantisationSpec } from '../common/secagg/quantise.ts';

/**
 * What a country aggregator is told of a secure round inside its country (hierarchical topology): its public
 * parameters, as the country's hospitals were told, and the layout of the transcript it received.
 */
export interface CountrySecureRound {
  readonly participants: number;
  readonly threshold: number;
  /** SecAgg+'s k; absent: every participant neighbours every other. */
  readonly neighbours?: number;
  readonly seed: number;
  /** Binds keys, nonces and masks to the run, round and country, such as `seed-7/round-3/country-KR`. */
  readonly session: string;
  readonly quantisation: QuantisationSpec;
  /** Sender and kind of each message received, in order; their fields travel as vectors `m<i>-<field>`. */
  readonly messages: unknown;
}
