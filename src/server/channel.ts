import { EnvelopeBody, type TypedVector } from '../protocol/envelope.ts';
import { describeError, REFUSAL_FIELD_PREFIX, type ErrorReport } from '../protocol/error-report.ts';
import type { Facts } from '../protocol/jurisdiction/enforcer.ts';
import { KINDS, type Kind, type ReplyKind, type RequestKind } from '../protocol/kinds.ts';
import { admit, type AdmittedReply, type ReplyContract, type Verdict } from './boundary.ts';
import type { JurisdictionGate } from './jurisdiction/gate.ts';
import {
  JurisdictionViolation,
  describeViolation,
  refusalViolation,
  type Enforcement,
  type Violation,
} from './jurisdiction/violation.ts';
import type { Judged, Ledger } from './ledger.ts';
import { WorkerFailure, type WorkerPool } from './worker-pool.ts';
import { isDeepStrictEqual } from 'node:util';

/** What a worker answered, or how the call failed, before the boundary has looked at it. */
export type Pending =
  | { readonly ok: true; readonly value: unknown; readonly early?: EarlyVerdict }
  | { readonly ok: false; readonly error: unknown };

/**
 * The boundary's verdict on an answer, reached as soon as it arrived (while the worker served the next
 * request) under the contract the request was sent with; {@link Channel.receive} takes it for the same
 * hospital, kind and a contract of the same content.
 */
interface EarlyVerdict {
  readonly hospital: string;
  readonly kind: RequestKind;
  readonly contract: Omit<ReplyContract, 'hospital' | 'kind'>;
  readonly verdict: Verdict;
}

/** A request that got no admissible reply: the hospital, why (field and expectation, never a value), and the report. */
export interface ExchangeFailure {
  readonly hospital: string;
  readonly reason: string;
  /** The worker's error report, when it sent one the boundary admitted. */
  readonly report?: ErrorReport;
}

/** The outcome of one exchange after the boundary. */
export type Received = { readonly reply: AdmittedReply } | ExchangeFailure;

/** A request's answer in a phase that survives failing threads: its reply, or why the hospital dropped out. */
export type Answer = Pending | { readonly dropout: string };

/** The vectors each body was built from, by identity, so the jurisdiction layer knows which model it carries. */
const BODY_VECTORS = new WeakMap<EnvelopeBody, ReadonlyMap<string, TypedVector>>();

/** A request never dispatched because the run stopped on a violation before its batch went out. */
class Withheld extends Error {
  override readonly name = 'Withheld';
}

/**
 * Requests to hospitals and their replies, each recorded as it crosses and weighed by the run's jurisdiction
 * policies (when its ledger has them). Sending and receiving are apart so that replies are admitted and
 * recorded in a fixed order whatever order they arrive in.
 *
 * Before a request is sent, the coordinator checks its content and the reply it asks for; a forbidden one is
 * recorded as not sent and the run stops ({@link JurisdictionViolation}). Requests made in one synchronous
 * batch (a broadcast) are dispatched together once the batch is made, so a broadcast is all or nothing: if any
 * recipient's is forbidden, none goes out. A reply is checked again at admission: a forbidden one is
 * discarded unread (recorded by size) and the run stops. Baselines are flagged, never stopped.
 *
 * A request sent with its reply contract has its answer passed through the boundary's checks as soon as it
 * arrives, while its worker serves the next request; the record and everything that depends on order still
 * happen when the answer is received, in the caller's order. Where jurisdiction policies weigh the reply, it is
 * opened only when received, after they allowed it.
 */
export class Channel {
  readonly #pool: WorkerPool;
  readonly #ledger: Pick<Ledger, 'record' | 'jurisdiction'>;
  #halted = false;

  /** Without a ledger (a tool outside any run, such as `fedmed evaluate`), nothing is recorded or weighed. */
  constructor(
    pool: WorkerPool,
    ledger: Pick<Ledger, 'record' | 'jurisdiction'> = {
      record: () => undefined as never,
      jurisdiction: undefined,
    },
  ) {
    this.#pool = pool;
    this.#ledger = ledger;
  }

  /** The vectors of a message, laid out and hashed once for every recipient. */
  static body(vectors: readonly (readonly [string, TypedVector])[] = []): EnvelopeBody {
    const body = new EnvelopeBody(vectors);
    BODY_VECTORS.set(body, new Map(vectors));
    return body;
  }

  /**
   * Checks, records and sends a request of `kind` to `hospital`: its own copy of `body` with `request` as its
   * fields. Throws {@link JurisdictionViolation} for a request a policy forbids, which is recorded, not sent.
   */
  send(
    round: number,
    hospital: string,
    kind: RequestKind,
    body: EnvelopeBody,
    request: unknown,
    contract?: Omit<ReplyContract, 'hospital' | 'kind'>,
  ): Promise<Pending> {
    if (this.#halted) return Promise.resolve({ ok: false, error: new Withheld('the run stopped') });
    const { bytes, sha256 } = body.seal(kind, { hospital, request });
    const gate = this.#weighs(kind);
    let judged: Judged | undefined;
    if (gate !== undefined) {
      const facts = gate.requestFacts(kind, hospital, BODY_VECTORS.get(body)?.get('parameters'));
      const own = gate.check(facts);
      const violations: Violation[] = own.breaches.map((b) => ({ ...b, kind }));
      if (KINDS[kind].purpose === 'federation') {
        const replyKind = KINDS[kind].reply as ReplyKind;
        const reply = gate.check(gate.expectedReplyFacts(replyKind, hospital));
        violations.push(...reply.breaches.map((b) => ({ ...b, kind: replyKind })));
        if (violations.length > 0) {
          this.#stop(round, hospital, kind, { bytes: bytes.byteLength }, 'not sent', facts, violations, {
            admitted: false,
            sent: false,
          });
        }
      }
      judged = { facts, relied: own.relied, violations };
    }
    return new Promise<void>((resolve) => queueMicrotask(resolve)).then(() => {
      if (this.#halted) return { ok: false as const, error: new Withheld('the run stopped') };
      if (judged !== undefined) gate!.commit(judged.facts);
      this.#ledger.record(
        round,
        hospital,
        kind,
        { bytes: bytes.byteLength, sha256 },
        { admitted: true },
        judged,
      );
      // Under the policies a reply is opened only once they allow it (in `receive`): no early admission.
      const early = gate === undefined || KINDS[kind].purpose !== 'federation' ? contract : undefined;
      return this.#pool.exchange(hospital, bytes, kind).then(
        (value) =>
          early === undefined
            ? { ok: true as const, value }
            : {
                ok: true as const,
                value,
                early: {
                  hospital,
                  kind,
                  contract: early,
                  verdict: admit(value, { ...early, hospital, kind: KINDS[kind].reply as ReplyKind }),
                },
              },
        (error: unknown) => ({ ok: false as const, error }),
      );
    });
  }

  /**
   * Passes the answer to a request of `kind` through the boundary and the policies, and records it. A worker
   * that died or hung ends the run ({@link WorkerFailure} is thrown), and so does a jurisdiction violation;
   * anything else a worker did becomes a failure of this exchange.
   */
  receive(
    round: number,
    hospital: string,
    kind: RequestKind,
    pending: Pending,
    contract: Omit<ReplyContract, 'hospital' | 'kind'>,
  ): Received {
    const replyKind = KINDS[kind].reply as ReplyKind;
    const purpose = KINDS[kind].purpose;
    if (!pending.ok) {
      if (pending.error instanceof WorkerFailure) throw pending.error;
      if (pending.error instanceof Withheld)
        return { hospital, reason: `hospital ${hospital}: not sent (the run stopped)` };
      const reason = `hospital ${hospital}: the worker's call failed outside the protocol`;
      this.#ledger.record(round, hospital, replyKind, { bytes: 0 }, { admitted: false, reason });
      return { hospital, reason };
    }
    const gate = this.#weighs(kind);
    const bytes = pending.value instanceof Uint8Array ? pending.value.byteLength : 0;
    if (gate !== undefined && purpose === 'federation') {
      const unopened = gate.unopenedReplyFacts(replyKind, hospital);
      const breaches = gate.check(unopened).breaches;
      if (breaches.length > 0) {
        const violations = breaches.map((b) => ({ ...b, kind: replyKind as Kind }));
        this.#stop(round, hospital, replyKind, { bytes }, 'discarded', unopened, violations, {
          admitted: false,
        });
      }
    }
    const early = pending.early;
    const verdict =
      early?.hospital === hospital && early.kind === kind && isDeepStrictEqual(early.contract, contract)
        ? early.verdict
        : admit(pending.value, { ...contract, hospital, kind: replyKind });
    switch (verdict.status) {
      case 'admitted': {
        if (gate === undefined) {
          this.#ledger.record(round, hospital, replyKind, verdict);
          return { reply: verdict.reply };
        }
        const facts = gate.replyFacts(hospital, verdict.reply);
        const { relied, breaches } = gate.check(facts);
        const violations = breaches.map((b) => ({ ...b, kind: replyKind as Kind }));
        if (violations.length > 0 && purpose === 'federation') {
          this.#stop(round, hospital, replyKind, { bytes }, 'discarded', facts, violations, {
            admitted: false,
          });
        }
        gate.commit(facts);
        gate.admitted(hospital, verdict.reply);
        const holds =
          verdict.reply.kind === 'setup-reply'
            ? {
                holds: {
                  train: verdict.reply.fields.train as number,
                  test: verdict.reply.fields.test as number,
                },
              }
            : {};
        this.#ledger.record(
          round,
          hospital,
          replyKind,
          verdict,
          { admitted: true },
          {
            facts,
            relied,
            violations,
            ...holds,
          },
        );
        return { reply: verdict.reply };
      }
      case 'error': {
        const judged = gate === undefined ? undefined : this.#judge(gate, gate.errorFacts(hospital));
        const refused =
          verdict.report.category === 'refused' && verdict.report.field?.startsWith(REFUSAL_FIELD_PREFIX);
        if (gate !== undefined && refused === true && purpose === 'federation') {
          const expected = gate.expectedReplyFacts(replyKind, hospital);
          const rule = verdict.report.field!.slice(REFUSAL_FIELD_PREFIX.length);
          const violation = refusalViolation(
            rule,
            replyKind,
            expected,
            gate.check(expected).breaches,
            gate.countryOf(hospital),
          );
          this.#stop(
            round,
            hospital,
            'error',
            verdict,
            'refused by the hospital',
            judged!.facts,
            [violation],
            {
              admitted: true,
              purpose,
            },
          );
        }
        this.#ledger.record(round, hospital, 'error', verdict, { admitted: true, purpose }, judged);
        return { hospital, reason: describeError(hospital, verdict.report), report: verdict.report };
      }
      case 'rejected': {
        const reason = verdict.violation.message;
        this.#ledger.record(
          round,
          hospital,
          replyKind,
          { bytes: verdict.bytes },
          { admitted: false, reason },
        );
        return { hospital, reason };
      }
    }
  }

  /** {@link receive} an answer, or record the hospital's dropout ({@link lost}) when it has none. */
  settle(
    round: number,
    hospital: string,
    kind: RequestKind,
    answer: Answer,
    contract: Omit<ReplyContract, 'hospital' | 'kind'>,
  ): Received {
    return 'dropout' in answer
      ? this.lost(round, hospital, kind, answer.dropout)
      : this.receive(round, hospital, kind, answer, contract);
  }

  /**
   * Records that `hospital` gave no reply to a request of `kind` because its worker thread died or hung while
   * serving it (the thread is replaced; the hospital counts as a dropout), and returns that failure.
   */
  lost(round: number, hospital: string, kind: RequestKind, reason: string): ExchangeFailure {
    this.#ledger.record(
      round,
      hospital,
      KINDS[kind].reply as ReplyKind,
      { bytes: 0 },
      { admitted: false, reason },
    );
    return { hospital, reason };
  }

  /** Sends and receives one request. */
  async exchange(
    round: number,
    hospital: string,
    kind: RequestKind,
    body: EnvelopeBody,
    request: unknown,
    contract: Omit<ReplyContract, 'hospital' | 'kind'>,
  ): Promise<Received> {
    return this.receive(
      round,
      hospital,
      kind,
      await this.send(round, hospital, kind, body, request),
      contract,
    );
  }

  /** The jurisdiction layer, for messages of a run (not a tool's). */
  #weighs(kind: Kind): JurisdictionGate | undefined {
    return KINDS[kind].purpose === 'tooling' ? undefined : this.#ledger.jurisdiction;
  }

  #judge(gate: JurisdictionGate, facts: Facts) {
    const { relied, breaches } = gate.check(facts);
    return { facts, relied, violations: breaches.map((b) => ({ ...b, kind: 'error' as Kind })) };
  }

  /** Records a forbidden message (by size, never its hash) and stops the run. */
  #stop(
    round: number,
    hospital: string,
    kind: Kind,
    message: { readonly bytes: number; readonly sha256?: string },
    enforcement: Enforcement,
    facts: Facts,
    violations: readonly Violation[],
    handling: { admitted: boolean; sent?: false; purpose?: 'federation' },
  ): never {
    this.#halted = true;
    const stop = { round, hospital, message: kind, enforcement, violation: violations[0]! };
    const measured = enforcement === 'refused by the hospital' ? message : { bytes: message.bytes };
    this.#ledger.record(
      round,
      hospital,
      kind,
      measured,
      { ...handling, reason: describeViolation(stop) },
      {
        facts,
        violations,
      },
    );
    throw new JurisdictionViolation(stop);
  }
}
