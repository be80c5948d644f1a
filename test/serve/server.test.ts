import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FeedEvent } from '../../src/serve/events.ts';
import { allowedHosts, SCENARIOS_DIR, startServer } from '../../src/serve/server.ts';
import { InputError } from '../../src/scenario/load.ts';
import { RunFolder } from '../../src/server/outputs/run-folder.ts';
import { DASHBOARD_LIMITS } from '../../src/serve/limits.ts';
import { fedmed } from '../helpers/cli.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Reads a session's server-sent events until `until` holds for one of them (or the stream ends). */
async function readFeed(url: string, until: (e: FeedEvent) => boolean): Promise<FeedEvent[]> {
  const response = await fetch(url);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: FeedEvent[] = [];
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return events;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data === undefined || block.startsWith('event: end')) continue;
      const event = JSON.parse(data.slice(6)) as FeedEvent;
      events.push(event);
      if (until(event)) {
        await reader.cancel();
        return events;
      }
    }
  }
}

describe('fedmed serve', () => {
  it('stops its run cleanly when the server stops, keeping the finished rounds', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'fedmed-serve-stop-'));
    made.push(runs);
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      runsDir: runs,
      scenariosDir: SCENARIOS_DIR,
      workers: 2,
      timeoutMs: 600_000,
    });
    const started = await fetch(new URL('/api/runs', server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ file: 'quickstart.json', backend: 'js', msPerMessage: 60 }),
    });
    expect(started.status).toBe(202);
    const { session } = (await started.json()) as { session: string };
    const events = new URL(`/api/sessions/${session}/events`, server.url).href;
    await readFeed(events, (e) => e.type === 'round' && e.round === 2);
    const [feed] = await Promise.all([readFeed(events, (e) => e.type === 'done'), server.close()]);
    const done = feed.at(-1)!;
    expect(done).toMatchObject({ type: 'done', status: 'stopped' });
    if (done.type !== 'done') return;
    expect(done.roundsCompleted).toBeGreaterThanOrEqual(2);
    expect(done.roundsCompleted).toBeLessThan(10);
    expect(done.detail).toContain('the server stopped');
    const kept = / kept in (\S+)$/.exec(done.detail ?? '')?.[1] ?? join(runs, 'quickstart-seed1');
    const lines = readFileSync(join(kept, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { round: number }).round)).toEqual(
      Array.from({ length: done.roundsCompleted }, (_, i) => i + 1),
    );
    expect(existsSync(join(kept, 'scenario.json'))).toBe(true);
  });

  it('refuses a bad --host and a port in use with exit 2, naming the flag', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const inUse = fedmed(['serve', '--port', String(port)]);
      expect(inUse.code).toBe(2);
      expect(inUse.stderr).toContain(`--port ${port}: another program already listens there`);
    } finally {
      busy.close();
    }
    const badHost = fedmed(['serve', '--host', 'dashboard.example', '--port', '0']);
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toContain('--host "dashboard.example": expected an IP address of this machine');
    expect(badHost.stderr).not.toMatch(/\n\s+at /);
    // An address this machine does not have (TEST-NET-1): refused when binding, before any request is sent.
    await expect(
      startServer({
        host: '192.0.2.1',
        port: 0,
        runsDir: tmpdir(),
        scenariosDir: SCENARIOS_DIR,
        timeoutMs: 1000,
      }),
    ).rejects.toThrow(InputError);
  });

  it("bound to every address, accepts only the machine's own names as Host (DNS rebinding is refused)", () => {
    const hosts = allowedHosts('0.0.0.0', 8080);
    expect(hosts.has('127.0.0.1:8080')).toBe(true);
    expect(hosts.has('localhost:8080')).toBe(true);
    expect(hosts.has(`${hostname().toLowerCase()}:8080`)).toBe(true);
    expect(hosts.has('attacker.example:8080')).toBe(false);
    expect(allowedHosts('127.0.0.1', 8080).has('attacker.example:8080')).toBe(false);
  });

  it('treats uploads as hostile: no files, bounded work and size, no other origin, one run per folder', async () => {
    const runs = mkdtempSync(join(tmpdir(), 'fedmed-serve-hostile-'));
    made.push(runs);
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      runsDir: runs,
      scenariosDir: SCENARIOS_DIR,
      timeoutMs: 60_000,
    });
    const quickstart = JSON.parse(readFileSync(join(SCENARIOS_DIR, 'quickstart.json'), 'utf8')) as {
      hospitals: Record<string, unknown>[];
    } & Record<string, unknown>;
    const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
      const r = await fetch(new URL(path, server.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
      return { status: r.status, data: (await r.json()) as { issues?: { path: string }[]; error?: string } };
    };
    const paths = async (scenario: unknown) =>
      (await post('/api/check', JSON.stringify({ scenario }))).data.issues?.map((i) => i.path);
    try {
      const [first, ...rest] = quickstart.hospitals;
      expect(
        await paths({
          ...quickstart,
          strategy: { name: 'custom', module: '/etc/passwd' },
          hospitals: [{ ...first, source: { kind: 'csv', path: '../../../../etc/passwd' } }, ...rest],
          diagnostics: { hospitalLogDir: 'logs' },
          faults: [{ hospital: 'kr-seoul-1', behaviour: 'hang' }],
        }),
      ).toEqual(
        expect.arrayContaining([
          '$.strategy.name',
          '$.hospitals[0].source.kind',
          '$.diagnostics.hospitalLogDir',
        ]),
      );
      expect(await paths({ ...quickstart, faults: [{ hospital: 'kr-seoul-1', behaviour: 'hang' }] })).toEqual(
        ['$.faults[0].behaviour'],
      );
      const many = Array.from({ length: DASHBOARD_LIMITS.hospitals + 1 }, (_, i) => ({
        ...first,
        id: `h-${i}`,
        patients: DASHBOARD_LIMITS.patientsPerHospital + 1,
      }));
      const big = await paths({ ...quickstart, rounds: DASHBOARD_LIMITS.rounds + 1, hospitals: many });
      expect(big).toEqual(expect.arrayContaining(['$.rounds', '$.hospitals', '$.hospitals[0].patients']));
      expect(await paths(quickstart)).toEqual([]);

      const huge = await post(
        '/api/check',
        JSON.stringify({ scenario: 'x'.repeat(DASHBOARD_LIMITS.bodyBytes) }),
      );
      expect(huge.status).toBe(413);
      expect(huge.data.issues?.[0]?.path).toBe('$');
      const deep = await post('/api/check', `{"scenario":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
      expect(deep.status).toBe(200);
      expect(deep.data.issues?.[0]?.path).toBe('$');
      const poisoned = await post('/api/check', '{"scenario":{"__proto__":{"polluted":true}}}');
      expect(poisoned.status).toBe(400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();

      const foreign = await post('/api/runs', JSON.stringify({ file: 'quickstart.json' }), {
        origin: 'http://attacker.example',
      });
      expect(foreign.status).toBe(403);
      const rebound = await new Promise<number>((done, fail) => {
        const { hostname, port } = new URL(server.url);
        const req = request({
          hostname,
          port,
          path: '/api/catalogue',
          headers: { host: 'attacker.example' },
        });
        req.on('response', (res) => {
          res.resume();
          done(res.statusCode ?? 0);
        });
        req.on('error', fail);
        req.end();
      });
      expect(rebound).toBe(421);

      // A `fedmed run` into the same folder holds its lock: the page is told, and nothing starts.
      const held = RunFolder.open(join(runs, 'quickstart-seed1'));
      try {
        const refused = await post('/api/runs', JSON.stringify({ file: 'quickstart.json', backend: 'js' }));
        expect(refused.status).toBe(409);
        expect(refused.data.error).toContain(`process ${process.pid}`);
      } finally {
        held.discard();
      }
    } finally {
      await server.close();
    }
  });
});
