/**
 * DP-FedAvg's weights (McMahan et al. 2018, "Learning differentially private recurrent language models"):
 * hospital k's weight is w_k = min(n_k / ŵ, 1) for n_k examples and a public cap ŵ, so no hospital
 * contributes more than its clipped update (sensitivity C). The coordinator divides the noisy sum by the
 * fixed denominator q·W, W = Σ_k w_k over all hospitals, not by the weight of those that took part: that
 * weight depends on who was sampled and would leak it, and dividing by it would change the sensitivity.
 * Σ_{k sampled} w_k Δ_k / (qW) is unbiased for Σ_k w_k Δ_k / W, the weighted mean of all hospitals' updates.
 */
export function cappedWeight(examples: number, weightCap: number | undefined): number {
  if (!Number.isInteger(examples) || examples < 0) throw new RangeError(`examples must be an integer ≥ 0`);
  return weightCap === undefined ? 1 : Math.min(examples / weightCap, 1);
}

/** The fixed denominator q · Σ_k w_k over every hospital in the federation, sampled or not. */
export function fixedDenominator(weights: readonly number[], sampleRate: number): number {
  return sampleRate * weights.reduce((a, b) => a + b, 0);
}
