import { stream } from '../common/rng.ts';
import { MAX_METRICS, type FitReply } from '../protocol/messages.ts';
import { faultAt } from '../scenario/fault-plan.ts';
import type { FaultConfig } from '../scenario/schema.ts';
import { HospitalRefusal } from './error-reports.ts';

export { faultAt as faultFor };

/**
 * What an injected fault does before the hospital trains: a crash ends its worker thread (as a real crash
 * would: the thread exits), a hang never answers (only the coordinator's real-time guard ends it), a drop
 * declines the round. Other faults act on the reply ({@link breakReply}) or only on the virtual clock (slow).
 */
export function failBeforeTraining(fault: FaultConfig | undefined): void {
  switch (fault?.behaviour) {
    case 'crash':
      process.exit(70);
      break;
    case 'hang':
      while (true) {
        /* spins until the thread is terminated */
      }
    case 'drop':
      throw new HospitalRefusal('declined');
    default:
  }
}

/**
 * Breaks a correct fit reply in the named way, as a faulty or malicious hospital would. Test-only: the
 * coordinator's boundary must reject every protocol break; a corrupted update (random bit patterns in a seeded
 * share of the parameters) is rejected when one of them is not finite, and admitted otherwise. Byzantine
 * updates (sign flip, scaling, Gaussian noise) stay within the protocol: only robust aggregation can limit them.
 * Secure-aggregation faults act only in secure rounds (`SecureParticipant`), where of the others only `throw`
 * and `hang` apply (validation refuses the rest).
 */
export function breakReply(
  reply: FitReply,
  fault: FaultConfig,
  draw: { readonly seed: number; readonly hospital: string; readonly round: number },
  rows: () => number[][],
  global: Float32Array,
): unknown {
  const params = reply.vectors.parameters!;
  switch (fault.behaviour) {
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
    case 'secagg-drop-after-advertising':
    case 'secagg-drop-after-sharing':
    case 'secagg-drop-after-masking':
    case 'secagg-bad-key':
    case 'secagg-bad-shares':
    case 'secagg-bad-masked':
      return reply;
    case 'corrupt': {
      const rng = stream(fault.seed ?? draw.seed, 'fault-corrupt', draw.hospital, `round-${draw.round}`);
      const bits = new Uint32Array(params.buffer, params.byteOffset, params.length);
      const count = Math.max(1, Math.round((fault.fraction ?? 0.01) * params.length));
      for (let k = 0; k < count; k++) bits[rng.int(params.length)] = Math.floor(rng.next() * 2 ** 32);
      return reply;
    }
    case 'sign-flip':
    case 'scale': {
      // x + λ·(y − x), with λ negative for a sign flip: the update reversed (and scaled).
      const lambda = fault.behaviour === 'scale' ? fault.factor! : -(fault.factor ?? 1);
      for (let i = 0; i < params.length; i++) params[i] = global[i]! + lambda * (params[i]! - global[i]!);
      return reply;
    }
    case 'noise': {
      const rng = stream(fault.seed ?? draw.seed, 'fault-noise', draw.hospital, `round-${draw.round}`);
      for (let i = 0; i < params.length; i++) params[i] = params[i]! + fault.sigma! * rng.normal();
      return reply;
    }
    case 'hang':
    case 'crash':
    case 'drop':
    case 'slow':
    case 'label-flip':
    case 'backdoor':
      return reply;
  }
}
