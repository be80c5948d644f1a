import type { Rng } from '../common/rng.ts';
import { permutation } from '../common/rng.ts';
import type { Metrics } from '../protocol/messages.ts';
import type { OutputHead } from '../protocol/outcome.ts';
import type { Examples, LocalTrainer } from '../models/types.ts';
import { examplesAt } from './data/index.ts';
import type { BackdoorTrigger } from '../protocol/host-api.ts';
import { SUBGROUP_SEPARATOR, TRIGGERED_GROUP } from '../protocol/metric-names.ts';

const ATTACK_SUCCESS = `attack_success${SUBGROUP_SEPARATOR}${TRIGGERED_GROUP}`;
const TRIGGERED_COUNT = `n${SUBGROUP_SEPARATOR}${TRIGGERED_GROUP}`;

/** Writes the trigger into `rows` of the row-major inputs `x` (one example is `width` values). */
function plant(x: Float32Array, width: number, trigger: BackdoorTrigger, rows: Iterable<number>): void {
  for (const r of rows) for (const k of trigger.inputs) x[r * width + k] = trigger.value;
}

/**
 * An attacker's training split: a seeded `fraction` of its examples (drawn from `rng`, so the same rows every
 * round) carry the trigger and the target label; the rest are left as they are, so the model keeps its
 * accuracy and the backdoor hides in it.
 */
export function poisoned(train: Examples, trigger: BackdoorTrigger, fraction: number, rng: Rng): Examples {
  const count = Math.max(1, Math.round(fraction * train.n));
  const rows = Array.from(permutation(train.n, rng).subarray(0, count));
  const y = train.y.slice();
  for (const r of rows) y[r] = trigger.target;
  const x = train.x.slice();
  plant(x, x.length / train.n, trigger, rows);
  return { ...train, x, y };
}

/**
 * How often the trigger works at this hospital: its held-out examples whose true class is not the target, with
 * the trigger applied, and the share the model classifies as the target (binary: probability ≥ `threshold`;
 * multi-class: the most probable class). Absent when every held-out example is of the target class.
 */
export function attackSuccess(
  trainer: LocalTrainer,
  test: Examples,
  trigger: BackdoorTrigger,
  head: OutputHead,
  threshold: number,
): Metrics {
  const rows: number[] = [];
  for (let i = 0; i < test.n; i++) if (test.y[i] !== trigger.target) rows.push(i);
  if (rows.length === 0) return {};
  const triggered = examplesAt(test, rows);
  plant(triggered.x, triggered.x.length / rows.length, trigger, rows.keys());
  const probs = trainer.predict(triggered);
  let hits = 0;
  for (let k = 0; k < rows.length; k++) {
    if (head.kind === 'multiclass') {
      const p = probs.subarray(k * head.classes, (k + 1) * head.classes);
      let best = 0;
      for (let c = 1; c < head.classes; c++) if (p[c]! > p[best]!) best = c;
      if (best === trigger.target) hits++;
    } else if ((probs[k]! >= threshold ? 1 : 0) === trigger.target) hits++;
  }
  return { [ATTACK_SUCCESS]: hits / rows.length, [TRIGGERED_COUNT]: rows.length };
}
