import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { checkDataPaths } from '../scenario/data-paths.ts';
import { InputError } from '../scenario/load.ts';
import { SetupError } from '../server/setup-error.ts';
import { backendSchema, type BackendChoice, type Scenario } from '../scenario/schema.ts';

/** Backend names accepted by `--backend` and FEDMED_BACKEND. */
export const BACKENDS = backendSchema.options;

/** A commander parser for an integer flag within [min, max]. */
export function integerFlag(flag: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} expects an integer from ${min} to ${max}.`);
    }
    return n;
  };
}

/** A commander parser for a comma-separated list drawn from `allowed`. */
export function listFlag<T extends string>(flag: string, allowed: readonly T[]) {
  return (text: string): T[] => {
    const items = text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) {
        throw new InvalidArgumentError(`${flag} takes a comma-separated list of ${allowed.join(', ')}.`);
      }
    }
    return items as T[];
  };
}

/** The backend asked for: the flag, then FEDMED_BACKEND, then (undefined) the scenario's own. */
export function backendOverride(flag: BackendChoice | undefined): BackendChoice | undefined {
  if (flag !== undefined) return flag;
  const env = process.env.FEDMED_BACKEND;
  if (env === undefined || env === '') return undefined;
  const parsed = backendSchema.safeParse(env);
  if (!parsed.success) {
    throw new InputError(`FEDMED_BACKEND must be one of ${BACKENDS.join(', ')} (got another value)`);
  }
  return parsed.data;
}

/** Errors raised while a worker set up its hospitals or read their files: bad input, not bugs. */
export function isInputFailure(e: unknown): boolean {
  if (e instanceof SetupError) return e.badInput;
  return (
    e instanceof Error &&
    /^(StrategyConfigError|StrategyModuleError|PrivacySettingError|CheckpointError)$/.test(e.name)
  );
}

/**
 * The data root: `--data-root`, or the scenario file's folder. The scenario's relative paths (hospitals' files,
 * a custom strategy module) resolve against it, and no hospital's data may leave it.
 */
export function dataRoot(flag: string | undefined, scenarioFile: string): string {
  if (flag === undefined) return dirname(resolve(scenarioFile));
  const root = resolve(flag);
  let folder: boolean;
  try {
    folder = statSync(root).isDirectory();
  } catch {
    folder = false;
  }
  if (!folder) throw new InputError(`--data-root ${flag}: expected an existing folder`);
  return root;
}

/** Checks every hospital's files before any worker starts (see {@link checkDataPaths}); bad ones are exit 2. */
export function checkScenarioData(scenario: Scenario, root: string): void {
  checkDataPaths(scenario.hospitals, root, (message) => {
    throw new InputError(message);
  });
}
