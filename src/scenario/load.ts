import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { canonicalJson, sha256 } from '../common/hash.ts';
import { scenarioSchema, type BackendChoice, type BaselineName, type Scenario } from './schema.ts';

/** Input that cannot be used: a scenario, a flag or a file. Names the place and what was expected. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Reads and validates a scenario file (UTF-8, with or without a byte-order mark); every problem is listed with its JSON path. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      `${file}: cannot read the scenario (${code === 'ENOENT' ? 'no such file' : (code ?? 'read error')})`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseScenario(json, file);
}

/** Validates a parsed scenario and fills in defaults. */
export function parseScenario(json: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(json);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${jsonPath(issue.path)}: ${describeIssue(issue)}`);
  throw new InputError(`${source} is not a valid scenario:\n${lines.join('\n')}`);
}

/** Flags that override scenario fields; absent ones leave the scenario as written. */
export interface Overrides {
  readonly seed?: number;
  readonly rounds?: number;
  readonly backend?: BackendChoice;
  readonly baselines?: readonly BaselineName[];
}

/** The scenario after overrides, validated again so an override cannot make it invalid. */
export function applyOverrides(scenario: Scenario, overrides: Overrides): Scenario {
  const merged = {
    ...scenario,
    ...(overrides.seed === undefined ? {} : { seed: overrides.seed }),
    ...(overrides.rounds === undefined ? {} : { rounds: overrides.rounds }),
    ...(overrides.backend === undefined ? {} : { backend: overrides.backend }),
    ...(overrides.baselines === undefined ? {} : { baselines: overrides.baselines }),
  };
  return parseScenario(merged, 'the scenario with flags applied');
}

/** SHA-256 of the scenario's canonical JSON: its identity in manifests. */
export function scenarioHash(scenario: Scenario): string {
  return sha256(canonicalJson(scenario));
}

/** `$.hospitals[2].patients` style path. */
export function jsonPath(path: readonly PropertyKey[]): string {
  return (
    '$' +
    path
      .map((p) =>
        typeof p === 'number'
          ? `[${p}]`
          : /^[A-Za-z_$][\w$]*$/.test(String(p))
            ? `.${String(p)}`
            : `[${JSON.stringify(String(p))}]`,
      )
      .join('')
  );
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (not in the schema; see \`fedmed schema\`)`;
    case 'invalid_union':
      return issue.message.startsWith('Invalid input')
        ? 'expected one of the forms in the schema'
        : issue.message;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

/** The JSON Schema of scenario files. */
export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' });
}
