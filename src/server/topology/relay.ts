import { modelClass } from '../../protocol/jurisdiction/classes.ts';
import type { Facts, Source } from '../../protocol/jurisdiction/enforcer.ts';
import type { EnvelopeBody } from '../../protocol/envelope.ts';
import { kindSpec, type Kind, type ReplyKind } from '../../protocol/kinds.ts';
import { JurisdictionViolation, describeViolation, type ViolationStop } from '../jurisdiction/violation.ts';
import type { JurisdictionGate } from '../jurisdiction/gate.ts';
import type { Ledger } from '../ledger.ts';

/** A request the coordinator sends a country aggregator. */
export type CountryRequest =
  | 'country-fit-request'
  | 'country-evaluate-request'
  | 'country-statistics-request'
  | 'country-transform-request';

/** What an aggregator relays up: its hospitals' replies, as they came. */
export type CountryRelayed = 'country-evaluation' | 'country-statistics' | 'country-transform-reply';

/** The reply kind of a request a country aggregator gets. */
function replyOf(kind: Kind): Kind {
  return kindSpec(kind).reply as Kind;
}

/**
 * Records the hops through a country aggregator, weighed by the run's jurisdiction policies: the model it gets
 * from the coordinator, the country aggregate it sends back, the evaluation replies it relays. A forbidden
 * one is recorded (by size) and stops the run, as the channel does for a hospital's.
 */
export class Relay {
  readonly #ledger: Ledger;
  readonly #gate: JurisdictionGate | undefined;

  constructor(ledger: Ledger, gate: JurisdictionGate | undefined) {
    this.#ledger = ledger;
    this.#gate = gate;
  }

  /**
   * The coordinator sends `body` (the round's one body of it) to aggregator `id`, to relay: a model (`model`), or
   * without one the own-data preprocessing's request or transform.
   */
  down(round: number, id: string, kind: CountryRequest, body: EnvelopeBody, model?: Float32Array): void {
    const { bytes, sha256 } = body.seal(kind, {
      hospital: id,
      request: { round },
    });
    const facts = this.#gate?.requestFacts(kind, id, model);
    const expected = this.#gate?.expectedReplyFacts(replyOf(kind) as ReplyKind, id);
    this.#cross(round, id, kind, { bytes: bytes.byteLength, sha256 }, facts, { admitted: true }, expected);
  }

  /** Aggregator `id`'s country aggregate of `contributors`, admitted at the boundary. */
  aggregate(
    round: number,
    id: string,
    verdict: { readonly bytes: number; readonly sha256: string },
    contributors: readonly string[],
  ): void {
    const facts: Facts | undefined =
      this.#gate === undefined
        ? undefined
        : {
            direction: 'to-coordinator',
            hospital: id,
            classes: [modelClass(contributors.length, this.#gate.enforcer.consortium.minHospitals)],
            sources: contributors.map((h) => `${h}:train` as Source),
          };
    this.#cross(round, id, 'country-aggregate', verdict, facts, { admitted: true });
  }

  /** Aggregator `id` relays its hospitals' admitted replies (their crossings `from`) in one message of `kind`. */
  up(
    round: number,
    id: string,
    from: readonly {
      readonly bytes: number;
      readonly classes: readonly string[];
      readonly sources?: readonly Source[];
    }[],
    kind: CountryRelayed = 'country-evaluation',
  ): void {
    if (from.length === 0) return;
    const classes = [...new Set(from.flatMap((e) => e.classes))] as Facts['classes'];
    const sources = [...new Set(from.flatMap((e) => e.sources ?? []))].sort();
    const facts: Facts | undefined =
      this.#gate === undefined ? undefined : { direction: 'to-coordinator', hospital: id, classes, sources };
    const bytes = from.reduce((s, e) => s + e.bytes, 0);
    this.#cross(round, id, kind, { bytes }, facts, { admitted: true });
  }

  /** A country aggregate the boundary rejected: measured, not hashed. */
  rejected(round: number, id: string, bytes: number, reason: string): void {
    this.#ledger.record(round, id, 'country-aggregate', { bytes }, { admitted: false, reason });
  }

  #cross(
    round: number,
    id: string,
    kind: Kind,
    message: { readonly bytes: number; readonly sha256?: string },
    facts: Facts | undefined,
    handling: { readonly admitted: boolean },
    expectedReply?: Facts,
  ): void {
    if (this.#gate === undefined || facts === undefined) {
      this.#ledger.record(round, id, kind, message, handling);
      return;
    }
    const { relied, breaches } = this.#gate.check(facts);
    const violations = [
      ...breaches.map((b) => ({ ...b, kind })),
      ...(expectedReply === undefined
        ? []
        : this.#gate.check(expectedReply).breaches.map((b) => ({
            ...b,
            kind: replyOf(kind),
          }))),
    ];
    if (violations.length > 0) {
      const enforcement = facts.direction === 'to-hospital' ? 'not sent' : 'discarded';
      const stop: ViolationStop = {
        round,
        hospital: id,
        message: kind,
        enforcement,
        violation: violations[0]!,
      };
      this.#ledger.record(
        round,
        id,
        kind,
        { bytes: message.bytes },
        {
          admitted: false,
          reason: describeViolation(stop),
          ...(enforcement === 'not sent' ? { sent: false as const } : {}),
        },
        { facts, violations },
      );
      throw new JurisdictionViolation(stop);
    }
    this.#gate.commit(facts);
    this.#ledger.record(round, id, kind, message, handling, { facts, relied, violations });
  }
}
