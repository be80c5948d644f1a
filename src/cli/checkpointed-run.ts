import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Scenario } from '../scenario/schema.ts';
import { CheckpointError } from '../server/checkpoint/checkpoint-error.ts';
import {
  CHECKPOINT_FILE,
  checkResumable,
  readCheckpoint,
  resumePoint,
  type RunIdentity,
} from '../server/checkpoint/file.ts';
import type { ResumePoint } from '../server/checkpoint/run-state.ts';
import { RunFolder } from '../server/outputs/run-folder.ts';

/** A run's folder, opened fresh or reopened to continue an interrupted run. */
export interface OpenedRun {
  readonly folder: RunFolder;
  readonly identity: RunIdentity;
  /** Where an interrupted run goes on from; absent for a fresh run. */
  readonly resume?: ResumePoint;
}

/**
 * Opens `out` for a run of `scenario` (whose resolved hash is `hash`): a fresh run folder, or with `resume` the
 * interrupted run there, checked against the scenario, this fedmed version and its checkpoint's checksum and
 * cut back to its checkpoint. A checkpoint that does not fit is a {@link CheckpointError} (exit 2) and leaves
 * the interrupted run as it was.
 */
export function openRun(
  out: string,
  scenario: Scenario,
  hash: string,
  baseDir: string,
  resume: boolean,
): OpenedRun {
  const identity: RunIdentity = {
    scenarioSha256: hash,
    seed: scenario.seed,
    backend: scenario.backend,
    baseDir,
  };
  if (!resume) {
    const folder = RunFolder.open(out);
    try {
      folder.writeJson('scenario.json', scenario);
    } catch (e) {
      folder.discard();
      throw e;
    }
    return { folder, identity };
  }
  // Checked before the lock is taken, so a refused resume changes nothing at all.
  checkResumable(readCheckpoint(RunFolder.interrupted(out)), identity, out);
  const folder = RunFolder.resume(out);
  try {
    const checkpoint = readCheckpoint(folder.folder);
    checkResumable(checkpoint, identity, out);
    const point = resumePoint(folder.folder, checkpoint);
    process.stderr.write(`fedmed: resuming ${out} after round ${point.state.round}\n`);
    return { folder, identity, resume: point };
  } catch (e) {
    folder.keep();
    throw e;
  }
}

/**
 * Whether `out` holds an interrupted run of exactly this scenario that can be continued (a bench resumes such
 * runs); one that cannot (another scenario, version, or a corrupt checkpoint) is said on stderr and left to be
 * replaced by a fresh run.
 */
export function canResume(out: string, scenario: Scenario, hash: string, baseDir: string): boolean {
  let folder: string;
  try {
    folder = RunFolder.interrupted(out);
  } catch {
    return false;
  }
  const identity: RunIdentity = {
    scenarioSha256: hash,
    seed: scenario.seed,
    backend: scenario.backend,
    baseDir,
  };
  try {
    checkResumable(readCheckpoint(folder), identity, out);
    return true;
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    process.stderr.write(`fedmed: not resuming: ${e.message}; the run starts afresh\n`);
    return false;
  }
}

/** The base folder an interrupted run in `out` recorded, for a resume given no scenario file. */
export function interruptedRun(out: string): { scenarioFile: string; baseDir: string } {
  const folder = RunFolder.interrupted(out);
  try {
    return { scenarioFile: `${folder}/scenario.json`, baseDir: readCheckpoint(folder).identity.baseDir };
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`--resume ${out}: ${(e as Error).message}`);
  }
}

/** Whether a run's unfinished folder holds a checkpoint (a run that keeps none cannot be resumed). */
export function hasCheckpoint(folder: RunFolder): boolean {
  return existsSync(join(folder.folder, CHECKPOINT_FILE));
}

/**
 * What an interruption does with a run's unfinished folder: kept when it already holds a checkpoint (the run can
 * continue), removed otherwise. Returns whether it was kept.
 */
export function keepIfResumable(folder: RunFolder | undefined): boolean {
  const resumable = folder !== undefined && hasCheckpoint(folder);
  if (resumable) folder.keep();
  else folder?.discard();
  return resumable;
}
