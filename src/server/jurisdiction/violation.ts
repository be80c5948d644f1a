import type { Breach, Facts } from '../../protocol/jurisdiction/enforcer.ts';
import type { Kind } from '../../protocol/kinds.ts';

/** A rule a message breaks, as the crossing record names it: the breach and the kind of message it concerns. */
export interface Violation extends Breach {
  /** The message whose content breaks the rule: the crossing's own kind, or the reply a request would bring. */
  readonly kind: Kind;
}

/** What the coordinator did with a forbidden message. */
export type Enforcement =
  /** A request it did not send, because its content or its reply would break a rule. */
  | 'not sent'
  /** A reply that broke a rule at admission, discarded unread (recorded by size). */
  | 'discarded'
  /** A hospital refused to send a reply under its own policy. */
  | 'refused by the hospital';

/** The details of a violation that stopped a run, for its result and the exit code. */
export interface ViolationStop {
  readonly round: number;
  readonly hospital: string;
  /** The message the coordinator held back, discarded, or received as the hospital's refusal. */
  readonly message: Kind;
  readonly enforcement: Enforcement;
  readonly violation: Violation;
}

/** A jurisdiction violation: the run stops, naming hospital, kind, class, rule and the missing basis. */
export class JurisdictionViolation extends Error {
  override readonly name = 'JurisdictionViolation';
  readonly stop: ViolationStop;

  constructor(stop: ViolationStop) {
    super(describeViolation(stop));
    this.stop = stop;
  }
}

/** One line naming a violation: where, which message and class, which rule, and what basis is missing. */
export function describeViolation(s: ViolationStop): string {
  const v = s.violation;
  const rule = `rule ${v.rule} (${v.says}${v.cite === undefined ? '' : `; ${v.cite}`})`;
  const missing =
    v.missing.length === 0
      ? 'it may not take that step on any basis'
      : `missing basis: ${v.missing.length === 1 ? v.missing[0] : `one of ${v.missing.join(', ')}`}`;
  const leg =
    v.leg === 'leave-country' ? `${v.origin} → ${v.destination}` : `out of a hospital in ${v.origin}`;
  const done =
    s.enforcement === 'not sent'
      ? `the ${s.message} was not sent`
      : s.enforcement === 'discarded'
        ? `the ${s.message} was discarded unread`
        : 'the hospital refused to send it';
  return (
    `round ${s.round}: jurisdiction violation: hospital ${s.hospital}, ${v.kind}, class ${v.class}: ${rule}; ` +
    `${missing} for ${leg}; ${done}`
  );
}

/**
 * The violation a hospital's refusal names: the coordinator's own breach of that rule for the reply it asked
 * for if it finds one, else the rule as the hospital named it (the coordinator's check found it satisfied).
 */
export function refusalViolation(
  rule: string,
  kind: Kind,
  expected: Facts,
  breaches: readonly Breach[],
  country: string,
): Violation {
  const named = breaches.find((b) => b.rule === rule);
  if (named !== undefined) return { ...named, kind };
  return {
    rule,
    says: "a rule of the hospital's own policy (the coordinator's check found it satisfied)",
    class: expected.classes[0]!,
    leg: 'leave-hospital',
    origin: country,
    destination: country,
    missing: [],
    kind,
  };
}
