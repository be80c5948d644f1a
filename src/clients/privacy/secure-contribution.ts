import type { Rng } from '../../common/rng.ts';
import { encode, type QuantisationSpec } from '../../common/secagg/quantise.ts';
import type { FitReply } from '../../protocol/messages.ts';
import type { SecureRoundSettings, SumTerm } from '../../protocol/secure-sums.ts';
import { dpContribution } from './dp-contribution.ts';

/** What a hospital masks in a round: its encoded terms, and how many values were clipped to their range. */
export interface SecureContribution {
  readonly encoded: Uint32Array;
  readonly clipped: number;
}

/**
 * Turns one round of local training into the vector a hospital masks: each part's term (see `SumTerm`)
 * computed from its trained parameters and metrics, quantised with the round's bits and ranges, times its
 * integer weight (its training examples, or 1). With DP-FedAvg the update is first clipped to L2 norm C and
 * multiplied by the capped weight, and the integer weight is 1. Stochastic rounding draws from `rng`.
 */
export function secureContribution(
  reply: FitReply,
  global: Float32Array,
  settings: SecureRoundSettings,
  learningRate: number,
  rng: Rng,
): SecureContribution {
  const x = reply.vectors.parameters;
  if (x === undefined || x.length !== global.length)
    throw new RangeError('the trained parameters are missing');
  const spec: QuantisationSpec = {
    bits: settings.bits,
    maxWeight: settings.maxWeight,
    parts: settings.parts,
  };
  if (settings.dp !== undefined) {
    const update = term('update', reply, global, settings, learningRate);
    const { values } = dpContribution(
      Float32Array.from(update),
      reply.numExamples,
      settings.dp.clipNorm,
      settings.dp.weightCap,
    );
    const { vector, clipped } = encode(spec, [values], 1, rng);
    return { encoded: vector, clipped };
  }
  const values = settings.parts.map((p) => term(p.term, reply, global, settings, learningRate));
  const weight = settings.weighting === 'examples' ? reply.numExamples : 1;
  const { vector, clipped } = encode(spec, values, weight, rng);
  return { encoded: vector, clipped };
}

function term(
  name: SumTerm,
  reply: FitReply,
  global: Float32Array,
  settings: SecureRoundSettings,
  learningRate: number,
): Float64Array {
  const x = reply.vectors.parameters!;
  const n = global.length;
  const metric = (m: string): number => {
    const v = reply.metrics[m];
    if (v === undefined || !Number.isFinite(v)) throw new RangeError(`the term ${name} needs metric ${m}`);
    return v;
  };
  const out = new Float64Array(n);
  switch (name) {
    case 'update':
      for (let i = 0; i < n; i++) out[i] = x[i]! - global[i]!;
      return out;
    case 'control': {
      const c = reply.vectors.control;
      if (c === undefined || c.length !== n) throw new RangeError('the term control needs a control update');
      return Float64Array.from(c);
    }
    case 'update-per-step': {
      const tau = metric('local_steps');
      for (let i = 0; i < n; i++) out[i] = (x[i]! - global[i]!) / tau;
      return out;
    }
    case 'steps':
      return Float64Array.of(metric('local_steps'));
    case 'fair-update': {
      const scale = Math.pow(fairLoss(metric('initial_loss')), settings.fairness ?? 0);
      for (let i = 0; i < n; i++) out[i] = scale * (global[i]! - x[i]!);
      return out;
    }
    case 'fair-weight': {
      const q = settings.fairness ?? 0;
      const loss = fairLoss(metric('initial_loss'));
      let squared = 0;
      for (let i = 0; i < n; i++) squared += (global[i]! - x[i]!) ** 2;
      const h = (q === 0 ? 0 : (q * Math.pow(loss, q - 1) * squared) / learningRate) + Math.pow(loss, q);
      return Float64Array.of(h);
    }
  }
}

/** q-FedAvg's loss, kept off zero as its coordinator side does (`LOSS_EPSILON`). */
function fairLoss(loss: number): number {
  return loss + 1e-10;
}
