import { cappedWeight } from '../../common/dp/capped-weights.ts';
import { clipToNorm } from '../../common/dp/clip.ts';

/** What a hospital contributes to a DP-FedAvg round. */
export interface DpContribution {
  /** w_k · clip(Δ_k, C): L2 norm ≤ C. */
  readonly values: Float32Array;
  /** w_k = min(n_k / ŵ, 1). */
  readonly weight: number;
  /** ‖Δ_k‖ before clipping: stays in the hospital (a clipped-fraction metric may report whether it exceeded C). */
  readonly normBeforeClipping: number;
}

/**
 * The hospital's half of DP-FedAvg (McMahan et al. 2018): its model update Δ_k clipped to L2 norm C and
 * multiplied by its capped weight, so that its contribution to the coordinator's sum has norm at most C.
 */
export function dpContribution(
  update: Float32Array,
  examples: number,
  clipNorm: number,
  weightCap: number | undefined,
): DpContribution {
  const weight = cappedWeight(examples, weightCap);
  const { clipped, norm } = clipToNorm(update, clipNorm);
  if (weight < 1) for (let i = 0; i < clipped.length; i++) clipped[i] = clipped[i]! * weight;
  return { values: clipped, weight, normBeforeClipping: norm };
}
