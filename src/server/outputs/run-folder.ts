import {
  appendFileSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { canonicalJson } from '../../common/hash.ts';
import { describeErrno, isInside } from '../../scenario/data-paths.ts';
import { InputError } from '../../scenario/load.ts';
import type { Crossing } from '../ledger.ts';
import type { RoundRecord, RunSink } from '../coordinator.ts';
import { acquireLock, commandLine, releaseLock } from './output-lock.ts';
import { CHECKPOINT_FILE, writeCheckpoint, type RunIdentity } from '../checkpoint/file.ts';
import type { RoundState } from '../checkpoint/run-state.ts';
import { resumableRun, runFiles } from '../checkpoint/resumable.ts';
import { FEDMED_VERSION } from './version.ts';

/** The file fedmed writes first into every run folder; its presence marks a folder as fedmed's. */
export const RUN_MARKER = '.fedmed-run';
/** Suffix of the hidden folder beside `--out` that holds its runs: `.<name>.fedmed`. */
const STORE_SUFFIX = '.fedmed';
/** Where a stopped run goes when `--out` holds a completed run: `<out>.stopped`. */
export const STOPPED_SUFFIX = '.stopped';

/** Files a run folder of an earlier fedmed version holds; with the marker's own list, all fedmed ever deletes. */
const KNOWN_FILES = [
  RUN_MARKER,
  'scenario.json',
  'manifest.json',
  'metrics.jsonl',
  'crossings.jsonl',
  'summary.json',
  'compliance.json',
  'compliance.md',
  'model/parameters.f32',
  'model/spec.json',
  'model/tfjs/model.json',
  'model/tfjs/weights.bin',
  'report.html',
  CHECKPOINT_FILE,
  `${CHECKPOINT_FILE}.draft`,
];

/** What the marker file records about the run that wrote the folder. */
interface Marker {
  readonly fedmed: string;
  readonly pid: number;
  readonly startedAt: string;
  readonly command: string;
  /** Every file the run wrote, relative to its folder; written at commit. */
  readonly files?: readonly string[];
}

/** Where a run's folder ended up. */
export interface Committed {
  /** `--out`, or `<out>.stopped` for a stopped run beside a completed one. */
  readonly path: string;
  /** The run folder the link replaced, if any. */
  readonly replaced?: string;
}

/**
 * A run's output folder, safe against every way a run can end. `--out` is a symbolic link to the run's own
 * folder in a hidden store beside it (`.<name>.fedmed/<run id>`). A run writes its folder there, under a
 * lock held for the whole run, and only when it has ended replaces the link in one rename, so at every
 * instant, including a SIGKILL, `--out` shows either the earlier run or the new one, whole. fedmed replaces
 * only what it wrote: `--out` must be absent, an empty folder or a fedmed run, and removing an earlier run
 * removes only the files fedmed wrote into it.
 */
export class RunFolder implements RunSink {
  /** The `--out` path. */
  readonly target: string;
  /** This run's own folder in the store, where every file is written. */
  readonly folder: string;
  readonly #store: string;
  readonly #lock: string;
  readonly #files = new Set<string>();
  #metricsHash: Hash | undefined;
  readonly #marker: Marker;
  #open = true;

  private constructor(target: string, store: string, id: string) {
    this.target = target;
    this.#store = store;
    this.#lock = join(store, 'lock');
    this.folder = join(store, id);
    this.#marker = {
      fedmed: FEDMED_VERSION,
      pid: process.pid,
      startedAt: new Date().toISOString(),
      command: commandLine(),
    };
  }

  /**
   * Checks that `target` may receive a run, without touching anything: absent, an empty folder, a link fedmed
   * made, or a run folder of an earlier fedmed version. Anything else is an {@link InputError} (exit 2).
   */
  static check(target: string): void {
    const t = resolve(target);
    const name = basename(t);
    if (Buffer.byteLength(`.${name}${STORE_SUFFIX}`) > 255) {
      throw new InputError(`--out ${t}: expected a folder name of at most ${255 - 8} bytes`);
    }
    if (isInside(t, process.cwd())) {
      throw new InputError(
        `--out ${t}: expected a folder outside the current one (fedmed puts a link to the run in its place)`,
      );
    }
    const store = storeOf(t);
    const kind = lstatKind(store);
    if (kind !== 'absent' && kind !== 'folder') {
      throw new InputError(
        `--out ${t}: ${store} is not a folder fedmed made; move it away or choose another --out`,
      );
    }
    switch (lstatKind(t)) {
      case 'absent':
        return;
      case 'link':
        if (linkedRun(t) === undefined) {
          throw new InputError(
            `--out ${t}: a symbolic link fedmed did not make; fedmed replaces only an empty folder or a fedmed run`,
          );
        }
        return;
      case 'folder': {
        const entries = readdirSync(t);
        if (entries.length === 0 || isEarlierRun(t)) return;
        const shown = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
        throw new InputError(
          `--out ${t}: holds files that are not a fedmed run (${shown}); fedmed replaces only an empty folder ` +
            'or a fedmed run, so nothing was written. Choose another --out',
        );
      }
      default:
        throw new InputError(`--out ${t}: expected a folder, not a file`);
    }
  }

  /**
   * Opens a run into `target`: checks it, creates the store, takes the lock (a second run into the same place
   * exits 2 naming the holder), removes what interrupted runs left there (saying so on stderr), and creates
   * this run's folder with its marker written first.
   */
  static open(target: string): RunFolder {
    const t = resolve(target);
    RunFolder.check(t);
    const store = storeOf(t);
    try {
      mkdirSync(store, { recursive: true });
    } catch (e) {
      throw new InputError(
        `--out ${t}: cannot create ${dirname(t)}/ (${describeErrno((e as NodeJS.ErrnoException).code)})`,
      );
    }
    if (lstatKind(`${t}${STOPPED_SUFFIX}`) !== 'absent') RunFolder.check(`${t}${STOPPED_SUFFIX}`);
    acquireLock(join(store, 'lock'), `--out ${t}`);
    const id = `run-${new Date().toISOString().replace(/[-:.]/g, '')}-${process.pid}`;
    const folder = new RunFolder(t, store, id);
    try {
      folder.#recover();
      mkdirSync(folder.folder);
      folder.#writeMarker();
      folder.#write('metrics.jsonl', '');
      folder.#metricsHash = createHash('sha256');
      folder.#write('crossings.jsonl', '');
    } catch (e) {
      releaseLock(folder.#lock);
      throw e;
    }
    return folder;
  }

  /**
   * Reopens, under the lock, the newest run in `target`'s store that was interrupted after its first
   * checkpoint (stopped by a signal or killed) to continue it. Anything else is an {@link InputError} (exit 2)
   * naming what `target` holds instead, and nothing is changed.
   */
  static resume(target: string): RunFolder {
    const t = resolve(target);
    const store = storeOf(t);
    const lock = join(store, 'lock');
    RunFolder.interrupted(t);
    acquireLock(lock, `--out ${t}`);
    const found = resumableRun(store, [linkedRun(t), linkedRun(`${t}${STOPPED_SUFFIX}`)]);
    if (found === undefined) {
      releaseLock(lock);
      throw new InputError(`--resume ${t}: the interrupted run was taken by another process`);
    }
    const folder = new RunFolder(t, store, basename(found));
    for (const f of runFiles(found)) folder.#files.add(f);
    return folder;
  }

  /**
   * The folder of the newest interrupted run of `target` that can be resumed, touching nothing; none is an
   * {@link InputError} (exit 2) saying what can be resumed.
   */
  static interrupted(target: string): string {
    const t = resolve(target);
    RunFolder.check(t);
    const found = resumableRun(storeOf(t), [linkedRun(t), linkedRun(`${t}${STOPPED_SUFFIX}`)]);
    if (found === undefined) {
      throw new InputError(
        `--resume ${t}: no interrupted run to resume there (a run can be resumed when Ctrl-C, SIGTERM or a ` +
          'kill stopped it after its hospitals were set up; a completed or stopped run is final)',
      );
    }
    return found;
  }

  /** Writes the run's checkpoint after a round (see {@link writeCheckpoint}). */
  saveCheckpoint(state: RoundState, identity: RunIdentity): void {
    writeCheckpoint(this.folder, state, identity, this.#metricsDigest());
    this.#files.add(CHECKPOINT_FILE);
  }

  /** Writes a JSON file (pretty, keys in canonical order) into the run folder. */
  writeJson(name: string, value: unknown): void {
    this.#write(name, JSON.stringify(JSON.parse(canonicalJson(value)), null, 2) + '\n');
  }

  /** Writes a text file into the run folder. */
  writeText(name: string, text: string): void {
    this.#write(name, text);
  }

  /** Writes raw bytes into the run folder. */
  writeBytes(name: string, data: ArrayBufferView): void {
    this.#write(name, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  round(record: RoundRecord, crossings: readonly Crossing[]): void {
    this.crossings(crossings);
    const line = JSON.stringify(record) + '\n';
    appendFileSync(join(this.folder, 'metrics.jsonl'), line);
    this.#metricsHash?.update(line);
  }

  /**
   * SHA-256 of metrics.jsonl as written so far, kept as lines are appended (a checkpoint each round would
   * otherwise read the whole file again); a reopened run's hash starts from its file once, when first needed.
   */
  #metricsDigest(): string {
    this.#metricsHash ??= createHash('sha256').update(readFileSync(join(this.folder, 'metrics.jsonl')));
    return this.#metricsHash.copy().digest('hex');
  }

  crossings(crossings: readonly Crossing[]): void {
    if (crossings.length === 0) return;
    appendFileSync(
      join(this.folder, 'crossings.jsonl'),
      crossings.map((c) => JSON.stringify(c)).join('\n') + '\n',
    );
  }

  /**
   * Puts the finished run in place by replacing the link in one rename, removes the run it replaced (only
   * the files fedmed wrote) and releases the lock. A stopped run never replaces a completed one: it goes to
   * `<out>.stopped` instead.
   */
  commit(status: 'completed' | 'stopped'): Committed {
    // A committed run is final: its checkpoint is of no more use.
    rmSync(join(this.folder, CHECKPOINT_FILE), { force: true });
    this.#files.delete(CHECKPOINT_FILE);
    this.#writeMarker([...this.#files].sort());
    const dest =
      status === 'stopped' && holdsCompletedRun(this.target)
        ? `${this.target}${STOPPED_SUFFIX}`
        : this.target;
    let replaced = linkedRun(dest);
    const link = join(this.#store, `.link-${process.pid}`);
    rmSync(link, { force: true });
    symlinkSync(relative(dirname(dest), this.folder), link);
    if (lstatKind(dest) === 'folder') {
      // An empty folder the user made, or a run of an earlier fedmed version: moved into the store first.
      if (readdirSync(dest).length === 0) rmdirSync(dest);
      else {
        replaced = join(this.#store, `earlier-${Date.now()}`);
        renameSync(dest, replaced);
      }
    }
    renameSync(link, dest);
    this.#open = false;
    if (replaced !== undefined && replaced !== this.folder) removeRun(replaced, this.target);
    releaseLock(this.#lock);
    return { path: dest, ...(replaced === undefined ? {} : { replaced }) };
  }

  /** Removes this run's folder (nothing worth keeping: bad input, or an interruption) and releases the lock. */
  discard(): void {
    if (!this.#open) return;
    this.#open = false;
    removeRun(this.folder);
    releaseLock(this.#lock);
    try {
      if (lstatKind(this.target) === 'absent') rmdirSync(this.#store);
    } catch {
      // the store still holds something: it stays
    }
  }

  /**
   * Leaves this run's folder in the store for a bug report (an internal error) and releases the lock; the
   * next run into the same `--out` removes it. Returns its path.
   */
  keep(): string {
    if (this.#open) {
      this.#open = false;
      releaseLock(this.#lock);
    }
    return this.folder;
  }

  #write(name: string, data: string | Uint8Array): void {
    const path = join(this.folder, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
    this.#files.add(name);
  }

  /** Written beside and renamed over, so a kill never leaves a marker cut short (without its pid). */
  #writeMarker(files?: readonly string[]): void {
    const marker = join(this.folder, RUN_MARKER);
    const draft = `${marker}.${process.pid}`;
    writeFileSync(
      draft,
      JSON.stringify({ ...this.#marker, ...(files === undefined ? {} : { files }) }, null, 2) + '\n',
    );
    renameSync(draft, marker);
  }

  /**
   * With the lock held, every run folder in the store that no link shows was left by a run that ended without
   * committing (killed, or an internal error): it is removed, and said so. If no link shows any run but the
   * store holds a whole one (a commit interrupted while moving an earlier version's folder in), the link is
   * restored to it first.
   */
  #recover(): void {
    const shown = new Set(
      [linkedRun(this.target), linkedRun(`${this.target}${STOPPED_SUFFIX}`)].filter((r) => r !== undefined),
    );
    const runs = readdirSync(this.#store)
      .filter((e) => e.startsWith('run-') || e.startsWith('earlier-'))
      .map((e) => join(this.#store, e));
    if (lstatKind(this.target) === 'absent') {
      const whole = runs
        .filter((r) => !shown.has(r) && lstatKind(join(r, 'manifest.json')) === 'file')
        .sort();
      const last = whole[whole.length - 1];
      if (last !== undefined) {
        symlinkSync(relative(dirname(this.target), last), this.target);
        shown.add(last);
        process.stderr.write(
          `fedmed: restored ${this.target}, an earlier run whose commit was interrupted\n`,
        );
      }
    }
    for (const run of runs) {
      if (shown.has(run)) continue;
      const pid = markerOf(run)?.pid;
      const resumable = lstatKind(join(run, CHECKPOINT_FILE)) === 'file';
      removeRun(run, this.target);
      process.stderr.write(
        `fedmed: removed ${run}, the unfinished records of an earlier run` +
          `${pid === undefined ? '' : ` (process ${pid})`} that did not end normally` +
          `${resumable ? ' (fedmed run --resume would have continued it)' : ''}\n`,
      );
    }
  }
}

/** The store beside a target: `<parent>/.<name>.fedmed`. */
function storeOf(target: string): string {
  return join(dirname(target), `.${basename(target)}${STORE_SUFFIX}`);
}

type Kind = 'absent' | 'link' | 'folder' | 'file' | 'other';

function lstatKind(path: string): Kind {
  try {
    const s = lstatSync(path);
    if (s.isSymbolicLink()) return 'link';
    if (s.isDirectory()) return 'folder';
    return s.isFile() ? 'file' : 'other';
  } catch {
    return 'absent';
  }
}

/** The run folder a link fedmed made points to, or undefined if `path` is no such link. */
function linkedRun(path: string): string | undefined {
  if (lstatKind(path) !== 'link') return undefined;
  const to = resolve(dirname(path), readlinkSync(path));
  const store = storeOf(path.endsWith(STOPPED_SUFFIX) ? path.slice(0, -STOPPED_SUFFIX.length) : path);
  return dirname(to) === store && lstatKind(join(to, RUN_MARKER)) === 'file' ? to : undefined;
}

/** A run folder written by an earlier fedmed version: a manifest naming fedmed and the scenario's hash. */
function isEarlierRun(folder: string): boolean {
  try {
    const m = JSON.parse(readFileSync(join(folder, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    return typeof m.fedmed === 'string' && typeof m.scenarioSha256 === 'string';
  } catch {
    return false;
  }
}

function holdsCompletedRun(target: string): boolean {
  try {
    const m = JSON.parse(readFileSync(join(target, 'manifest.json'), 'utf8')) as { status?: unknown };
    return m.status === 'completed';
  } catch {
    return false;
  }
}

function markerOf(folder: string): Marker | undefined {
  try {
    return JSON.parse(readFileSync(join(folder, RUN_MARKER), 'utf8')) as Marker;
  } catch {
    return undefined;
  }
}

/**
 * Removes a run folder: only the files fedmed wrote (the marker's list and the files every run writes), then
 * the folders they leave empty. A folder that still holds other files is moved beside `target` as
 * `<out>.kept-<run id>`, and stderr says so. Without `target` (the run's own folder) it is removed as is.
 */
function removeRun(folder: string, target?: string): void {
  if (target === undefined) {
    rmSync(folder, { recursive: true, force: true });
    return;
  }
  const listed = markerOf(folder)?.files;
  const files = new Set(
    [...KNOWN_FILES, ...(Array.isArray(listed) ? listed : [])].filter((f) => ownEntry(folder, f)),
  );
  for (const f of [...files].filter((f) => f !== RUN_MARKER)) rmSync(join(folder, f), { force: true });
  const dirs = [...new Set([...files].flatMap((f) => ancestors(f)))].sort((a, b) => b.length - a.length);
  for (const d of dirs) {
    try {
      rmdirSync(join(folder, d));
    } catch {
      // not empty, or not there
    }
  }
  // The marker, and a draft of it a kill left before its rename, are fedmed's.
  const left = readdirSync(folder).filter((e) => e !== RUN_MARKER && !e.startsWith(`${RUN_MARKER}.`));
  if (left.length === 0) {
    rmSync(folder, { recursive: true, force: true });
    return;
  }
  rmSync(join(folder, RUN_MARKER), { force: true });
  const kept = `${target}.kept-${basename(folder)}`;
  renameSync(folder, kept);
  process.stderr.write(
    `fedmed: kept ${kept}: the earlier run's folder holds files fedmed did not write ` +
      `(${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''}); fedmed's own files were removed\n`,
  );
}

/**
 * Whether a file a marker lists may be removed: a relative path of plain names whose folder really lies in
 * `folder` (a crafted marker or a linked folder cannot point fedmed at a file elsewhere).
 */
function ownEntry(folder: string, file: unknown): file is string {
  if (typeof file !== 'string' || file === '' || isAbsolute(file)) return false;
  if (file.split(/[\\/]/).some((part) => part === '' || part === '.' || part === '..')) return false;
  try {
    return isInside(realpathSync(folder), realpathSync(dirname(join(folder, file))));
  } catch {
    return false;
  }
}

function ancestors(file: string): string[] {
  const out: string[] = [];
  for (let d = dirname(file); d !== '.' && d !== '/'; d = dirname(d)) out.push(d);
  return out;
}
