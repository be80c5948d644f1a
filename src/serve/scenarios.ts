import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { jsonPath, loadScenario } from '../scenario/load.ts';
import { backendSchema, scenarioSchema, type Scenario } from '../scenario/schema.ts';
import { strategySchema } from '../scenario/strategy-schema.ts';
import type { FieldIssue } from './events.ts';
import { dashboardIssues } from './limits.ts';

/** Built-in strategies a page may choose (a custom module is for `fedmed run` only). */
export const STRATEGIES: readonly string[] = strategySchema.options
  .map((o) => o.shape.name.value as string)
  .filter((n) => n !== 'custom');

/** Backends a page may choose. */
export const BACKEND_CHOICES: readonly string[] = backendSchema.options;

/** A shipped scenario the page offers. */
export interface ShippedScenario {
  readonly file: string;
  readonly scenario: Scenario;
}

/**
 * The scenarios in `dir` the dashboard can run: every valid one that runs one federation on generated data
 * with a built-in strategy (a sweep, a hospital's own files or a custom module are for `fedmed run`).
 */
export function shippedScenarios(dir: string): ShippedScenario[] {
  const out: ShippedScenario[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json') || file.endsWith('.schema.json')) continue;
    let scenario: Scenario;
    try {
      scenario = loadScenario(join(dir, file));
    } catch {
      continue;
    }
    if (uploadIssues(scenario).length === 0 && dashboardIssues(scenario).length === 0)
      out.push({ file, scenario });
  }
  return out;
}

/** What a page may change before starting: each absent field keeps the scenario's value. */
export interface Choices {
  readonly seed?: unknown;
  readonly rounds?: unknown;
  readonly strategy?: unknown;
  readonly backend?: unknown;
  readonly baselines?: unknown;
}

const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * What an uploaded scenario may not ask for, by JSON path: a custom strategy module, a hospital's own files, a
 * folder to write logs into, or a sweep. Works on the raw JSON, so these show beside the schema's errors.
 */
export function uploadIssues(json: unknown): FieldIssue[] {
  const s = record(json);
  if (s === undefined) return [];
  const issues: FieldIssue[] = [];
  if (record(s.strategy)?.name === 'custom')
    issues.push({
      path: '$.strategy.name',
      message:
        'a custom strategy module cannot be uploaded; choose a built-in strategy (fedmed run takes modules)',
    });
  if (Array.isArray(s.hospitals))
    s.hospitals.forEach((h, i) => {
      const source = record(record(h)?.source);
      if (source !== undefined && source.kind !== 'generate')
        issues.push({
          path: `$.hospitals[${i}].source.kind`,
          message:
            'expected "generate": the dashboard runs generated data only; a hospital’s own files stay on its machine (fedmed run reads them)',
        });
    });
  if (record(s.diagnostics)?.hospitalLogDir !== undefined)
    issues.push({
      path: '$.diagnostics.hospitalLogDir',
      message: 'an uploaded scenario cannot choose folders to write into; remove it',
    });
  if (s.sweep !== undefined)
    issues.push({
      path: '$.sweep',
      message: 'the dashboard runs one federation; run sweeps with fedmed run',
    });
  return issues;
}

function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (not in the schema; see fedmed schema)`;
  if (issue.code === 'invalid_union' && issue.message.startsWith('Invalid input'))
    return 'expected one of the forms in the schema';
  return issue.message.replace(/^Invalid input: /, '');
}

/** Validates a scenario with the scenario schema and the dashboard's limits; every problem by its JSON path. */
export function validateScenario(json: unknown): { scenario: Scenario } | { issues: FieldIssue[] } {
  const result = scenarioSchema.safeParse(json);
  const issues = uploadIssues(json);
  if (!result.success)
    issues.push(...result.error.issues.map((i) => ({ path: jsonPath(i.path), message: describe(i) })));
  else {
    const seen = new Set(issues.map((i) => i.path));
    issues.push(...dashboardIssues(result.data).filter((i) => !seen.has(i.path)));
  }
  if (issues.length > 0) return { issues };
  return { scenario: (result as { data: Scenario }).data };
}

/** The scenario with the page's choices applied, validated again: a bad choice is an issue at its field's path. */
export function applyChoices(
  json: unknown,
  choices: Choices,
): { scenario: Scenario } | { issues: FieldIssue[] } {
  const base = record(json);
  if (base === undefined) return { issues: [{ path: '$', message: 'expected a JSON object' }] };
  const merged: Record<string, unknown> = { ...base };
  if (choices.seed !== undefined) merged.seed = choices.seed;
  if (choices.rounds !== undefined) merged.rounds = choices.rounds;
  if (choices.backend !== undefined) merged.backend = choices.backend;
  if (choices.baselines !== undefined) merged.baselines = choices.baselines;
  const strategy = record(base.strategy);
  if (choices.strategy !== undefined && choices.strategy !== (strategy?.name ?? 'fedavg')) {
    merged.strategy = {
      name: choices.strategy,
      ...(strategy?.fractionFit === undefined ? {} : { fractionFit: strategy.fractionFit }),
      ...(strategy?.fractionEvaluate === undefined ? {} : { fractionEvaluate: strategy.fractionEvaluate }),
    };
  }
  return validateScenario(merged);
}
