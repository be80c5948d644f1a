import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { InputError } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { FEDMED_VERSION } from '../server/outputs/version.ts';
import { renderReport } from '../report/write-report.ts';
import { clientBundle } from './bundle.ts';
import type { Catalogue, FeedEvent, FieldIssue } from './events.ts';
import { fontCss, fontFile } from './fonts.ts';
import { DASHBOARD_CSS, dashboardPage } from './page.ts';
import {
  applyChoices,
  BACKEND_CHOICES,
  shippedScenarios,
  STRATEGIES,
  validateScenario,
} from './scenarios.ts';
import { DASHBOARD_LIMITS } from './limits.ts';
import { MAX_PACE_MS } from './session.ts';
import { Busy, Sessions } from './sessions.ts';
import { asScenarioFile, siteViews } from './views.ts';
import { defaultThreads } from '../server/thread-count.ts';

/** How `fedmed serve` runs. */
export interface ServeOptions {
  readonly host: string;
  /** 0 lets the system choose a free port. */
  readonly port: number;
  /** Folder of run folders: live runs write here, replays read from here. */
  readonly runsDir: string;
  /** Folder of the shipped scenarios the page offers. */
  readonly scenariosDir: string;
  /** Most worker threads per run (default: the cores, at most one per hospital). */
  readonly workers?: number;
  /** Real-time guard on each call to a worker, in milliseconds. */
  readonly timeoutMs: number;
}

/** A running dashboard. */
export interface DashboardServer {
  /** Where it listens, such as http://127.0.0.1:8080/. */
  readonly url: string;
  /** Stops every run (finished rounds kept), ends every page's feed, and closes the server. */
  close(): Promise<void>;
}

/** Everything the dashboard loads comes from this server: the CSP refuses any other origin. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** The report's own policy: it loads nothing. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:";

/** Event streams open at once (each page holds two). */
const MAX_STREAMS = 128;

const FOLDER = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,254}$/;

/** The host to bind: an IP address or `localhost`; anything else is bad input naming `--host`. */
export function checkHost(host: string): void {
  if (host !== 'localhost' && isIP(host) === 0)
    throw new InputError(
      `--host ${JSON.stringify(host)}: expected an IP address of this machine, such as 127.0.0.1 (the default), or localhost`,
    );
}

/** Starts the dashboard; a port in use or an address this machine does not have is an InputError. */
export async function startServer(options: ServeOptions): Promise<DashboardServer> {
  checkHost(options.host);
  const runsDir = resolve(options.runsDir);
  const sessions = new Sessions();
  const streams = new Set<ServerResponse>();
  const script = await clientBundle();
  const fonts = fontCss();
  const app = Fastify({ logger: false, bodyLimit: DASHBOARD_LIMITS.bodyBytes });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  // Another site's page in the presenter's browser may not drive the dashboard: a Host that is not this server
  // (DNS rebinding) or a POST from another origin is refused before any route runs.
  const allowed: { hosts?: ReadonlySet<string> } = {};
  app.addHook('onRequest', async (req, reply) => {
    const host = req.headers.host ?? '';
    if (allowed.hosts !== undefined && !allowed.hosts.has(host.toLowerCase()))
      return reply.code(421).send({ error: `Host ${JSON.stringify(host)}: not this dashboard's address` });
    const origin = req.headers.origin;
    if (req.method !== 'GET' && origin !== undefined && origin !== `http://${host}`)
      return reply.code(403).send({ error: `Origin ${JSON.stringify(origin)}: not this dashboard` });
  });
  app.setErrorHandler(async (error: FastifyError, _req, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      process.stderr.write(`fedmed serve: ${error.stack ?? error.message}\n`);
      return reply.code(500).send({ error: 'internal error (see the server’s terminal)' });
    }
    const message =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `the request is larger than the dashboard's limit of ${DASHBOARD_LIMITS.bodyBytes} bytes`
        : error.message;
    return reply.code(status).send({ error: message, issues: [{ path: '$', message }] });
  });
  routes(app, { ...options, runsDir }, sessions, streams, { script, fonts });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await app.close().catch(() => undefined);
    throw listenError(e, options);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  allowed.hosts = allowedHosts(options.host, port);
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      (closing ??= (async () => {
        await sessions.stopAll('the server stopped');
        for (const s of streams) s.end();
        await app.close();
      })()),
  };
}

/**
 * The Host headers a request may carry: the bound address and, on a loopback address, the machine's own
 * names for it. Bound to every address (0.0.0.0, ::), the machine's interface addresses, its host name and
 * the loopback names: a page that rebinds another name to this machine is still refused.
 */
export function allowedHosts(bound: string, port: number): ReadonlySet<string> {
  const wildcard = bound === '0.0.0.0' || bound === '::';
  const loopback = wildcard || bound === 'localhost' || bound === '::1' || bound.startsWith('127.');
  const names = [
    ...(wildcard ? [] : [bound]),
    ...(loopback ? ['localhost', '127.0.0.1', '::1'] : []),
    ...(wildcard
      ? [
          hostname(),
          ...Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
        ]
      : []),
  ];
  return new Set(names.map((n) => `${n.includes(':') ? `[${n}]` : n}:${port}`.toLowerCase()));
}

function listenError(e: unknown, options: ServeOptions): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new InputError(
      `--port ${options.port}: another program already listens there on ${options.host}; choose another with --port`,
    );
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new InputError(`--host ${options.host}: not an address of this machine`);
  if (code === 'EACCES')
    return new InputError(
      `--port ${options.port}: not allowed to listen there (ports below 1024 need privileges)`,
    );
  return e instanceof Error ? e : new Error(String(e));
}

interface Assets {
  readonly script: string;
  readonly fonts: string;
}

function preview(s: Scenario) {
  return {
    name: s.name,
    description: s.description ?? '',
    seed: s.seed,
    rounds: s.rounds,
    strategy: s.strategy.name,
    backend: s.backend,
    baselines: s.baselines,
    hospitals: siteViews(asScenarioFile(s)),
  };
}

/** The run folders under the runs folder, by name, with their status and rounds. */
function runFolders(runsDir: string): Catalogue['runs'] {
  if (!existsSync(runsDir)) return [];
  const out: { folder: string; status: string; rounds: number }[] = [];
  for (const name of readdirSync(runsDir).sort()) {
    const manifest = join(runsDir, name, 'manifest.json');
    if (!FOLDER.test(name) || !existsSync(manifest)) continue;
    try {
      const m = JSON.parse(readFileSync(manifest, 'utf8')) as { status?: unknown; roundsCompleted?: unknown };
      out.push({
        folder: name,
        status: typeof m.status === 'string' ? m.status : 'unknown',
        rounds: typeof m.roundsCompleted === 'number' ? m.roundsCompleted : 0,
      });
    } catch {
      continue;
    }
  }
  return out;
}

function pace(v: unknown): number | string {
  if (v === undefined) return 0;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_PACE_MS
    ? v
    : `msPerMessage: expected an integer from 0 to ${MAX_PACE_MS}`;
}

/** Opens a server-sent event stream on `reply`, kept until the client leaves or the server closes. */
function openStream(reply: FastifyReply, streams: Set<ServerResponse>): ServerResponse | undefined {
  if (streams.size >= MAX_STREAMS) {
    void reply.code(503).send({ error: `${MAX_STREAMS} pages are already watching; close one` });
    return undefined;
  }
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
  });
  streams.add(raw);
  raw.on('close', () => streams.delete(raw));
  return raw;
}

function routes(
  app: FastifyInstance,
  options: ServeOptions,
  sessions: Sessions,
  streams: Set<ServerResponse>,
  assets: Assets,
): void {
  const { runsDir, scenariosDir } = options;
  const liveOptions = (scenario: Scenario, baseDir: string, msPerMessage: number) => ({
    runsDir,
    baseDir,
    threads: options.workers ?? defaultThreads(scenario.hospitals.length),
    timeoutMs: options.timeoutMs,
    msPerMessage,
  });

  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(dashboardPage(FEDMED_VERSION)),
  );
  app.get('/dashboard.js', async (_req, reply) =>
    reply.type('text/javascript; charset=utf-8').send(assets.script),
  );
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get('/dashboard.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(DASHBOARD_CSS));
  app.get('/fonts.css', async (_req, reply) => reply.type('text/css; charset=utf-8').send(assets.fonts));
  app.get<{ Params: { pkg: string; file: string } }>('/fonts/:pkg/:file', async (req, reply) => {
    const data = fontFile(req.params.pkg, req.params.file);
    if (data === undefined) return reply.code(404).send({ error: 'no such font file' });
    return reply.type('font/woff2').header('cache-control', 'max-age=86400').send(data);
  });

  app.get('/api/catalogue', async (): Promise<Catalogue> => {
    const current = sessions.current;
    return {
      scenarios: shippedScenarios(scenariosDir).map(({ file, scenario: s }) => ({
        file,
        name: s.name,
        description: s.description ?? '',
        rounds: s.rounds,
        seed: s.seed,
        strategy: s.strategy.name,
        backend: s.backend,
        hospitals: s.hospitals.length,
      })),
      strategies: STRATEGIES,
      backends: BACKEND_CHOICES,
      runs: runFolders(runsDir),
      // The JSON around the scenario (choices, quoting) needs a little room under the body limit.
      uploadLimitBytes: DASHBOARD_LIMITS.bodyBytes - 4096,
      ...(current === undefined ? {} : { session: current }),
    };
  });

  const shipped = (file: string): Scenario | undefined =>
    shippedScenarios(scenariosDir).find((s) => s.file === file)?.scenario;

  app.get<{ Params: { file: string } }>('/api/scenarios/:file', async (req, reply) => {
    const s = shipped(req.params.file);
    if (s === undefined) return reply.code(404).send({ error: `no shipped scenario ${req.params.file}` });
    return preview(s);
  });

  app.post<{ Body: { scenario?: unknown } }>('/api/check', async (req) => {
    const checked = validateScenario(req.body?.scenario);
    return 'issues' in checked
      ? { issues: checked.issues }
      : { issues: [] as FieldIssue[], preview: preview(checked.scenario) };
  });

  app.post<{ Body: Record<string, unknown> }>('/api/runs', async (req, reply) => {
    const body = req.body ?? {};
    const ms = pace(body.msPerMessage);
    if (typeof ms === 'string') return reply.code(400).send({ error: ms });
    let base: unknown;
    let baseDir = runsDir;
    if (typeof body.file === 'string') {
      const s = shipped(body.file);
      if (s === undefined) return reply.code(400).send({ error: `file: no shipped scenario ${body.file}` });
      base = JSON.parse(readFileSync(join(scenariosDir, body.file), 'utf8')) as unknown;
      baseDir = scenariosDir;
    } else if (body.scenario !== undefined) base = body.scenario;
    else
      return reply
        .code(400)
        .send({ error: 'expected a shipped scenario (file) or an uploaded one (scenario)' });
    const checked = applyChoices(base, body);
    if ('issues' in checked) return reply.code(400).send({ issues: checked.issues });
    try {
      const session = sessions.startRun(checked.scenario, liveOptions(checked.scenario, baseDir, ms));
      return reply.code(202).send({ session });
    } catch (e) {
      if (e instanceof Busy || e instanceof InputError) return reply.code(409).send({ error: e.message });
      throw e;
    }
  });

  app.post<{ Body: { folder?: unknown; msPerMessage?: unknown } }>('/api/replays', async (req, reply) => {
    const folder = req.body?.folder;
    const ms = pace(req.body?.msPerMessage);
    if (typeof ms === 'string') return reply.code(400).send({ error: ms });
    if (
      typeof folder !== 'string' ||
      !FOLDER.test(folder) ||
      !runFolders(runsDir).some((r) => r.folder === folder)
    )
      return reply.code(400).send({ error: `folder: expected a run folder in ${runsDir}` });
    try {
      return reply.code(202).send({ session: sessions.startReplay(runsDir, folder, ms) });
    } catch (e) {
      if (e instanceof Busy) return reply.code(409).send({ error: e.message });
      if (e instanceof InputError) return reply.code(400).send({ error: e.message });
      throw e;
    }
  });

  app.post<{ Params: { id: string }; Body: { msPerMessage?: unknown } }>(
    '/api/sessions/:id/pace',
    async (req, reply) => {
      const session = sessions.get(req.params.id);
      if (session === undefined) return reply.code(404).send({ error: 'no such session' });
      const ms = pace(req.body?.msPerMessage);
      if (typeof ms === 'string') return reply.code(400).send({ error: ms });
      session.setPace(ms);
      return { msPerMessage: ms };
    },
  );

  app.post<{ Params: { id: string } }>('/api/sessions/:id/stop', async (req, reply) => {
    const session = sessions.get(req.params.id);
    if (session === undefined) return reply.code(404).send({ error: 'no such session' });
    await session.stop('stopped from the dashboard');
    return { stopped: req.params.id };
  });

  app.get<{ Params: { id: string } }>('/api/sessions/:id/events', async (req, reply) => {
    const session = sessions.get(req.params.id);
    if (session === undefined) return reply.code(404).send({ error: 'no such session' });
    const raw = openStream(reply, streams);
    if (raw === undefined) return reply;
    const send = (e: FeedEvent) => raw.write(`data: ${JSON.stringify(e)}\n\n`);
    const unsubscribe = session.feed.subscribe(send);
    raw.on('close', unsubscribe);
    void session.ended.then(() => {
      unsubscribe();
      raw.end('event: end\ndata: {}\n\n');
    });
  });

  app.get('/api/current', async (_req, reply) => {
    const raw = openStream(reply, streams);
    if (raw === undefined) return reply;
    const send = (id: string) => raw.write(`data: ${JSON.stringify({ session: id })}\n\n`);
    if (sessions.current !== undefined) send(sessions.current);
    else raw.write(`data: {}\n\n`);
    const stop = sessions.follow(send);
    raw.on('close', stop);
  });

  app.get<{ Params: { folder: string } }>('/report/:folder', async (req, reply) => {
    const folder = req.params.folder;
    const dir = join(runsDir, folder);
    if (!FOLDER.test(folder) || !existsSync(dir) || !statSync(dir).isDirectory())
      return reply.code(404).send({ error: `no run folder ${folder}` });
    try {
      const { html } = await renderReport(dir);
      return reply.type('text/html; charset=utf-8').header('content-security-policy', REPORT_CSP).send(html);
    } catch (e) {
      if (e instanceof InputError) return reply.code(400).send({ error: e.message });
      throw e;
    }
  });
}

/** The shipped scenarios' folder of this fedmed. */
export const SCENARIOS_DIR = new URL('../../scenarios/', import.meta.url).pathname;
