import { resolve } from 'node:path';
import { SCENARIOS_DIR, startServer } from '../serve/server.ts';
import { EXIT } from './exit-codes.ts';

/** Flags of `fedmed serve`. */
export interface ServeFlags {
  host: string;
  port: number;
  runs: string;
  workers?: number;
  timeout: number;
}

/**
 * `fedmed serve`: the live dashboard, until SIGINT or SIGTERM; then its runs stop (finished rounds kept) and
 * the command returns 0. A port in use or a bad --host is bad input (exit 2) before anything starts.
 */
export async function serveCommand(flags: ServeFlags): Promise<number> {
  const server = await startServer({
    host: flags.host,
    port: flags.port,
    runsDir: resolve(flags.runs),
    scenariosDir: SCENARIOS_DIR,
    timeoutMs: flags.timeout * 1000,
    ...(flags.workers === undefined ? {} : { workers: flags.workers }),
  });
  process.stdout.write(
    `fedmed serve: the dashboard is at ${server.url} (runs go to ${resolve(flags.runs)}; Ctrl-C stops)\n`,
  );
  if (!isLoopback(flags.host))
    process.stderr.write(
      `fedmed serve: --host ${flags.host} is reachable from other machines: anyone who can reach it can start ` +
        'runs on this one (the default, 127.0.0.1, is this machine only)\n',
    );
  const signal = await new Promise<string>((done) => {
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
  process.stderr.write(`fedmed serve: ${signal}: stopping runs (their finished rounds are kept) …\n`);
  await server.close();
  process.stderr.write('fedmed serve: stopped\n');
  return EXIT.ok;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
