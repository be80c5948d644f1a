import type { TypedVector } from '../protocol/envelope.ts';
import { REFUSAL_FIELD_PREFIX } from '../protocol/error-report.ts';
import type { HostSetup } from '../protocol/host-api.ts';
import { replyClasses, replySources } from '../protocol/jurisdiction/classes.ts';
import { Consortium } from '../protocol/jurisdiction/consortium.ts';
import { Enforcer, type Facts, type Holding } from '../protocol/jurisdiction/enforcer.ts';
import { KINDS, type Kind } from '../protocol/kinds.ts';
import { HospitalRefusal } from './error-reports.ts';

/** A reply before it is encoded, as the check sees it. */
interface Outgoing {
  readonly kind: Kind;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly vectors?: readonly (readonly [string, TypedVector])[];
}

/**
 * The hospital's own check of its federation replies against its country's policy, before they leave its
 * worker: the exporter is the one the law binds. A reply a rule forbids is refused (an error report of
 * category `refused` whose field names the rule), never sent.
 */
export class OutgoingCheck {
  readonly #hospital: string;
  readonly #enforcer: Enforcer;

  constructor(setup: HostSetup, holding: Holding) {
    const j = setup.jurisdiction!;
    this.#hospital = setup.hospital.id;
    this.#enforcer = new Enforcer(
      new Consortium(j.config),
      new Map([[setup.hospital.id, setup.hospital.country]]),
      j.site,
    );
    this.#enforcer.hold(this.#hospital, holding);
  }

  /** Lets a federation reply leave, counting what it exports, or throws the refusal naming the rule it breaks. */
  check(reply: Outgoing): void {
    if (KINDS[reply.kind].purpose !== 'federation' || reply.kind === 'error') return;
    const metrics = reply.fields.metrics;
    const facts: Facts = {
      direction: 'to-coordinator',
      hospital: this.#hospital,
      classes: replyClasses(reply.kind, {
        metrics: metrics !== null && typeof metrics === 'object' ? Object.keys(metrics) : [],
        histogram: (reply.vectors ?? []).some(([name]) => name === 'histogram'),
      }),
      sources: replySources(reply.kind, this.#hospital),
    };
    const breach = this.#enforcer.check(facts).breaches[0];
    if (breach !== undefined) throw new HospitalRefusal('refused', `${REFUSAL_FIELD_PREFIX}${breach.rule}`);
    this.#enforcer.commit(facts);
  }
}
