import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { InputError } from '../../scenario/load.ts';

/** Who holds an output lock: written into the lock file, shown to a run that finds it taken. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly command: string;
}

/** The command line of this process, for lock files and markers. */
export function commandLine(): string {
  return ['fedmed', ...process.argv.slice(2)].join(' ');
}

/**
 * An exclusive lock on an output folder, held for a whole run: a file created atomically (written beside, then
 * hard-linked into place, which fails if it exists) holding the holder's pid, host, start time and command.
 * A lock whose holder is a process on this host that no longer runs is stale and taken over, with a line on
 * stderr; any other holder makes {@link acquireLock} throw an {@link InputError} (exit 2) naming it and `what`.
 */
export function acquireLock(file: string, what: string): LockHolder {
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command: commandLine(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (tryCreate(file, me)) return me;
    const text = readText(file);
    if (text === undefined) continue;
    const holder = parseHolder(text);
    if (holder !== undefined && !isStale(holder)) throw inUse(what, holder);
    if (!takeOver(file, text)) continue;
    process.stderr.write(
      `fedmed: ${what}: took over the lock of ${holder === undefined ? 'an unreadable lock file' : `process ${holder.pid}`}, which is no longer running\n`,
    );
  }
  const holder = parseHolder(readText(file) ?? '');
  throw holder === undefined
    ? new InputError(`${what} is locked by ${file}, which another process keeps replacing`)
    : inUse(what, holder);
}

/** Removes the lock if this process holds it. */
export function releaseLock(file: string): void {
  const holder = parseHolder(readText(file) ?? '');
  if (holder?.pid === process.pid && holder.hostname === hostname()) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

function tryCreate(file: string, me: LockHolder): boolean {
  const draft = `${file}.${process.pid}.draft`;
  writeFileSync(draft, JSON.stringify(me) + '\n');
  try {
    linkSync(draft, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(draft);
  }
}

/**
 * Moves a stale lock aside and removes it. If what was moved is no longer the stale lock (another process took
 * it over in between), puts it back and reports failure, so a live holder is never robbed.
 */
function takeOver(file: string, staleText: string): boolean {
  const aside = `${file}.${process.pid}.stale`;
  try {
    renameSync(file, aside);
  } catch {
    return false;
  }
  if (readText(aside) === staleText) {
    unlinkSync(aside);
    return true;
  }
  try {
    linkSync(aside, file);
  } catch {
    // someone holds the lock again; theirs stays
  }
  unlinkSync(aside);
  return false;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.hostname !== 'string') return undefined;
    return {
      pid: h.pid,
      hostname: h.hostname,
      startedAt: String(h.startedAt),
      command: String(h.command),
    };
  } catch {
    return undefined;
  }
}

/** A holder on this host whose process no longer exists. Holders on other hosts are never judged stale. */
function isStale(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function inUse(what: string, holder: LockHolder): InputError {
  return new InputError(
    `${what} is in use by another fedmed run: process ${holder.pid} on ${holder.hostname}, started ` +
      `${holder.startedAt} (${holder.command}); wait for it to end or choose another --out`,
  );
}
