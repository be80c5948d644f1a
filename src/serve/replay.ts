import { join } from 'node:path';
import { readRunFiles, type CrossingFile } from '../report/run-files.ts';
import { checkRunVersion } from '../report/write-report.ts';
import type { FeedEvent } from './events.ts';
import { Feed } from './feed.ts';
import type { Session } from './session.ts';
import { manifestTotals, Tally } from './totals.ts';
import { incidents, liveMap, roundCharts, siteViews } from './views.ts';

/**
 * A finished run folder played back through the same feed as a live run: its recorded crossings as messages,
 * one after another at the chosen pace, then each round's metrics and charts, as the files hold them.
 */
export class Replay implements Session {
  readonly id: string;
  readonly feed = new Feed();
  readonly ended: Promise<void>;
  #ms: number;
  #stopped: string | undefined;
  #wake: (() => void) | undefined;

  /** Reads the folder at once (an InputError names the file and field) and plays it in the background. */
  constructor(id: string, runsDir: string, folder: string, msPerMessage: number) {
    this.id = id;
    this.#ms = msPerMessage;
    const dir = join(runsDir, folder);
    checkRunVersion(dir);
    const files = readRunFiles(dir);
    this.ended = this.#play(files, folder).finally(() => this.feed.close());
  }

  setPace(msPerMessage: number): void {
    this.#ms = msPerMessage;
    this.#wake?.();
    this.feed.publish({ type: 'pace', msPerMessage });
  }

  async stop(reason: string): Promise<void> {
    this.#stopped ??= reason;
    this.#wake?.();
    await this.ended;
  }

  async #pause(): Promise<boolean> {
    const started = performance.now();
    for (;;) {
      if (this.#stopped !== undefined) return false;
      const left = this.#ms - (performance.now() - started);
      if (left <= 0) return true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async #play(files: ReturnType<typeof readRunFiles>, folder: string): Promise<void> {
    const publish = (e: FeedEvent) => this.feed.publish(e);
    const { scenario, manifest, rounds } = files;
    publish({
      type: 'session',
      id: this.id,
      mode: 'replay',
      scenario: scenario.name,
      description: scenario.description ?? '',
      seed: scenario.seed,
      rounds: scenario.rounds,
      strategy: String(scenario.strategy.name ?? ''),
      backend: manifest.backend,
      coordinator: scenario.coordinator.name ?? scenario.coordinator.site,
      hospitals: siteViews(scenario),
      map: liveMap(scenario),
      folder,
    });
    publish({ type: 'pace', msPerMessage: this.#ms });
    publish({ type: 'phase', text: `replaying ${folder}` });
    const federation = files.crossings.filter((c) => c.purpose === 'federation');
    const tally = new Tally();
    const shown: CrossingFile[] = [];
    const play = async (crossings: readonly CrossingFile[]): Promise<boolean> => {
      for (const c of crossings) {
        if (!(await this.#pause())) return false;
        publish({
          type: 'message',
          round: c.round,
          hospital: c.hospital,
          direction: c.direction === 'to-hospital' ? 'to-hospital' : 'to-coordinator',
          kind: c.kind,
          crossesBorder: c.crossesBorder,
        });
        tally.add([c]);
        shown.push(c);
      }
      return true;
    };
    let done = 0;
    let playing = await play(federation.filter((c) => c.round === 0));
    for (const r of rounds) {
      if (!playing) break;
      playing = await play(federation.filter((c) => c.round === r.round));
      if (!playing) break;
      publish({
        type: 'round',
        round: r.round,
        metrics: r.evaluate.metrics,
        sampled: r.fit?.sampled ?? [],
        admitted: r.fit?.admitted ?? [],
        totals: tally.totals,
        incidents: incidents(r, shown),
      });
      publish({
        type: 'charts',
        round: r.round,
        charts: await roundCharts(scenario, rounds.slice(0, rounds.indexOf(r) + 1), shown),
      });
      done = r.round;
    }
    // Crossings after the last round (none in a federation today) are counted before the totals are compared.
    if (playing) playing = await play(federation.filter((c) => c.round > done));
    publish({
      type: 'done',
      status: playing ? (manifest.status === 'completed' ? 'completed' : 'stopped') : 'stopped',
      roundsCompleted: done,
      totals: tally.totals,
      detail: playing
        ? `replay of ${folder}: ${manifest.status}${manifest.stopReason === undefined ? '' : ` (${manifest.stopReason})`}`
        : `replay stopped: ${this.#stopped ?? ''}`,
      ...(playing ? { manifestTotals: manifestTotals(manifest.bytes, tally.totals.borderMessages) } : {}),
      report: `/report/${encodeURIComponent(folder)}`,
    });
  }
}
