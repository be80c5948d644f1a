import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeStored, encodeStored, type Stored } from '../../src/server/checkpoint/codec.ts';
import { ROOT, startFedmed } from '../helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-resume-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const scenario = join(ROOT, 'test/fixtures/resume/tiny-fedadam.json');
const run = (args: readonly string[], env: Record<string, string> = {}) =>
  startFedmed([...args, '--workers', '1', '--quiet'], env).done;
const manifest = (out: string) =>
  JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
    finalModelSha256: string;
    status: string;
  };

/** Every file under `folder` (links as their targets' names) with its SHA-256: what "nothing changed" means. */
function snapshot(folder: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    if (e.isSymbolicLink()) out[path] = `-> ${readlinkSync(path)}`;
    else if (e.isFile()) out[path] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

const storeRun = (out: string) => {
  const store = join(dir, `.${out.split('/').pop()!}.fedmed`);
  const runs = readdirSync(store).filter((e) => e.startsWith('run-'));
  return runs.map((r) => join(store, r));
};

async function waitFor(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((r) => setTimeout(r, 50));
}

describe('Ctrl-C and --resume', () => {
  const out = join(dir, 'out');
  let earlier: Record<string, string>;
  let reference: string;

  beforeAll(async () => {
    const first = await run(['run', scenario, '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    reference = manifest(out).finalModelSha256;
    earlier = snapshot(dir);
  }, 120_000);

  it('a first SIGINT stops after the round, resumable; the earlier completed run stays untouched; --resume completes it', async () => {
    const cli = startFedmed(['run', scenario, '--out', out, '--workers', '1', '--quiet'], {
      FEDMED_TEST_STALL_MS: '300',
    });
    await waitFor(() => storeRun(out).some((r) => existsSync(join(r, 'checkpoint.bin'))));
    cli.child.kill('SIGINT');
    const stopped = await cli.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain('stopping after the current round');
    expect(stopped.stderr).toContain(`fedmed run --resume ${out}`);
    expect(stopped.stderr).not.toMatch(/\n\s+at /);
    // The earlier run is exactly as it was; the interrupted one waits beside it in the store.
    for (const [path, hash] of Object.entries(earlier)) expect(snapshot(dir)[path]).toBe(hash);
    expect(manifest(out).finalModelSha256).toBe(reference);

    const resumed = await run(['run', '--resume', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .* after round \d/);
    expect(manifest(out).finalModelSha256).toBe(reference);
    expect(existsSync(join(out, 'checkpoint.bin'))).toBe(false);
  }, 120_000);

  it('a second SIGINT stops at once, still resumable from the last checkpoint', async () => {
    const cli = startFedmed(['run', scenario, '--out', out, '--workers', '1', '--quiet'], {
      FEDMED_TEST_STALL_MS: '1500',
    });
    await waitFor(() => storeRun(out).some((r) => existsSync(join(r, 'checkpoint.bin'))));
    cli.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 100));
    cli.child.kill('SIGINT');
    const stopped = await cli.done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toContain(`continue it with: fedmed run --resume ${out}`);
    const resumed = await run(['run', scenario, '--resume', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(manifest(out).finalModelSha256).toBe(reference);
  }, 120_000);

  describe('a resume that cannot be trusted exits 2 and changes nothing', () => {
    const killed = join(dir, 'killed');
    let checkpoint: string;
    let pristine: Buffer;

    beforeAll(async () => {
      const r = await run(['run', scenario, '--out', killed], { FEDMED_TEST_KILL_AT: 'aggregate:3' });
      expect(r.signal, r.stderr).toBe('SIGKILL');
      checkpoint = join(storeRun(killed)[0]!, 'checkpoint.bin');
      pristine = readFileSync(checkpoint);
    }, 120_000);

    async function refused(args: readonly string[], message: RegExp): Promise<void> {
      const before = snapshot(dir);
      const r = await run(args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(snapshot(dir)).toEqual(before);
    }

    it('a changed scenario (another seed, another strategy setting)', async () => {
      await refused(
        ['run', scenario, '--resume', killed, '--seed', '4'],
        /scenario differs .*seed 4, the run's 3/,
      );
      const changed = join(dir, 'changed.json');
      const json = JSON.parse(readFileSync(scenario, 'utf8')) as { strategy: { eta: number } };
      json.strategy.eta = 0.01;
      writeFileSync(changed, JSON.stringify(json));
      await refused(['run', changed, '--resume', killed], /scenario differs .*SHA-256/);
    }, 60_000);

    it('a checkpoint of another fedmed version', async () => {
      const v = decodeStored(pristine) as { [k: string]: Stored };
      writeFileSync(checkpoint, encodeStored({ ...v, fedmed: '0.0.9' }));
      await refused(['run', '--resume', killed], /written by fedmed 0\.0\.9, this is fedmed/);
      writeFileSync(checkpoint, pristine);
    }, 60_000);

    it('a corrupt checkpoint: a flipped byte, a truncated file', async () => {
      const flipped = Buffer.from(pristine);
      flipped[flipped.length >> 1]! ^= 0x40;
      writeFileSync(checkpoint, flipped);
      await refused(['run', '--resume', killed], /corrupt checkpoint: its checksum does not match/);
      writeFileSync(checkpoint, pristine.subarray(0, 40));
      await refused(['run', scenario, '--resume', killed], /corrupt checkpoint/);
      writeFileSync(checkpoint, pristine);
    }, 60_000);

    it('a checkpoint whose model does not fit the run (10 parameters, or a NaN) exits 2, not 1', async () => {
      const v = decodeStored(pristine) as { [k: string]: Stored };
      const state = v.state as { [k: string]: Stored };
      const model = state.model as Float32Array;
      for (const forged of [model.slice(0, 10), Float32Array.from(model, (x, i) => (i === 0 ? NaN : x))]) {
        writeFileSync(checkpoint, encodeStored({ ...v, state: { ...state, model: forged } }));
        const r = await run(['run', '--resume', killed]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(/finite parameters, as the run's model has/);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
      writeFileSync(checkpoint, pristine);
    }, 120_000);

    it('a metrics.jsonl whose earlier rounds were edited (same length) is refused, changing nothing', async () => {
      const metrics = join(storeRun(killed)[0]!, 'metrics.jsonl');
      const honest = readFileSync(metrics);
      const text = honest.toString('utf8');
      const at = text.indexOf('"round":1') + 8;
      writeFileSync(metrics, text.slice(0, at) + '7' + text.slice(at + 1));
      await refused(
        ['run', '--resume', killed],
        /metrics\.jsonl: its rounds differ from those the checkpoint recorded/,
      );
      writeFileSync(metrics, honest);
    }, 60_000);

    it('nothing to resume: a completed run', async () => {
      await refused(['run', '--resume', out], /no interrupted run to resume there/);
    }, 60_000);
  });
});
