import type { DataClass } from '../kinds.ts';
import type { BasisName } from './bases.ts';

/** The step a message takes out of its origin: out of the hospital (to any coordinator), or out of the country. */
export type Leg = 'leave-hospital' | 'leave-country';

/**
 * One requirement of a country's policy: data of `classes` taking `leg` out of that country's hospitals or
 * territory needs one of `anyOf` in place (none listed: it may not take that leg at all). `peopleOver` and
 * `criticalInfrastructure` narrow when it applies.
 */
export interface Rule {
  readonly id: string;
  /** One line on what it requires. */
  readonly says: string;
  /** Where it comes from. */
  readonly cite?: string | undefined;
  readonly leg: Leg;
  readonly classes: readonly DataClass[];
  readonly anyOf: readonly BasisName[];
  /** Applies once the exporter has sent data of this rule's classes of more than this many people this year. */
  readonly peopleOver?: number | undefined;
  /** Applies only when the exporting hospital operates critical information infrastructure. */
  readonly criticalInfrastructure?: true | undefined;
}
