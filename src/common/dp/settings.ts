import { PrivacySettingError } from '../privacy-setting-error.ts';

/** A privacy budget: the run stops before the round that would spend more than ε at this δ. */
export interface PrivacyBudget {
  readonly epsilon: number;
  readonly delta: number;
}

/** Client-level DP-FedAvg settings (McMahan et al. 2018). */
export interface DpSettings {
  /** C: each hospital's update is clipped to this L2 norm. */
  readonly clipNorm: number;
  /** z: the coordinator adds N(0, (zC)²) to each coordinate of the sum. */
  readonly noiseMultiplier: number;
  /** q: each hospital takes part in a round independently with this probability (Poisson sampling). */
  readonly sampleRate: number;
  /** ŵ: examples at which a hospital's weight reaches its cap of 1; absent: every weight is 1. */
  readonly weightCap?: number;
  readonly budget?: PrivacyBudget;
}

/** Refuses DP settings outside their ranges, naming the field under `path` and the valid range. */
export function validateDpSettings(s: DpSettings, path = 'privacy.differentialPrivacy'): void {
  const positive = (field: string, value: number): void => {
    if (!Number.isFinite(value) || value <= 0) {
      throw new PrivacySettingError(`${path}.${field}`, 'a finite number > 0', value);
    }
  };
  positive('clipNorm', s.clipNorm);
  positive('noiseMultiplier', s.noiseMultiplier);
  if (!Number.isFinite(s.sampleRate) || s.sampleRate <= 0 || s.sampleRate > 1) {
    throw new PrivacySettingError(`${path}.sampleRate`, 'in (0, 1]', s.sampleRate);
  }
  if (s.weightCap !== undefined) positive('weightCap', s.weightCap);
  if (s.budget !== undefined) {
    positive('budget.epsilon', s.budget.epsilon);
    if (!Number.isFinite(s.budget.delta) || s.budget.delta <= 0 || s.budget.delta >= 1) {
      throw new PrivacySettingError(`${path}.budget.delta`, 'in (0, 1)', s.budget.delta);
    }
  }
}
