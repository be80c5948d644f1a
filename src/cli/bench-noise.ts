import { InvalidArgumentError } from 'commander';
import type { Scenario, ScenarioInput } from '../scenario/schema.ts';
import type { ArmSpec } from './bench-arms.ts';
import { InputError } from '../scenario/load.ts';

/** Parses `--dp-sgd-noise 0,0.5,1,2`: noise multipliers z of DP-SGD, 0 for an arm without it. */
export function parseNoiseList(text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const values = items.map(Number);
  if (items.some((s) => s === '') || values.some((v) => !Number.isFinite(v) || v < 0 || v > 1000)) {
    throw new InvalidArgumentError(
      '--dp-sgd-noise takes noise multipliers from 0 to 1000 (0: without DP-SGD), such as 0,0.5,1,2.',
    );
  }
  if (new Set(values).size !== values.length)
    throw new InvalidArgumentError('--dp-sgd-noise lists a value twice.');
  return values;
}

/** The label of an arm at noise multiplier z (0: without DP-SGD). */
function noiseLabel(label: string, z: number): string {
  return z === 0 ? `${label}+no-dp-sgd` : `${label}+dp-sgd-z=${z}`;
}

/** Every arm once per noise multiplier: the privacy–utility sweep of `fedmed bench --dp-sgd-noise`. */
export function expandNoiseArms(specs: readonly ArmSpec[], values: readonly number[]): ArmSpec[] {
  return specs.flatMap((spec) =>
    values.map((z) => ({
      label: noiseLabel(spec.label, z),
      candidates: spec.candidates.map((c) => ({ ...c, label: noiseLabel(c.label, z), dpSgdNoise: z })),
    })),
  );
}

/**
 * The scenario's privacy block with DP-SGD at noise multiplier z (its clipping norm, sampling rate, δ and
 * budget kept), or without DP-SGD for z = 0; the scenario must declare privacy.dpSgd for z > 0.
 */
export function privacyWithNoise(base: Scenario, z: number): Pick<ScenarioInput, 'privacy'> {
  const { dpSgd, ...rest } = base.privacy ?? {};
  if (z === 0) return { privacy: rest };
  if (dpSgd === undefined) {
    throw new InputError(
      '--dp-sgd-noise: the scenario needs privacy.dpSgd (its clipNorm, sampleRate and delta) for noise multipliers above 0',
    );
  }
  return { privacy: { ...rest, dpSgd: { ...dpSgd, noiseMultiplier: z } } };
}
