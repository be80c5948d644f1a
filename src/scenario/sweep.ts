import { InputError, parseScenario } from './load.ts';
import type { Scenario } from './schema.ts';

/** One variant of a sweep: the value it sets and the scenario it makes. */
export interface SweepVariant {
  readonly value: number | string | boolean;
  /** Folder name of the variant: `<last path segment>-<value>`. */
  readonly label: string;
  readonly scenario: Scenario;
}

/** The scenarios a sweep describes, each validated; a value that makes an invalid scenario names the sweep. */
export function sweepVariants(scenario: Scenario): SweepVariant[] {
  const sweep = scenario.sweep;
  if (sweep === undefined) return [];
  const path = sweep.parameter.split('.');
  const { sweep: _sweep, ...base } = scenario;
  return sweep.values.map((value, i) => {
    const copy = structuredClone(base) as Record<string, unknown>;
    let node: Record<string, unknown> = copy;
    for (const [depth, key] of path.entries()) {
      if (depth === path.length - 1) {
        if (!(key in node))
          throw new InputError(`$.sweep.parameter: the scenario has no field "${sweep.parameter}"`);
        node[key] = value;
        break;
      }
      const next = node[key];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) {
        throw new InputError(`$.sweep.parameter: the scenario has no field "${sweep.parameter}"`);
      }
      node = next as Record<string, unknown>;
    }
    const label = `${path[path.length - 1]}-${String(value).replace(/[^A-Za-z0-9.-]/g, '_')}`;
    try {
      return { value, label, scenario: parseScenario(copy, `sweep value ${i} (${String(value)})`) };
    } catch (e) {
      throw new InputError(`$.sweep.values[${i}]: ${(e as Error).message}`);
    }
  });
}
