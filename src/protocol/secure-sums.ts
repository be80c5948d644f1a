import type { FitInstructions } from './messages.ts';

/**
 * What a hospital can contribute to a secure sum, computed inside its worker from its round of training
 * (x: its trained parameters, g: the global model it started from, τ: its optimizer steps, F: the training
 * loss of g on its data, L = 1/η the local learning rate's inverse, q: q-FedAvg's fairness):
 * - `update`: x − g;
 * - `control`: SCAFFOLD's control-variate change Δc;
 * - `update-per-step`: (x − g) / τ (FedNova);
 * - `steps`: τ, one value (FedNova);
 * - `fair-update`: F^q · (g − x) (q-FedAvg's numerator, divided by L);
 * - `fair-weight`: q·F^(q−1)·L·‖g − x‖² + F^q, one value (q-FedAvg's denominator, divided by L).
 */
export type SumTerm = 'update' | 'control' | 'update-per-step' | 'steps' | 'fair-update' | 'fair-weight';

/** Terms of one value; the others have the model's parameter count. */
export const SCALAR_TERMS: readonly SumTerm[] = ['steps', 'fair-weight'];

/**
 * How each hospital's terms are weighted in the sum: by its training examples n_k (an integer multiplier
 * after quantisation), or each hospital once.
 */
export type SumWeighting = 'examples' | 'one';

/** One part of the encoded vector a hospital masks: a term, its length and its clipping range. */
export interface SecureSumPart {
  readonly name: string;
  readonly term: SumTerm;
  readonly length: number;
  /** Values are clipped to [−range, range] before they are quantised. */
  readonly range: number;
}

/** Everything a hospital needs to take part in one round of secure aggregation. */
export interface SecureRoundSettings {
  /** Its index in the round, 1…participants (ascending hospital id). */
  readonly index: number;
  readonly participants: number;
  /** Shares needed to rebuild a secret. */
  readonly threshold: number;
  /** SecAgg+'s k; absent: every participant neighbours every other. */
  readonly neighbours?: number;
  /** Binds keys, nonces and masks to the run and round, such as `seed-7/round-3`. */
  readonly session: string;
  /** Bits per quantised value. */
  readonly bits: number;
  /** The largest integer weight (`examples`: the most training examples a hospital may hold). */
  readonly maxWeight: number;
  readonly weighting: SumWeighting;
  readonly parts: readonly SecureSumPart[];
  /** q-FedAvg's fairness q, for its terms. */
  readonly fairness?: number;
  /**
   * DP-FedAvg: clip the update to this L2 norm and multiply it by min(n_k / weightCap, 1) in the hospital;
   * the values are then pre-weighted, and the integer weight is 1.
   */
  readonly dp?: { readonly clipNorm: number; readonly weightCap?: number };
}

/** A fit request under secure aggregation: the usual instructions and the round's settings. */
export interface SecureFitInstructions extends FitInstructions {
  readonly secure: SecureRoundSettings;
}
