import { appendFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { canonicalJson } from '../../common/hash.ts';
import type { Crossing } from '../ledger.ts';
import type { RoundRecord, RunSink } from '../coordinator.ts';

/**
 * A run's output folder. Everything is written to a staging folder beside the target and moved into place
 * when the run ends (completed or stopped), so a run that crashes or is interrupted never damages the
 * results of an earlier run in the same place.
 */
export class RunFolder implements RunSink {
  readonly target: string;
  readonly staging: string;

  constructor(target: string) {
    this.target = target;
    this.staging = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
    rmSync(this.staging, { recursive: true, force: true });
    mkdirSync(this.staging, { recursive: true });
    writeFileSync(join(this.staging, 'metrics.jsonl'), '');
    writeFileSync(join(this.staging, 'crossings.jsonl'), '');
  }

  /** Writes a JSON file (pretty, keys in canonical order) into the run folder. */
  writeJson(name: string, value: unknown): void {
    const path = join(this.staging, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify(JSON.parse(canonicalJson(value)), null, 2) + '\n');
  }

  /** Writes a text file into the run folder. */
  writeText(name: string, text: string): void {
    const path = join(this.staging, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }

  /** Writes raw bytes into the run folder. */
  writeBytes(name: string, data: ArrayBufferView): void {
    const path = join(this.staging, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  round(record: RoundRecord, crossings: readonly Crossing[]): void {
    this.crossings(crossings);
    appendFileSync(join(this.staging, 'metrics.jsonl'), JSON.stringify(record) + '\n');
  }

  crossings(crossings: readonly Crossing[]): void {
    if (crossings.length === 0) return;
    appendFileSync(
      join(this.staging, 'crossings.jsonl'),
      crossings.map((c) => JSON.stringify(c)).join('\n') + '\n',
    );
  }

  /** Moves the staged run into place, replacing an earlier run there only now that this one is whole. */
  commit(): void {
    const old = join(dirname(this.target), `.${basename(this.target)}.old-${process.pid}`);
    if (existsSync(this.target)) renameSync(this.target, old);
    renameSync(this.staging, this.target);
    rmSync(old, { recursive: true, force: true });
  }

  /** Removes the staging folder of a run that produced nothing worth keeping. */
  discard(): void {
    rmSync(this.staging, { recursive: true, force: true });
  }
}
