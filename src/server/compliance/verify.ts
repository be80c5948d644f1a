import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_RUN_FILE_BYTES, readBounded } from '../../common/bounded-read.ts';
import { canonicalJson, sha256 } from '../../common/hash.ts';
import type { Purpose } from '../../protocol/kinds.ts';
import { InputError, parseScenario } from '../../scenario/load.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { runFederation } from '../coordinator.ts';
import { byteTotals, type Crossing } from '../ledger.ts';
import { checkChain } from './chain.ts';
import { recheckPolicies } from './recheck.ts';
import { complianceReport } from './report.ts';

/** One check of a run folder and what it found. */
export interface Check {
  readonly name: 'scenario' | 'model' | 'chain' | 'totals' | 'policies' | 'compliance' | 'rerun';
  readonly ok: boolean;
  readonly detail: string;
}

/** Everything `fedmed verify` found of a run folder. */
export interface Verification {
  readonly ok: boolean;
  readonly checks: readonly Check[];
}

/** How to run the scenario again for `--rerun`. */
export interface RerunOptions {
  readonly threads: number;
  readonly timeoutMs: number;
}

/** What of the manifest verify reads. */
interface ManifestView {
  readonly scenarioSha256: string;
  readonly finalModelSha256: string;
  readonly status: string;
  readonly bytes: unknown;
  readonly baselineBytes: { readonly localOnly: unknown; readonly pooled: unknown };
  readonly ledger?: { readonly entries: number; readonly genesis: string; readonly head: string };
  readonly jurisdiction?: unknown;
  readonly baseDir?: string;
}

/**
 * Verifies a run folder from its files: the scenario and model hashes, the crossing record's hash chain (the
 * first bad line named), every byte total of the manifest, the summary and each round of metrics.jsonl
 * recomputed from the record, every crossing re-checked against the scenario's policies, compliance.json
 * recomputed; with `rerun`, the scenario run again must give the same final model and the same chain head.
 */
export async function verifyRun(dir: string, rerun?: RerunOptions): Promise<Verification> {
  const manifest = readJson(dir, 'manifest.json') as ManifestView;
  if (manifest.ledger === undefined) {
    throw new InputError(
      `${join(dir, 'manifest.json')}: no ledger head (a run written before fedmed kept one)`,
    );
  }
  const scenarioJson = readJson(dir, 'scenario.json');
  const checks: Check[] = [];
  const check = (name: Check['name'], ok: boolean, detail: string) => checks.push({ name, ok, detail });

  const scenarioHash = sha256(canonicalJson(scenarioJson));
  let scenario: Scenario | undefined;
  try {
    scenario = parseScenario(scenarioJson, join(dir, 'scenario.json'));
  } catch (e) {
    check('scenario', false, (e as Error).message.split('\n').join(' '));
  }
  if (scenario !== undefined) {
    check(
      'scenario',
      scenarioHash === manifest.scenarioSha256 && manifest.ledger.genesis === scenarioHash,
      scenarioHash === manifest.scenarioSha256
        ? manifest.ledger.genesis === scenarioHash
          ? `scenario.json hashes to the manifest's scenarioSha256 and the chain's genesis (${short(scenarioHash)})`
          : `the chain's genesis is not the scenario's hash ${short(scenarioHash)}`
        : `scenario.json hashes to ${short(scenarioHash)}, the manifest says ${short(manifest.scenarioSha256)}`,
    );
  }
  const modelHash = sha256(readBytes(dir, 'model/parameters.f32'));
  check(
    'model',
    modelHash === manifest.finalModelSha256,
    modelHash === manifest.finalModelSha256
      ? `model/parameters.f32 hashes to the manifest's finalModelSha256 (${short(modelHash)})`
      : `model/parameters.f32 hashes to ${short(modelHash)}, the manifest says ${short(manifest.finalModelSha256)}`,
  );

  const lines = readText(dir, 'crossings.jsonl').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const problem = checkChain(lines, manifest.ledger);
  check(
    'chain',
    problem === undefined,
    problem === undefined
      ? `${lines.length} entries, each linked to the one before; the last hashes to the manifest's head (${short(manifest.ledger.head)})`
      : `crossings.jsonl line ${problem.line}: ${problem.problem}`,
  );
  const entries = parseEntries(lines);
  if (entries === undefined || scenario === undefined) {
    const why =
      entries === undefined ? 'a line of crossings.jsonl is not JSON' : 'scenario.json is not valid';
    for (const name of ['totals', 'policies', 'compliance'] as const)
      check(name, false, `not checked: ${why}`);
  } else {
    const totals = checkTotals(dir, manifest, entries);
    check(
      'totals',
      totals === undefined,
      totals ?? 'manifest, summary and every round of metrics.jsonl agree with the record',
    );
    const policy = recheckPolicies(scenario, entries);
    check(
      'policies',
      policy === undefined,
      policy === undefined
        ? scenario.jurisdiction === undefined
          ? 'no policies declared; every crossing recorded none'
          : `every crossing's bases and violations are what the policies give for it`
        : `crossings.jsonl line ${policy.line}: ${policy.problem}`,
    );
    const compliance = complianceReport(scenario, entries);
    const written = readJson(dir, 'compliance.json');
    const same = canonicalJson(written) === canonicalJson(compliance);
    const jurisdiction = {
      policies: compliance.policies,
      status: compliance.status,
      violations: compliance.violations.length,
    };
    const manifestSame = canonicalJson(manifest.jurisdiction) === canonicalJson(jurisdiction);
    check(
      'compliance',
      same && manifestSame,
      !same
        ? 'compliance.json differs from the report recomputed from the record'
        : !manifestSame
          ? "the manifest's jurisdiction summary differs from the record"
          : `compliance.json is the report of the record: ${compliance.status}, ${plural(compliance.violations.length, 'violation')}`,
    );
  }
  if (rerun !== undefined && scenario !== undefined)
    checks.push(await rerunCheck(scenario, manifest, rerun, dir));
  return { ok: checks.every((c) => c.ok), checks };
}

async function rerunCheck(
  scenario: Scenario,
  manifest: ManifestView,
  options: RerunOptions,
  dir: string,
): Promise<Check> {
  const result = await runFederation(scenario, {
    threads: options.threads,
    backend: scenario.backend,
    baseDir: manifest.baseDir ?? dir,
    timeoutMs: options.timeoutMs,
    sink: { round: () => undefined, crossings: () => undefined },
  });
  const model = sha256(result.parameters);
  const head = result.ledger.head;
  const ok = model === manifest.finalModelSha256 && head === manifest.ledger!.head;
  return {
    name: 'rerun',
    ok,
    detail: ok
      ? `running the scenario again gave the same final model (${short(model)}) and chain head (${short(head)})`
      : [
          model === manifest.finalModelSha256
            ? ''
            : `the final model hashes to ${short(model)}, not ${short(manifest.finalModelSha256)}`,
          head === manifest.ledger!.head
            ? ''
            : `the chain head is ${short(head)}, not ${short(manifest.ledger!.head)}`,
        ]
          .filter((s) => s !== '')
          .join('; '),
  };
}

/** The first total of the manifest, summary or metrics.jsonl that differs from the record, or undefined. */
function checkTotals(dir: string, manifest: ManifestView, entries: readonly Crossing[]): string | undefined {
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  const all = (purpose: Purpose) => byteTotals(entries, undefined, purpose);
  if (!same(manifest.bytes, all('federation')))
    return "the manifest's bytes differ from the record's federation totals";
  if (!same(manifest.baselineBytes.localOnly, all('local-only')))
    return "the manifest's local-only bytes differ from the record";
  if (!same(manifest.baselineBytes.pooled, all('pooled')))
    return "the manifest's pooled bytes differ from the record";
  const summary = readJson(dir, 'summary.json') as { bytes?: unknown };
  if (!same(summary.bytes, all('federation')))
    return "summary.json's bytes differ from the record's federation totals";
  const rounds = readText(dir, 'metrics.jsonl')
    .split('\n')
    .filter((l) => l !== '');
  for (const [i, text] of rounds.entries()) {
    let r: { round?: unknown; bytes?: unknown };
    try {
      r = JSON.parse(text) as typeof r;
    } catch {
      return `metrics.jsonl line ${i + 1} is not JSON`;
    }
    if (typeof r.round !== 'number' || !same(r.bytes, byteTotals(entries, r.round, 'federation'))) {
      return `metrics.jsonl line ${i + 1}: the round's bytes differ from the record`;
    }
  }
  return undefined;
}

function parseEntries(lines: readonly string[]): Crossing[] | undefined {
  try {
    return lines.map((l) => JSON.parse(l) as Crossing);
  } catch {
    return undefined;
  }
}

function readBytes(dir: string, name: string): Buffer {
  const path = join(dir, name);
  if (!existsSync(path)) throw new InputError(`${dir}: not a fedmed run folder (no ${name})`);
  return readBounded(path, MAX_RUN_FILE_BYTES, (expected) => {
    throw new InputError(`${path}: expected ${expected}`);
  });
}

function readText(dir: string, name: string): string {
  return readBytes(dir, name).toString('utf8');
}

function readJson(dir: string, name: string): unknown {
  const text = readText(dir, name);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InputError(`${join(dir, name)}: not valid JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError(`${join(dir, name)}: expected a JSON object`);
  return value;
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
