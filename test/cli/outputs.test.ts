import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stream } from '../../src/common/rng.ts';
import { applyOverrides, loadScenario, scenarioHash } from '../../src/scenario/load.ts';
import { fedmed, startFedmed, type RunningCli } from '../helpers/cli.ts';

/** Three small hospitals, logistic regression on backend js: a run takes well under a second of training. */
const tiny = {
  name: 'outputs',
  seed: 1,
  rounds: 3,
  minClients: 2,
  backend: 'js',
  coordinator: { site: 'KR' },
  data: { kind: 'synthetic-cohort' },
  hospitals: [
    { id: 'kr-1', country: 'KR', patients: 80 },
    { id: 'kr-2', country: 'KR', patients: 60 },
    { id: 'cn-1', country: 'CN', patients: 70 },
  ],
  model: { kind: 'logistic' },
};

function study(changes: Record<string, unknown> = {}): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedmed-outputs-'));
  const file = join(dir, 'scenario.json');
  writeFileSync(file, JSON.stringify({ ...tiny, ...changes }));
  return { dir, file };
}

/** One worker thread: these tests are about folders, and each thread costs a CLI start seconds of CPU. */
const run = (file: string, out: string, ...more: string[]) =>
  fedmed(['run', file, '--out', out, '--quiet', '--baselines', '', '--workers', '1', ...more]);

const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;

/** The store beside an output folder and the run folders in it. */
const store = (out: string) => join(dirname(out), `.${basename(out)}.fedmed`);
const runsIn = (out: string) =>
  existsSync(store(out)) ? readdirSync(store(out)).filter((e) => e.startsWith('run-')) : [];

/** Time allowed to a test that starts the CLI several times: minutes on a busy 2-core machine. */
const SPAWNS = 300_000;

/** Files every whole run folder holds. */
const WHOLE = [
  'scenario.json',
  'manifest.json',
  'metrics.jsonl',
  'crossings.jsonl',
  'summary.json',
  'model/parameters.f32',
];

/** The pid in the lock of an output folder, if any. */
function lockedBy(out: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(join(store(out), 'lock'), 'utf8')) as { pid: number }).pid;
  } catch {
    return undefined;
  }
}

/** The scenario hash a run of `file` with `--seed seed --baselines ''` records. */
const hashOf = (file: string, seed: number) =>
  scenarioHash(applyOverrides(loadScenario(file), { seed, baselines: [] }));

/** Resolves when `condition` holds, polling every few milliseconds. */
async function until(condition: () => boolean, what: string, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('README "Outputs of a run": each guarantee', () => {
  it('an existing folder that is not a fedmed run is refused (exit 2) before any work; its files stay', () => {
    const { dir, file } = study();
    const mine = join(dir, 'analysis');
    mkdirSync(mine);
    writeFileSync(join(mine, 'analysis.R'), 'summary(fit)\n');
    const r = run(file, mine);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out .*analysis: holds files that are not a fedmed run \(analysis\.R\)/);
    expect(readdirSync(mine)).toEqual(['analysis.R']);
    expect(existsSync(store(mine))).toBe(false);
  });

  it(
    "a crafted earlier run cannot point fedmed at files outside it: its marker's '..' and absolute entries and a linked folder are ignored",
    () => {
      const { dir, file } = study();
      const out = join(dir, 'out');
      const elsewhere = join(dir, 'elsewhere');
      mkdirSync(out);
      mkdirSync(elsewhere);
      writeFileSync(join(dir, 'victim.txt'), 'precious\n');
      writeFileSync(join(elsewhere, 'parameters.f32'), 'precious\n');
      writeFileSync(join(out, 'manifest.json'), JSON.stringify({ fedmed: '0.0.9', scenarioSha256: 'abc' }));
      const absolute = join(dir, 'victim.txt');
      writeFileSync(
        join(out, '.fedmed-run'),
        JSON.stringify({
          fedmed: '0.0.9',
          pid: 1,
          startedAt: '',
          command: '',
          files: ['../victim.txt', absolute],
        }),
      );
      symlinkSync(elsewhere, join(out, 'model'));
      const r = run(file, out);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(join(dir, 'victim.txt'), 'utf8')).toBe('precious\n');
      expect(readFileSync(join(elsewhere, 'parameters.f32'), 'utf8')).toBe('precious\n');
      expect(manifest(out).status).toBe('completed');
    },
    SPAWNS,
  );

  it(
    'a rerun replaces the earlier run; files the user put into it are kept beside, and stderr says where',
    () => {
      const { dir, file } = study();
      const out = join(dir, 'out');
      expect(run(file, out).code).toBe(0);
      const first = manifest(out).scenarioSha256;
      writeFileSync(join(out, 'notes.txt'), 'my notes\n');
      const second = run(file, out, '--seed', '2');
      expect(second.code).toBe(0);
      expect(manifest(out).scenarioSha256).not.toBe(first);
      expect(manifest(out).status).toBe('completed');
      const kept = readdirSync(dir).filter((e) => e.startsWith('out.kept-'));
      expect(kept).toHaveLength(1);
      expect(readFileSync(join(dir, kept[0]!, 'notes.txt'), 'utf8')).toBe('my notes\n');
      expect(readdirSync(join(dir, kept[0]!))).toEqual(['notes.txt']);
      expect(second.stderr).toContain(`fedmed: kept ${join(dir, kept[0]!)}`);
      expect(runsIn(out)).toEqual([basename(readlinkSync(out))]);
    },
    SPAWNS,
  );

  it(
    'killed (SIGKILL) at seeded moments, --out always holds the earlier run or the new one, whole',
    async () => {
      const { dir, file } = study();
      const out = join(dir, 'out');
      expect(run(file, out).code).toBe(0);
      const rng = stream(20, 'test', 'kill-moments');
      const staging = () => runsIn(out).filter((r) => r !== basename(readlinkSync(out)));
      const roundWritten = () =>
        staging().some((r) => {
          const m = join(store(out), r, 'metrics.jsonl');
          return existsSync(m) && statSync(m).size > 0;
        });
      const manifestWritten = () => staging().some((r) => existsSync(join(store(out), r, 'manifest.json')));
      const moments: [string, (pid: number) => boolean][] = [
        ['lock taken', (pid) => lockedBy(out) === pid],
        ['first round written', roundWritten],
        ['manifest written, commit next', manifestWritten],
      ];
      let killedHolding: number | undefined;
      let leftover = false;
      for (const [k, [what, event]] of moments.entries()) {
        const seed = 10 + k;
        const earlier = manifest(out).scenarioSha256;
        const args = ['run', file, '--out', out, '--quiet', '--baselines', '', '--seed', String(seed)];
        const r: RunningCli = startFedmed(args);
        await until(() => event(r.child.pid!) || r.child.exitCode !== null, what);
        await new Promise((res) => setTimeout(res, Math.floor(rng.next() * 20)));
        r.child.kill('SIGKILL');
        const ended = await r.done;
        // The run after a kill that left its lock and records took the lock over and removed the records.
        if (killedHolding !== undefined) {
          expect(ended.stderr).toContain(`took over the lock of process ${killedHolding}`);
        }
        if (leftover) {
          expect(ended.stderr).toMatch(/removed .*the unfinished records of an earlier run \(process \d+\)/);
        }
        killedHolding = lockedBy(out) === r.child.pid ? r.child.pid : undefined;
        leftover = staging().length > 0;
        const m = manifest(out);
        expect(m.status).toBe('completed');
        expect([earlier, hashOf(file, seed)]).toContain(m.scenarioSha256);
        for (const f of WHOLE) expect(existsSync(join(out, f)), `${f} after a kill at "${what}"`).toBe(true);
      }
      expect(run(file, out, '--seed', '99').code).toBe(0);
      expect(manifest(out).scenarioSha256).toBe(hashOf(file, 99));
      expect(runsIn(out)).toEqual([basename(readlinkSync(out))]);
      expect(lockedBy(out)).toBeUndefined();
    },
    SPAWNS,
  );

  it(
    'one run at a time per --out: a second exits 2 naming the holder, the first finishes',
    async () => {
      const { dir, file } = study();
      const out = join(dir, 'out');
      // Each round of the first run stalls, so it still holds the lock when the second starts.
      const first = startFedmed(['run', file, '--out', out, '--quiet', '--baselines', '', '--workers', '1'], {
        FEDMED_TEST_STALL_MS: '1500',
      });
      await until(() => lockedBy(out) === first.child.pid, 'the lock');
      const second = run(file, out);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(
        new RegExp(`--out ${out} is in use by another fedmed run: process ${first.child.pid} on `),
      );
      expect((await first.done).code).toBe(0);
      expect(manifest(out).status).toBe('completed');
    },
    SPAWNS,
  );

  it(
    'SIGTERM stops the run after its round, keeps it resumable beside the store, exits 143 and leaves the earlier run in place',
    async () => {
      const { dir, file } = study();
      const out = join(dir, 'out');
      expect(run(file, out).code).toBe(0);
      const before = readlinkSync(out);
      const r = startFedmed([
        'run',
        file,
        '--out',
        out,
        '--quiet',
        '--baselines',
        '',
        '--workers',
        '1',
        '--seed',
        '3',
      ]);
      await until(() => runsIn(out).length === 2 || r.child.exitCode !== null, 'the new run folder');
      r.child.kill('SIGTERM');
      const ended = await r.done;
      expect(ended.code).toBe(143);
      expect(ended.stderr).toMatch(/SIGTERM: stopping after the current round/);
      expect(ended.stderr).toMatch(
        /continue it with: fedmed run --resume .*\n.* still holds the earlier run/,
      );
      expect(readlinkSync(out)).toBe(before);
      expect(runsIn(out)).toHaveLength(2);
      expect(existsSync(join(store(out), 'lock'))).toBe(false);
    },
    SPAWNS,
  );

  it(
    'an internal error (exit 1) keeps the unfinished records and names them; the next run removes them, saying so',
    () => {
      const { dir, file } = study({ strategy: { name: 'custom', module: 'broken.mjs' } });
      writeFileSync(
        join(dir, 'broken.mjs'),
        `export function createStrategy({ toolkit, base }) {
  class Broken extends toolkit.FedAvg {
    aggregateFit(round, global, results, failures) {
      if (round === 2) throw new Error('a bug in round 2');
      return super.aggregateFit(round, global, results, failures);
    }
  }
  return new Broken(base);
}
`,
      );
      const out = join(dir, 'out');
      const r = run(file, out);
      expect(r.code).toBe(1);
      const kept = /the unfinished records of this run are kept in (\S+)\n/.exec(r.stderr)?.[1];
      expect(kept).toBeDefined();
      expect(readFileSync(join(kept!, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
      const next = run(study().file, out);
      expect(next.code).toBe(0);
      expect(next.stderr).toContain(`removed ${kept}, the unfinished records of an earlier run`);
      expect(existsSync(kept!)).toBe(false);
    },
    SPAWNS,
  );

  it('a sweep, bench or generate folder holding files fedmed did not write is refused before any work', () => {
    const { dir, file } = study();
    const mine = join(dir, 'data');
    mkdirSync(mine);
    writeFileSync(join(mine, 'cohort.csv'), 'id\n');
    const r = fedmed(['generate', file, '--out', mine]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--out .*data: holds files fedmed did not write \(cohort\.csv\)/);
    expect(readdirSync(mine)).toEqual(['cohort.csv']);
  });

  it(
    'a stopped run (exit 3) keeps its rounds and goes beside a completed run, never over it',
    () => {
      const { dir, file } = study();
      const out = join(dir, 'out');
      expect(run(file, out).code).toBe(0);
      const completed = manifest(out).scenarioSha256;
      const faulty = study({
        faults: [
          { hospital: 'kr-1', behaviour: 'nan-parameters', rounds: [2] },
          { hospital: 'kr-2', behaviour: 'nan-parameters', rounds: [2] },
        ],
      });
      const r = run(faulty.file, out);
      expect(r.code).toBe(3);
      expect(manifest(out).scenarioSha256).toBe(completed);
      const stopped = manifest(`${out}.stopped`);
      expect(stopped.status).toBe('stopped');
      expect(stopped.roundsCompleted).toBe(1);
      expect(stopped.stopReason).toMatch(/^round 2: 1 valid fit replies, fewer than minClients = 2/);
      expect(r.stderr).toContain(
        `its 1 completed rounds are in ${out}.stopped (${out} still holds the earlier completed run)`,
      );
    },
    SPAWNS,
  );

  it('a worker that hangs in round 3: its thread is replaced and the run goes on without it that round', () => {
    const { dir, file } = study({
      faults: [{ hospital: 'cn-1', behaviour: 'hang', rounds: [3] }],
      rounds: 4,
    });
    const out = join(dir, 'out');
    const r = run(file, out, '--timeout', '5', '--workers', '3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rounds = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { fit: { admitted: string[] }; faults?: { handled: string }[] });
    expect(rounds.map((l) => l.fit.admitted.length)).toEqual([3, 3, 2, 3]);
    expect(rounds[2]!.faults).toEqual([
      expect.objectContaining({
        hospital: 'cn-1',
        kind: 'hang',
        // Threads are balanced by patients, largest first: kr-1 (80) on 0, cn-1 (70) on 1, kr-2 (60) on 2.
        handled: 'thread 1 replaced and its hospitals set up again; cn-1 dropped out of the round',
      }),
    ]);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary.faults).toEqual({ injected: { hang: 1 }, dropouts: 1, threadsReplaced: 1 });
  });

  it('a worker that hangs when every hospital is needed: rounds 1–2 are kept, exit 4', () => {
    const { dir, file } = study({
      faults: [{ hospital: 'cn-1', behaviour: 'hang', rounds: [3] }],
      minClients: 3,
    });
    const out = join(dir, 'out');
    const started = Date.now();
    const r = run(file, out, '--timeout', '5');
    expect(r.code).toBe(4);
    expect(Date.now() - started).toBeLessThan(90_000);
    const m = manifest(out);
    expect(m.status).toBe('stopped');
    expect(m.roundsCompleted).toBe(2);
    expect(m.stopReason).toMatch(
      /^round 3: 2 valid fit replies, fewer than minClients = 3; hospital cn-1: no answer for fit-request at hospital cn-1 within 5 s of real time; it dropped out of the round/,
    );
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it("--timeout 1 guards each call, not the threads' start-up", () => {
    const { dir, file } = study({ rounds: 1 });
    const r = run(file, join(dir, 'out'), '--timeout', '1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('an output folder whose parent cannot be written is exit 2 naming it, without a stack trace', () => {
    const { dir, file } = study();
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o555 });
    // root ignores permissions; /sys refuses new folders even to root
    const parent = process.getuid?.() === 0 ? '/sys/fedmed-test' : locked;
    const r = run(file, join(parent, 'out'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`--out ${resolve(parent, 'out')}: cannot create .*\\((permission denied|EROFS|not found)`),
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
