import { EnvelopeBody, type TypedVector } from '../protocol/envelope.ts';
import { describeError, type ErrorReport } from '../protocol/error-report.ts';
import { KINDS, type ReplyKind, type RequestKind } from '../protocol/kinds.ts';
import { admit, type AdmittedReply, type ReplyContract } from './boundary.ts';
import type { Ledger } from './ledger.ts';
import { WorkerFailure, type WorkerPool } from './worker-pool.ts';

/** What a worker answered, or how the call failed, before the boundary has looked at it. */
export type Pending =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** A request that got no admissible reply: the hospital, why (field and expectation, never a value), and the report. */
export interface ExchangeFailure {
  readonly hospital: string;
  readonly reason: string;
  /** The worker's error report, when it sent one the boundary admitted. */
  readonly report?: ErrorReport;
}

/** The outcome of one exchange after the boundary. */
export type Received = { readonly reply: AdmittedReply } | ExchangeFailure;

/**
 * Requests to hospitals and their replies, each recorded as it crosses. Sending and receiving are apart so
 * that replies are admitted and recorded in a fixed order whatever order they arrive in.
 */
export class Channel {
  readonly #pool: WorkerPool;
  readonly #ledger: Pick<Ledger, 'record'>;

  /** Without a ledger (a tool outside any run, such as `fedmed evaluate`), nothing is recorded. */
  constructor(pool: WorkerPool, ledger: Pick<Ledger, 'record'> = { record: () => undefined as never }) {
    this.#pool = pool;
    this.#ledger = ledger;
  }

  /** The vectors of a message, laid out and hashed once for every recipient. */
  static body(vectors: readonly (readonly [string, TypedVector])[] = []): EnvelopeBody {
    return new EnvelopeBody(vectors);
  }

  /** Records and sends a request of `kind` to `hospital`: its own copy of `body` with `request` as its fields. */
  send(
    round: number,
    hospital: string,
    kind: RequestKind,
    body: EnvelopeBody,
    request: unknown,
  ): Promise<Pending> {
    const { bytes, sha256 } = body.seal(kind, { hospital, request });
    this.#ledger.record(round, hospital, kind, { bytes: bytes.byteLength, sha256 });
    return this.#pool.exchange(hospital, bytes, kind).then(
      (value) => ({ ok: true, value }),
      (error: unknown) => ({ ok: false, error }),
    );
  }

  /**
   * Passes the answer to a request of `kind` through the boundary and records it. A worker that died or hung
   * ends the run ({@link WorkerFailure} is thrown); anything else it did becomes a failure of this exchange.
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
      const reason = `hospital ${hospital}: the worker's call failed outside the protocol`;
      this.#ledger.record(round, hospital, replyKind, { bytes: 0 }, { admitted: false, reason });
      return { hospital, reason };
    }
    const verdict = admit(pending.value, { ...contract, hospital, kind: replyKind });
    switch (verdict.status) {
      case 'admitted':
        this.#ledger.record(round, hospital, replyKind, verdict);
        return { reply: verdict.reply };
      case 'error': {
        this.#ledger.record(round, hospital, 'error', verdict, { admitted: true, purpose });
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
}
