import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { SIGNAL_EXIT } from '../../src/cli/interrupt.ts';
import { ROOT } from '../helpers/cli.ts';

/** Cases per property; FEDMED_FUZZ_RUNS multiplies the default counts (e.g. 10 for ten times as many). */
const SCALE = Math.max(1, Number(process.env.FEDMED_FUZZ_RUNS ?? '1') || 1);
const CODES = new Set<number>([
  ...Object.values(EXIT).filter((c) => c !== EXIT.internal),
  ...Object.values(SIGNAL_EXIT),
]);
const SCENARIOS = join(ROOT, 'scenarios');
const shipped = readdirSync(SCENARIOS)
  .filter((f) => f.endsWith('.json') && f !== 'scenario.schema.json')
  .map((f) => ({ name: f, json: JSON.parse(readFileSync(join(SCENARIOS, f), 'utf8')) as Json }));
/** Valid variants trained through the CLI: each shipped scenario twice (times FEDMED_FUZZ_RUNS). */
const RUNS = 2 * shipped.length * SCALE;
const dir = mkdtempSync(join(tmpdir(), 'fedmed-fuzz-'));
/** A regular file as --out: a scenario that passes validation stops there (exit 2 naming --out), untrained. */
const notAFolder = join(dir, 'not-a-folder');
writeFileSync(notAFolder, 'x');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Runs the CLI in this process, capturing what it writes; a case that takes over 60 s is a hang. */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => ((stdout += String(s)), true)) as typeof out;
  process.stderr.write = ((s: string | Uint8Array) => ((stderr += String(s)), true)) as typeof err;
  let timer: NodeJS.Timeout | undefined;
  try {
    const code = await Promise.race([
      main(args),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`hang: fedmed ${args.join(' ')}`)), 60_000);
      }),
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** What every case must end with: a code from the table (never 1), no stack trace, a named place if refused. */
function expectClean(r: { code: number; stderr: string }, args: readonly string[], names: RegExp): void {
  const what = `fedmed ${args.join(' ')}\n${r.stderr.slice(0, 2000)}`;
  expect(CODES.has(r.code), what).toBe(true);
  expect(r.stderr, what).not.toMatch(/\n\s+at .*:\d+:\d+/);
  expect(r.stderr, what).not.toMatch(/internal error|TypeError|ReferenceError|RangeError:/);
  if (r.code === EXIT.badInput) expect(r.stderr, what).toMatch(names);
}

/** Every path to a value in `v`, as keys and indices. */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) v.slice(0, 40).forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(root: Json, path: readonly (string | number)[], value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : value;
  const copy = structuredClone(root);
  let node = copy as Record<string | number, Json>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === undefined) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

const ODD_TEXT = [
  '',
  '\u0000',
  '\uD800',
  'ｋｒ-ｓｅｏｕｌ',
  '\u202Ekr-seoul-1',
  'kr-seoul-1\n',
  '😀',
  'ا'.repeat(300),
  'a'.repeat(10_000),
  '../../etc/passwd',
  '__proto__',
  'constructor',
  'kr seoul',
];
const EXTREME = [
  '1e999',
  '-1e999',
  '1e308',
  '-1e308',
  '9007199254740993',
  '1e-320',
  '-0',
  '0',
  '-1',
  '0.5',
  '2147483648',
];
const UNKNOWN: Record<string, Json> = {
  'strategy.name': 'fedfoo',
  'model.kind': 'transformer',
  'data.kind': 'genomics',
  'training.optimizer': 'lion',
  'coordinator.site': 'XX',
  backend: 'tpu',
};

/** A mutation of a shipped scenario, written as the text of a scenario file. */
const mutation = fc
  .record({
    scenario: fc.nat(shipped.length - 1),
    kind: fc.constantFrom(
      'delete',
      'type',
      'extreme',
      'huge',
      'unicode',
      'duplicate',
      'unknown',
      'extra',
      'text',
    ),
    at: fc.nat(),
    pick: fc.nat(),
    unicode: fc.string({ unit: 'grapheme', maxLength: 12 }),
  })
  .map(({ scenario, kind, at, pick, unicode }) => {
    const base = shipped[scenario]!;
    const all = paths(base.json);
    const path = all[at % all.length]!;
    const RAW = '"__raw__"';
    let json: Json = base.json;
    let raw: string | undefined;
    switch (kind) {
      case 'delete':
        json = setAt(json, path, undefined);
        break;
      case 'type':
        json = setAt(json, path, (['x', 42, true, null, [], {}] as Json[])[pick % 6]!);
        break;
      case 'extreme':
        json = setAt(json, path, '__raw__');
        raw = EXTREME[pick % EXTREME.length]!;
        break;
      case 'huge': {
        const hospitals = (base.json as { hospitals: Json[] }).hospitals;
        json =
          pick % 2 === 0
            ? setAt(
                json,
                ['hospitals'],
                Array.from({ length: 5_000 }, (_, i) => hospitals[i % hospitals.length]!),
              )
            : setAt(
                json,
                path,
                Array.from({ length: 100_000 }, () => 1),
              );
        break;
      }
      case 'unicode': {
        const field = (['id', 'country', 'name'] as const)[pick % 3]!;
        const hospitals = (base.json as { hospitals: Json[] }).hospitals.length;
        const text = pick % 2 === 0 ? ODD_TEXT[pick % ODD_TEXT.length]! : unicode;
        json = setAt(json, ['hospitals', at % hospitals, field], text);
        break;
      }
      case 'duplicate': {
        const hospitals = (base.json as { hospitals: { id: string }[] }).hospitals;
        json = setAt(json, ['hospitals', 1 + (at % (hospitals.length - 1)), 'id'], hospitals[0]!.id);
        break;
      }
      case 'unknown': {
        const [key, value] = Object.entries(UNKNOWN)[pick % Object.keys(UNKNOWN).length]!;
        json = setAt(json, key.split('.'), value);
        break;
      }
      case 'extra':
        json = setAt(json, [...path.filter((_, i) => i < path.length - 1), 'unexpectedKey'], unicode);
        break;
      case 'text': {
        const text = JSON.stringify(base.json);
        raw = ['', '\uFEFF' + text, text.slice(0, at % text.length), '[]', '"scenario"', 'null', '{'][
          pick % 7
        ]!;
        return { name: base.name, kind, text: raw };
      }
    }
    let text = JSON.stringify(json, null, 1);
    if (raw !== undefined) text = text.replace(RAW, raw);
    return { name: base.name, kind, text };
  });

const ARGS = [
  'run',
  'bench',
  'verify',
  'report',
  'generate',
  'split',
  'evaluate',
  'schema',
  '--seed',
  '--rounds',
  '--workers',
  '--backend',
  '--baselines',
  '--timeout',
  '--strategies',
  '--seeds',
  '--hospitals',
  '--partition',
  '--data',
  '--resume',
  '--rerun',
  '--target',
  '--select',
  '--unknown',
  '-x',
  '1',
  '0',
  '-1',
  '1e9',
  'NaN',
  '',
  '\u0000',
  'ｘ',
  'js',
  'tfjs',
  'local-only,pooled,oracle',
  'fedavg,fedfoo:eta=-1',
  'fedprox:proximalMu=0.1|x',
  'auroc=2',
  join(SCENARIOS, 'quickstart.json'),
  join(SCENARIOS, 'wine'),
  join(ROOT, 'package.json'),
  join(dir, 'missing.json'),
  notAFolder,
];

describe('cases the fuzzing found, kept', () => {
  it('a Dirichlet partition no draw can meet is exit 2 naming $.data.partition.minPerHospital (it named a bare field)', async () => {
    const args = [
      'run',
      join(ROOT, 'test/fixtures/fuzz/dirichlet-min-per-hospital.json'),
      '--out',
      join(dir, 'dirichlet'),
      '--quiet',
      '--workers',
      '1',
    ];
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(EXIT.badInput);
    expect(r.stderr).toMatch(/field \$\.data\.partition\.minPerHospital: expected no Dirichlet\(0\.1\) draw/);
    expectClean(r, args, /\$\.data\.partition\.minPerHospital/);
  }, 120_000);
});

describe('fuzzed inputs never crash the CLI', () => {
  it('mutated shipped scenarios: exit code from the table, no stack trace, the JSON path or flag named', async () => {
    let i = 0;
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const file = join(dir, `case-${i++}.json`);
        writeFileSync(file, m.text);
        const args = ['run', file, '--out', notAFolder, '--quiet', '--data-root', SCENARIOS];
        const r = await cli(args);
        expectClean(r, [...args, `(${m.kind} of ${m.name})`], /\$|--out|--data-root|scenario file|JSON/);
      }),
      { numRuns: 1_000 * SCALE, seed: 15, endOnFailure: true },
    );
  }, 600_000);

  it('random argument lists: exit code from the table, no stack trace, the flag or file named', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...ARGS), { minLength: 0, maxLength: 7 }), async (args) => {
        // Work that would really start (a run, bench or generate into a usable folder) is sent to a file.
        const full = [...args, '--out', notAFolder, '--quiet'];
        const r = await cli(full);
        expectClean(r, full, /--|\$|'|no file|expected|not /);
      }),
      { numRuns: 300 * SCALE, seed: 16, endOnFailure: true },
    );
  }, 600_000);

  it('valid variants of every shipped scenario (shrunk: few patients, one or two rounds) really train through the CLI', async () => {
    let trained = 0;
    const trainedScenarios = new Set<string>();
    let i = 0;
    await fc.assert(
      fc.asyncProperty(variation, async (c) => {
        // Every shipped scenario in turn, each varied by the drawn case.
        const v = variant(shipped[i % shipped.length]!, c);
        const file = join(dir, `valid-${i}.json`);
        const out = join(dir, `valid-out-${i++}`);
        writeFileSync(file, JSON.stringify(v.json));
        const args = ['run', file, '--out', out, '--quiet', '--workers', '1', '--data-root', SCENARIOS];
        const r = await cli(args);
        expectClean(r, [...args, `(variant of ${v.name})`], /\$|--/);
        if (r.code === EXIT.ok) {
          trained++;
          trainedScenarios.add(v.name);
          expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(v.rounds);
        }
        rmSync(out, { recursive: true, force: true });
        rmSync(join(dir, `.valid-out-${i - 1}.fedmed`), { recursive: true, force: true });
      }),
      { numRuns: RUNS, seed: 17, endOnFailure: true },
    );
    expect(trained).toBeGreaterThanOrEqual(Math.floor(RUNS * 0.8));
    expect([...trainedScenarios].sort()).toEqual(shipped.map((s) => s.name).sort());
  }, 900_000);
});

/**
 * A shipped scenario made small enough to train in a moment, keeping its shape (countries, strategy, privacy,
 * clock): three of its hospitals (the first two and the last), at most `patients` each, `rounds` rounds, one
 * local epoch, no baselines; whatever names a dropped hospital goes with it.
 */
function shrunk(json: Json, patients: number, rounds: number): { [key: string]: Json } {
  const s = structuredClone(json) as { [key: string]: Json };
  delete s.sweep;
  s.rounds = rounds;
  s.baselines = [];
  const all = s.hospitals as { [key: string]: Json }[];
  const kept = all.length <= 3 ? all : [all[0]!, all[1]!, all[all.length - 1]!];
  const dropped = new Set(all.filter((h) => !kept.includes(h)).map((h) => h.id as string));
  s.hospitals = kept;
  for (const h of kept) if (typeof h.patients === 'number') h.patients = Math.min(h.patients, patients);
  if (typeof s.minClients === 'number') s.minClients = Math.min(s.minClients, kept.length);
  (s.training as { [key: string]: Json }).localEpochs = 1;
  const model = s.model as { kind: string };
  if (model.kind !== 'cnn') s.backend = 'js';
  return withoutHospitals(s, dropped) as { [key: string]: Json };
}

/** `v` without the keys, strings and `{ hospital }` entries that name a hospital in `ids`. */
function withoutHospitals(v: Json, ids: ReadonlySet<string>): Json {
  if (Array.isArray(v))
    return v
      .filter((x) => !(typeof x === 'string' && ids.has(x)))
      .filter(
        (x) => !(x !== null && typeof x === 'object' && !Array.isArray(x) && ids.has(x.hospital as string)),
      )
      .map((x) => withoutHospitals(x, ids));
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k]) => !ids.has(k))
        .map(([k, x]) => [k, withoutHospitals(x, ids)]),
    );
  return v;
}

const STRATEGIES = [
  'fedavg',
  'fedadam',
  'fedyogi',
  'fedadagrad',
  'fedavgm',
  'fedprox',
  'fedmedian',
  'fedtrimmedavg',
];

/** Valid variants of the shipped scenarios: another seed, learning rate, batch size, strategy, odd names. */
const variation = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  rounds: fc.integer({ min: 1, max: 2 }),
  patients: fc.integer({ min: 30, max: 60 }),
  learningRate: fc.double({ min: 0.001, max: 0.5, noNaN: true }),
  batchSize: fc.integer({ min: 4, max: 64 }),
  strategy: fc.nat(STRATEGIES.length - 1),
  name: fc.string({ unit: 'grapheme', maxLength: 20 }),
});

type Variation = typeof variation extends fc.Arbitrary<infer T> ? T : never;

/** `base` made small (see {@link shrunk}) and varied by `c`: seed, rounds, patients, training and strategy. */
function variant(base: (typeof shipped)[number], c: Variation) {
  const json = shrunk(base.json, c.patients, c.rounds);
  json.seed = c.seed;
  const training = json.training as { [key: string]: Json };
  training.learningRate = c.learningRate;
  training.batchSize = c.batchSize;
  const strategy = json.strategy as { name: string };
  if (json.privacy === undefined && strategy.name === 'fedavg') {
    const name = STRATEGIES[c.strategy]!;
    json.strategy = {
      name,
      fractionFit: 1,
      fractionEvaluate: 1,
      ...(name === 'fedprox' ? { proximalMu: 0.1 } : {}),
    };
  }
  (json.hospitals as { [key: string]: Json }[])[0]!.name = c.name === '' ? 'x' : c.name;
  return { name: base.name, rounds: c.rounds, json };
}
