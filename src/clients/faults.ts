import { MAX_METRICS, type FitReply } from '../protocol/messages.ts';
import { HospitalRefusal } from './error-reports.ts';
import type { FaultBehaviour, FaultConfig } from '../scenario/schema.ts';

/** The behaviour, if any, that a hospital's faults prescribe for a round. */
export function faultFor(
  faults: readonly FaultConfig[],
  hospital: string,
  round: number,
): FaultBehaviour | undefined {
  return faults.find((f) => f.hospital === hospital && (f.rounds === undefined || f.rounds.includes(round)))
    ?.behaviour;
}

/**
 * Breaks a correct fit reply in the named way, as a faulty or malicious hospital would. Test-only: the
 * coordinator's boundary must reject every result.
 */
export function breakReply(reply: FitReply, behaviour: FaultBehaviour, rows: () => number[][]): unknown {
  const params = reply.vectors.parameters!;
  switch (behaviour) {
    case 'nan-parameters':
      params[0] = Number.NaN;
      return reply;
    case 'infinite-parameters':
      params[params.length - 1] = Number.POSITIVE_INFINITY;
      return reply;
    case 'wrong-length':
      return { ...reply, vectors: { parameters: params.slice(0, params.length - 1) } };
    case 'extra-vector':
      return { ...reply, vectors: { parameters: params, gradient: new Float32Array(params.length) } };
    case 'too-many-metrics':
      return {
        ...reply,
        metrics: Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i])),
      };
    case 'rows-in-metrics':
      return { ...reply, metrics: { ...reply.metrics, rows: rows() } };
    case 'fractional-count':
      return { ...reply, numExamples: reply.numExamples + 0.5 };
    case 'throw':
      throw new HospitalRefusal('injected');
    case 'hang':
      // A thread that never answers: only the coordinator's real-time guard can end it.
      while (true) {
        /* spins until the thread is terminated */
      }
  }
}
