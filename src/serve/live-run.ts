import { join, relative } from 'node:path';
import { isKind, kindSpec } from '../protocol/kinds.ts';
import { scenarioHash } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import { runFederation, type RoundRecord, type RunResult } from '../server/coordinator.ts';
import type { Crossing } from '../server/ledger.ts';
import { RunFolder } from '../server/outputs/run-folder.ts';
import { writeRunResult } from '../server/outputs/write-run.ts';
import { startHospitalPool, WorkerFailure, type WorkerPool } from '../server/worker-pool.ts';
import { checkScenarioData, isInputFailure } from '../cli/flags.ts';
import { InputError } from '../scenario/load.ts';
import { ProtocolViolation } from '../server/boundary.ts';
import type { FeedEvent } from './events.ts';
import { Feed } from './feed.ts';
import { pacedPool, Pacer } from './pacer.ts';
import type { Session } from './session.ts';
import { manifestTotals, Tally } from './totals.ts';
import {
  asCrossingFile,
  asRoundFile,
  asScenarioFile,
  crossesBorder,
  incidents,
  liveMap,
  roundCharts,
  siteViews,
} from './views.ts';
import type { CrossingFile, RoundFile, ScenarioFile } from '../report/run-files.ts';

/** Where and how the dashboard runs federations. */
export interface LiveRunOptions {
  /** Folder that holds every run folder (`--runs`). */
  readonly runsDir: string;
  /** Folder that relative paths in the scenario resolve against. */
  readonly baseDir: string;
  /** Most worker threads. */
  readonly threads: number;
  /** Real-time guard on every call to a worker, in milliseconds. */
  readonly timeoutMs: number;
  /** Pause between messages at the start. */
  readonly msPerMessage: number;
}

/** The run folder a scenario writes to under the runs folder, as `fedmed run` names it by default. */
export const runFolderName = (s: Scenario): string => `${s.name}-seed${s.seed}`;

/**
 * A federation run in this process for the dashboard: the coordinator's own round loop with its own worker
 * threads, its records written through the same run folder as `fedmed run`, and every message, round and
 * incident published to the pages watching.
 */
export class LiveRun implements Session {
  readonly id: string;
  readonly feed = new Feed();
  readonly ended: Promise<void>;
  readonly #scenario: Scenario;
  readonly #file: ScenarioFile;
  readonly #options: LiveRunOptions;
  readonly #pacer: Pacer;
  readonly #tally = new Tally();
  readonly #rounds: RoundFile[] = [];
  readonly #crossings: CrossingFile[] = [];
  readonly #out: string;
  readonly #folder: RunFolder;
  #round = 0;
  #charts: Promise<void> = Promise.resolve();

  /**
   * Opens the run's folder at once, as `fedmed run` does (its data checked against the data root, the folder
   * locked), so a folder another run holds or one that is not fedmed's is an InputError before anything starts;
   * then runs in the background.
   */
  constructor(id: string, scenario: Scenario, options: LiveRunOptions) {
    this.id = id;
    this.#scenario = scenario;
    this.#file = asScenarioFile(scenario);
    this.#options = options;
    this.#pacer = new Pacer(options.msPerMessage);
    checkScenarioData(scenario, options.baseDir);
    this.#out = join(options.runsDir, runFolderName(scenario));
    this.#folder = RunFolder.open(this.#out);
    this.ended = this.#run();
  }

  setPace(msPerMessage: number): void {
    this.#pacer.msPerMessage = msPerMessage;
    this.feed.publish({ type: 'pace', msPerMessage });
  }

  async stop(reason: string): Promise<void> {
    this.#pacer.stop(reason);
    await this.ended;
  }

  #publish(event: FeedEvent): void {
    this.feed.publish(event);
  }

  async #run(): Promise<void> {
    const scenario = this.#scenario;
    const folder = this.#folder;
    this.#publish({
      type: 'session',
      id: this.id,
      mode: 'live',
      scenario: scenario.name,
      description: scenario.description ?? '',
      seed: scenario.seed,
      rounds: scenario.rounds,
      strategy: scenario.strategy.name,
      backend: scenario.backend,
      coordinator: scenario.coordinator.name ?? scenario.coordinator.site,
      hospitals: siteViews(this.#file),
      map: liveMap(this.#file),
      folder: relative(this.#options.runsDir, this.#out),
    });
    this.#publish({ type: 'pace', msPerMessage: this.#pacer.msPerMessage });
    this.#publish({ type: 'phase', text: 'starting the hospitals’ worker threads' });
    const startedAt = new Date();
    let pool: WorkerPool | undefined;
    try {
      folder.writeJson('scenario.json', scenario);
      pool = await startHospitalPool(scenario.hospitals, this.#options.threads, {
        timeoutMs: this.#options.timeoutMs,
      });
      this.#publish({ type: 'phase', text: 'setting up each hospital inside its own thread' });
      const result = await runFederation(scenario, {
        threads: this.#options.threads,
        backend: scenario.backend,
        baseDir: this.#options.baseDir,
        timeoutMs: this.#options.timeoutMs,
        pool: pacedPool(pool, this.#pacer, {
          sent: (h, kind) => this.#message(h, kind, 'to-hospital'),
          answered: (h, kind) => this.#message(h, kind, 'to-coordinator'),
        }),
        sink: {
          round: (record, crossings) => {
            folder.round(record, crossings);
            this.#onRound(record, crossings);
          },
          crossings: (crossings) => {
            folder.crossings(crossings);
            this.#onCrossings(crossings);
          },
        },
      });
      await this.#charts;
      await this.#finish(result, startedAt);
    } catch (e) {
      await this.#charts.catch(() => undefined);
      this.#failed(e);
    } finally {
      await pool?.close();
      this.feed.close();
    }
  }

  /** A message as it happens; its round is the one under way (0 for setup and the baselines). */
  #message(hospital: string, kind: string, direction: 'to-hospital' | 'to-coordinator'): void {
    const spec = isKind(kind) ? kindSpec(kind) : undefined;
    if (spec !== undefined && spec.purpose !== 'federation') return;
    this.#publish({
      type: 'message',
      round: kind === 'setup' ? 0 : this.#round + 1,
      hospital,
      direction,
      kind: direction === 'to-hospital' ? kind : (spec?.reply ?? kind),
      crossesBorder: crossesBorder(this.#file, hospital),
    });
  }

  #onCrossings(crossings: readonly Crossing[]): void {
    this.#tally.add(crossings);
    for (const c of crossings) this.#crossings.push(asCrossingFile(c));
  }

  #onRound(record: RoundRecord, crossings: readonly Crossing[]): void {
    this.#onCrossings(crossings);
    const round = asRoundFile(record);
    this.#rounds.push(round);
    this.#round = record.round;
    this.#publish({
      type: 'round',
      round: record.round,
      metrics: record.evaluate.metrics,
      sampled: record.fit.sampled,
      admitted: record.fit.admitted,
      totals: this.#tally.totals,
      incidents: incidents(round, this.#crossings),
    });
    const rounds = [...this.#rounds];
    const all = [...this.#crossings];
    this.#charts = this.#charts.then(async () => {
      this.#publish({
        type: 'charts',
        round: record.round,
        charts: await roundCharts(this.#file, rounds, all),
      });
    });
  }

  async #finish(result: RunResult, startedAt: Date): Promise<void> {
    if (result.localOnly !== undefined || result.pooled !== undefined)
      this.#publish({ type: 'phase', text: 'baselines done; writing the run folder' });
    const threads = this.#options.threads;
    const manifest = await writeRunResult(
      this.#folder,
      this.#scenario,
      scenarioHash(this.#scenario),
      result,
      threads,
      startedAt,
      this.#options.baseDir,
    );
    const committed = this.#folder.commit(result.status);
    const stopped = this.#pacer.stopReason;
    const why =
      stopped !== undefined && result.workerFailure === true ? `stopped: ${stopped}` : result.stopReason;
    const beside =
      committed.path === this.#out ? '' : ` (${this.#out} still holds the earlier completed run)`;
    this.#publish({
      type: 'done',
      status: result.status,
      roundsCompleted: result.roundsCompleted,
      totals: this.#tally.totals,
      ...(why === undefined
        ? {}
        : {
            detail: `${why}; its ${result.roundsCompleted} finished rounds are kept${beside} in ${committed.path}`,
          }),
      manifestTotals: manifestTotals(manifest.bytes, this.#tally.totals.borderMessages),
      report: `/report/${encodeURIComponent(relative(this.#options.runsDir, committed.path))}`,
    });
  }

  /**
   * A run that ended before its first round (bad input, a thread that failed or was stopped while setting up)
   * leaves nothing, as with `fedmed run`; an internal error keeps its unfinished records for a bug report.
   */
  #failed(e: unknown): void {
    const stopped = this.#pacer.stopReason;
    const expected = e instanceof InputError || e instanceof ProtocolViolation || isInputFailure(e);
    const failure = e instanceof WorkerFailure;
    let kept: string | undefined;
    if (expected || failure) this.#folder.discard();
    else {
      kept = this.#folder.keep();
      process.stderr.write(`fedmed serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    }
    const why =
      stopped !== undefined && failure
        ? `stopped: ${stopped}`
        : expected || failure
          ? (e as Error).message
          : 'internal error (see the server’s terminal)';
    this.#publish({
      type: 'done',
      status: stopped !== undefined && failure ? 'stopped' : 'failed',
      roundsCompleted: this.#round,
      totals: this.#tally.totals,
      detail:
        kept === undefined
          ? `${why}; nothing of this run was kept`
          : `${why}; its unfinished records are kept in ${kept}`,
    });
  }
}
