import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

/** The project's root folder. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** What a run of the real `fedmed` command produced. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node bin/fedmed.mjs …args` as a child process from the project's root. */
export function fedmed(args: readonly string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/fedmed.mjs'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A `fedmed` child process started without waiting, and what it produced once it ends. */
export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult & { readonly signal: NodeJS.Signals | null }>;
}

/** Starts `node bin/fedmed.mjs …args` from the project's root without waiting for it. */
export function startFedmed(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, [join(ROOT, 'bin/fedmed.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}
