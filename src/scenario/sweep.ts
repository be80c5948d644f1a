import { InputError, parseScenario } from './load.ts';
import type { Scenario } from './schema.ts';

/** Longest folder name of a variant: most file systems allow 255 bytes, and fedmed adds up to 15 for the folders it keeps beside a run. */
export const MAX_FOLDER_NAME_BYTES = 240;

/** One variant of a sweep: the value it sets and the scenario it makes. */
export interface SweepVariant {
  readonly value: number | string | boolean;
  /** Folder name of the variant: `<last path segment>-<value>`. */
  readonly label: string;
  readonly scenario: Scenario;
}

/**
 * The scenarios a sweep describes, each validated; a value that makes an invalid scenario, a folder name that
 * is too long or one that another value already makes is an {@link InputError} naming `$.sweep.values[i]`.
 */
export function sweepVariants(scenario: Scenario): SweepVariant[] {
  const sweep = scenario.sweep;
  if (sweep === undefined) return [];
  const path = sweep.parameter.split('.');
  const { sweep: _sweep, ...base } = scenario;
  const labels = new Map<string, number>();
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
    const bytes = Buffer.byteLength(label);
    if (bytes > MAX_FOLDER_NAME_BYTES) {
      throw new InputError(
        `$.sweep.values[${i}]: expected a value that makes a folder name of at most ${MAX_FOLDER_NAME_BYTES} bytes (this one makes ${bytes})`,
      );
    }
    const earlier = labels.get(label);
    if (earlier !== undefined) {
      throw new InputError(
        `$.sweep.values[${i}]: gives the same folder name ${JSON.stringify(label)} as $.sweep.values[${earlier}]; ` +
          'expected values whose folder names differ',
      );
    }
    labels.set(label, i);
    try {
      return { value, label, scenario: parseScenario(copy, `sweep value ${i} (${String(value)})`) };
    } catch (e) {
      throw new InputError(`$.sweep.values[${i}]: ${(e as Error).message}`);
    }
  });
}
