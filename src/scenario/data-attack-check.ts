import type { z } from 'zod';
import { inputShapeOf } from '../protocol/cdm.ts';
import { headOf } from '../protocol/outcome.ts';
import type { DataConfig, FaultConfig } from './schema.ts';

/**
 * Attacks on a hospital's own data need classes: label-flip reverses them, and a backdoor needs a target among
 * them, trigger inputs inside one example's input, and one trigger for the whole scenario (every hospital
 * measures that one on the global model).
 */
export function checkDataAttacks(
  s: { readonly data: DataConfig; readonly faults: readonly FaultConfig[] },
  ctx: z.RefinementCtx,
): void {
  const head = headOf(s.data);
  const width = inputShapeOf(s.data).reduce((a, b) => a * b, 1);
  const classes = head.kind === 'multiclass' ? head.classes : 2;
  let first: string | undefined;
  s.faults.forEach((f, i) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path: ['faults', i, ...path], message });
    if (f.behaviour === 'label-flip' && head.kind === 'continuous')
      issue(['behaviour'], 'label-flip needs a binary or multi-class outcome');
    if (f.behaviour !== 'backdoor' || f.trigger === undefined) return;
    if (head.kind === 'continuous') issue(['behaviour'], 'a backdoor needs a binary or multi-class outcome');
    else if (f.trigger.target >= classes)
      issue(['trigger', 'target'], `expected a class index below ${classes}`);
    const outside = f.trigger.inputs.findIndex((k) => k >= width);
    if (outside >= 0)
      issue(
        ['trigger', 'inputs', outside],
        `expected an input index below ${width}, the model's input width`,
      );
    const key = JSON.stringify(f.trigger);
    if (first !== undefined && key !== first)
      issue(['trigger'], 'expected the same trigger as the first backdoor: hospitals measure one');
    first ??= key;
  });
}
