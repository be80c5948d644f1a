import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { RoundRecord } from '../coordinator.ts';
import type { StrategyState } from '../strategies/strategy.ts';
import { entryHash, type Crossing } from '../ledger.ts';
import type { Source } from '../../protocol/jurisdiction/enforcer.ts';
import type { DataClass } from '../../protocol/kinds.ts';
import { FEDMED_VERSION } from '../outputs/version.ts';
import { CheckpointError } from './checkpoint-error.ts';
import { CorruptCheckpoint, decodeStored, encodeStored, type Stored } from './codec.ts';
import type { ResumePoint, RoundState } from './run-state.ts';
import { killPoint } from './test-hook.ts';

/** The checkpoint's file in a run folder. */
export const CHECKPOINT_FILE = 'checkpoint.bin';
/**
 * 2: the crossing record names a model's lineage by reference (a run checkpointed as 1 cannot continue its record).
 * 3: the jurisdiction layer's lists (the model's lineage, the patients counted as exported) are stored as text
 * blobs, not JSON arrays, and the hospitals' holdings not at all (a resumed run learns them again at setup).
 */
const FORMAT = 3;

/** What a checkpoint belongs to: a resumed run must have the same scenario, seed and backend. */
export interface RunIdentity {
  readonly scenarioSha256: string;
  readonly seed: number;
  readonly backend: string;
  /** Folder the scenario's relative paths resolved against (kept so a resume needs no scenario file). */
  readonly baseDir: string;
}

/** A checkpoint as read back. */
export interface Checkpoint {
  readonly fedmed: string;
  readonly identity: RunIdentity;
  readonly state: RoundState;
  /**
   * Bytes of metrics.jsonl and crossings.jsonl when it was written (what the run had recorded), and the SHA-256
   * of those metrics bytes (the crossings are checked by their hash chain).
   */
  readonly files: { readonly metrics: number; readonly crossings: number; readonly metricsSha256: string };
}

/**
 * Writes the run's checkpoint into `folder` whole or not at all: metrics.jsonl and crossings.jsonl are flushed
 * to disk first (the checkpoint never points past what is durable), then the checkpoint goes to a temporary
 * file, is flushed, renamed over the previous one, and the folder is flushed so the rename itself survives.
 */
export function writeCheckpoint(
  folder: string,
  state: RoundState,
  identity: RunIdentity,
  /** SHA-256 of metrics.jsonl as it stands, when the writer keeps it as it appends; else the file is read. */
  metricsSha256 = sha256Hex(readIfPresent(join(folder, 'metrics.jsonl'))),
): void {
  const metrics = flushedSize(join(folder, 'metrics.jsonl'));
  const crossings = flushedSize(join(folder, 'crossings.jsonl'));
  const value: Stored = {
    format: FORMAT,
    fedmed: FEDMED_VERSION,
    identity: { ...identity },
    files: { metrics, crossings, metricsSha256 },
    state: stateToStored(state),
  };
  const path = join(folder, CHECKPOINT_FILE);
  const draft = `${path}.draft`;
  const fd = openSync(draft, 'w');
  try {
    const bytes = encodeStored(value);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  killPoint('checkpoint-written', state.round);
  renameSync(draft, path);
  const dir = openSync(folder, 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function flushedSize(path: string): number {
  const fd = openSync(path, 'r+');
  try {
    fsyncSync(fd);
    return statSync(path).size;
  } finally {
    closeSync(fd);
  }
}

/** Reads the checkpoint in `folder`; a missing, torn or altered one is a {@link CheckpointError}. */
export function readCheckpoint(folder: string): Checkpoint {
  const path = join(folder, CHECKPOINT_FILE);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new CheckpointError(`${path}: no checkpoint (the run stopped before its hospitals were set up)`);
  }
  let v: Stored;
  try {
    v = decodeStored(bytes);
  } catch (e) {
    if (e instanceof CorruptCheckpoint)
      throw new CheckpointError(`${path}: corrupt checkpoint: ${e.message}`);
    throw e;
  }
  try {
    return checkpointOf(v, path);
  } catch (e) {
    if (e instanceof TypeError) throw new CheckpointError(`${path}: corrupt checkpoint: ${e.message}`);
    throw e;
  }
}

/**
 * Whether the run may go on from `checkpoint` with this fedmed and `identity`; a CheckpointError says what
 * differs.
 */
export function checkResumable(checkpoint: Checkpoint, identity: RunIdentity, folder: string): void {
  if (checkpoint.fedmed !== FEDMED_VERSION)
    throw new CheckpointError(
      `${folder}: the checkpoint was written by fedmed ${checkpoint.fedmed}, this is fedmed ${FEDMED_VERSION}; ` +
        'a run resumes only with the version that started it',
    );
  const was = checkpoint.identity;
  for (const key of ['seed', 'backend', 'scenarioSha256'] as const) {
    if (was[key] !== identity[key])
      throw new CheckpointError(
        `${folder}: the scenario differs from the interrupted run's (${key === 'scenarioSha256' ? 'its SHA-256' : key} ` +
          `${String(identity[key])}, the run's ${String(was[key])}); resume with the scenario, seed and backend it started with`,
      );
  }
  if (checkpoint.state.refusal !== undefined)
    throw new CheckpointError(`${folder}: this run cannot be resumed: ${checkpoint.state.refusal}`);
}

/**
 * Reads what the run recorded up to its checkpoint and cuts metrics.jsonl and crossings.jsonl back to it (a
 * torn last line, or the lines of a round that ended after the checkpoint was written). Everything is checked
 * before anything is cut: a file shorter than the checkpoint says, or lines that do not chain to its head, are
 * a CheckpointError and nothing changes.
 */
export function resumePoint(folder: string, checkpoint: Checkpoint): ResumePoint {
  const metricsPath = join(folder, 'metrics.jsonl');
  const crossingsPath = join(folder, 'crossings.jsonl');
  const metrics = linesUpTo(metricsPath, checkpoint.files.metrics);
  if (sha256Hex(metrics.prefix) !== checkpoint.files.metricsSha256)
    throw new CheckpointError(`${metricsPath}: its rounds differ from those the checkpoint recorded`);
  const records = metrics.lines as RoundRecord[];
  const crossings = linesUpTo(crossingsPath, checkpoint.files.crossings).lines as Crossing[];
  const s = checkpoint.state;
  crossings.forEach((c, i) => {
    const prev = i === 0 ? s.ledger.genesis : entryHash(crossings[i - 1]!);
    if ((c as { prev?: unknown }).prev !== prev)
      throw new CheckpointError(`${crossingsPath}: line ${i + 1} does not chain to the line before it`);
  });
  if (records.length !== s.round || (s.round > 0 && records[records.length - 1]?.round !== s.round))
    throw new CheckpointError(`${metricsPath}: holds ${records.length} rounds, the checkpoint ${s.round}`);
  const head = crossings.length === 0 ? undefined : entryHash(crossings[crossings.length - 1]);
  if (crossings.length !== s.ledger.entries || (head !== undefined && head !== s.ledger.head))
    throw new CheckpointError(`${crossingsPath}: does not end where the checkpoint says the record ends`);
  truncateSync(metricsPath, checkpoint.files.metrics);
  truncateSync(crossingsPath, checkpoint.files.crossings);
  const final = records[records.length - 1];
  return { state: s, crossings, ...(final === undefined ? {} : { final }) };
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function readIfPresent(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    return Buffer.alloc(0);
  }
}

/** A record file's first `bytes` bytes, which must end a line, and the JSON lines they hold. */
function linesUpTo(path: string, bytes: number): { prefix: Buffer; lines: unknown[] } {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch {
    throw new CheckpointError(`${path}: missing; the run folder is not whole`);
  }
  if (text.length < bytes)
    throw new CheckpointError(
      `${path}: ${text.length} bytes, shorter than the ${bytes} the checkpoint recorded`,
    );
  const prefix = text.subarray(0, bytes);
  const kept = prefix.toString('utf8');
  if (kept !== '' && !kept.endsWith('\n'))
    throw new CheckpointError(`${path}: the checkpoint does not end at a line's end`);
  const lines = kept
    .split('\n')
    .filter((l) => l !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        throw new CheckpointError(`${path}: line ${i + 1} is not JSON`);
      }
    });
  return { prefix, lines };
}

function stateToStored(s: RoundState): Stored {
  return {
    round: s.round,
    model: s.model,
    strategy: s.strategy === undefined ? null : (s.strategy as Stored),
    clientStates: s.clientStates.map(([h, b]) => [h, b]),
    ledger: { ...s.ledger },
    clockSeconds: s.clockSeconds ?? null,
    faults: s.faults === undefined ? null : (JSON.parse(JSON.stringify(s.faults)) as Stored),
    jurisdiction:
      s.jurisdiction === undefined
        ? null
        : {
            classes: [...s.jurisdiction.model.classes],
            sources: listBlob(s.jurisdiction.model.sources),
            exported: Object.fromEntries(
              Object.entries(s.jurisdiction.exported).map(([k, v]) => [k, listBlob(v)]),
            ),
          },
    refusal: s.refusal ?? null,
  };
}

/** A sorted list of sources as one blob: the sources, one a line (a JSON array of 10,000 is slow to write). */
function listBlob(list: readonly string[]): Uint8Array {
  // A plain Uint8Array: JSON.stringify would turn a Buffer into JSON before the encoder saw it.
  return new TextEncoder().encode(list.join('\n'));
}

/** The sources a {@link listBlob} holds; a TypeError names `what` if one is not `hospital:train|test`. */
function sourcesOf(v: Stored | undefined, what: string): Source[] {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${what} is not a list of sources`);
  const text = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8');
  const list = text === '' ? [] : text.split('\n');
  if (!list.every((s) => /^[^\n]+:(train|test)$/.test(s)))
    throw new TypeError(`${what} holds a line that is not a source`);
  return list as Source[];
}

function jurisdictionOf(v: Stored | undefined): NonNullable<RoundState['jurisdiction']> {
  const j = object(v, 'state.jurisdiction');
  if (!Array.isArray(j.classes) || !j.classes.every((c) => typeof c === 'string'))
    throw new TypeError('state.jurisdiction.classes is not a list of classes');
  const exported = object(j.exported, 'state.jurisdiction.exported');
  return {
    model: {
      classes: j.classes as DataClass[],
      sources: sourcesOf(j.sources, 'state.jurisdiction.sources'),
    },
    exported: Object.fromEntries(
      Object.entries(exported).map(([k, b]) => [k, sourcesOf(b, `state.jurisdiction.exported.${k}`)]),
    ),
  };
}

/**
 * The checkpoint a decoded value describes; a TypeError names the first part that is not as written, a
 * CheckpointError a checkpoint of another format.
 */
function checkpointOf(v: Stored, path: string): Checkpoint {
  const o = object(v, 'the checkpoint');
  if (typeof o.format === 'number' && o.format !== FORMAT)
    throw new CheckpointError(
      `${path}: checkpoint format ${o.format}, written by ${o.format < FORMAT ? 'an earlier' : 'a later'} fedmed; ` +
        `this fedmed reads format ${FORMAT} only, so the run cannot be resumed: start it again without --resume`,
    );
  if (o.format !== FORMAT) throw new TypeError(`format ${String(o.format)}, expected ${FORMAT}`);
  const id = object(o.identity, 'identity');
  const files = object(o.files, 'files');
  const s = object(o.state, 'state');
  const ledger = object(s.ledger, 'state.ledger');
  if (!(s.model instanceof Float32Array)) throw new TypeError('state.model is not a float32 vector');
  if (!Array.isArray(s.clientStates)) throw new TypeError('state.clientStates is not a list');
  const clientStates = (s.clientStates as Stored[]).map((e) => {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || !(e[1] instanceof Uint8Array))
      throw new TypeError('state.clientStates holds an entry that is not [hospital, bytes]');
    return [e[0], e[1]] as const;
  });
  const state: RoundState = {
    round: count(s.round, 'state.round'),
    model: s.model,
    strategy:
      s.strategy === null ? undefined : (object(s.strategy, 'state.strategy') as unknown as StrategyState),
    clientStates,
    ledger: {
      entries: count(ledger.entries, 'state.ledger.entries'),
      genesis: text(ledger.genesis, 'state.ledger.genesis'),
      head: text(ledger.head, 'state.ledger.head'),
    },
    ...(s.clockSeconds === null ? {} : { clockSeconds: finite(s.clockSeconds, 'state.clockSeconds') }),
    ...(s.faults === null
      ? {}
      : { faults: object(s.faults, 'state.faults') as unknown as RoundState['faults'] }),
    ...(s.jurisdiction === null ? {} : { jurisdiction: jurisdictionOf(s.jurisdiction) }),
    ...(s.refusal === null ? {} : { refusal: text(s.refusal, 'state.refusal') }),
  };
  return {
    fedmed: text(o.fedmed, 'fedmed'),
    identity: {
      scenarioSha256: text(id.scenarioSha256, 'identity.scenarioSha256'),
      seed: finite(id.seed, 'identity.seed'),
      backend: text(id.backend, 'identity.backend'),
      baseDir: text(id.baseDir, 'identity.baseDir'),
    },
    state,
    files: {
      metrics: count(files.metrics, 'files.metrics'),
      crossings: count(files.crossings, 'files.crossings'),
      metricsSha256: text(files.metricsSha256, 'files.metricsSha256'),
    },
  };
}

function object(v: Stored | undefined, what: string): { readonly [key: string]: Stored } {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v))
    throw new TypeError(`${what} is not an object`);
  return v as { readonly [key: string]: Stored };
}

function text(v: Stored | undefined, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`${what} is not text`);
  return v;
}

function finite(v: Stored | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${what} is not a number`);
  return v;
}

function count(v: Stored | undefined, what: string): number {
  const n = finite(v, what);
  if (!Number.isInteger(n) || n < 0) throw new TypeError(`${what} is not a count`);
  return n;
}
