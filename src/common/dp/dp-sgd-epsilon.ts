import { computeRdp, DEFAULT_RDP_ORDERS, rdpToEpsilon } from './rdp.ts';
import type { DpSgdConfig } from '../../scenario/privacy-schema.ts';

/**
 * ε at the scenario's δ that `steps` DP-SGD steps of the hospital (each a Poisson sample at rate q with noise
 * multiplier z) have spent, by the RDP accountant of the sampled Gaussian mechanism.
 */
export function dpSgdEpsilon(config: DpSgdConfig, steps: number): number {
  if (steps === 0) return 0;
  const rdp = computeRdp(config.sampleRate, config.noiseMultiplier, steps, DEFAULT_RDP_ORDERS);
  return rdpToEpsilon(DEFAULT_RDP_ORDERS, rdp, config.delta).epsilon;
}
