import { LiveRun, type LiveRunOptions } from './live-run.ts';
import { Replay } from './replay.ts';
import type { Session } from './session.ts';
import type { Scenario } from '../scenario/schema.ts';

/** Finished sessions kept for pages that open them late. */
const KEPT_SESSIONS = 32;
/** Replays playing at once. */
const MAX_REPLAYS = 4;

/** A live run is under way: the dashboard runs one federation at a time (the machine's cores are the limit). */
export class Busy extends Error {
  override readonly name = 'Busy';
}

/**
 * The sessions of one server: live runs and replays by id, which one pages follow, and a clean stop of all of
 * them when the server stops.
 */
export class Sessions {
  readonly #sessions = new Map<string, Session>();
  readonly #followers = new Set<(id: string) => void>();
  readonly #ended = new Set<string>();
  #count = 0;
  #current: string | undefined;
  #live: LiveRun | undefined;

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** The session started last, which every page follows. */
  get current(): string | undefined {
    return this.#current;
  }

  /** Calls `follower` with each session started from now on; returns the function that stops it. */
  follow(follower: (id: string) => void): () => void {
    this.#followers.add(follower);
    return () => this.#followers.delete(follower);
  }

  #add(session: Session): string {
    this.#sessions.set(session.id, session);
    void session.ended.finally(() => this.#ended.add(session.id));
    // Finished sessions are kept for late pages, the oldest dropped first: memory stays bounded.
    for (const id of [...this.#ended]) {
      if (this.#sessions.size <= KEPT_SESSIONS) break;
      if (id === this.#current) continue;
      this.#sessions.delete(id);
      this.#ended.delete(id);
    }
    this.#current = session.id;
    for (const f of this.#followers) f(session.id);
    return session.id;
  }

  /** Starts a federation, unless one is already running. */
  startRun(scenario: Scenario, options: LiveRunOptions): string {
    if (this.#live !== undefined)
      throw new Busy(`run ${this.#live.id} is still going; stop it or wait for it`);
    const run = new LiveRun(`run-${++this.#count}`, scenario, options);
    this.#live = run;
    void run.ended.finally(() => {
      if (this.#live === run) this.#live = undefined;
    });
    return this.#add(run);
  }

  /** Starts replaying a run folder (read at once: a bad folder throws before anything starts). */
  startReplay(runsDir: string, folder: string, msPerMessage: number): string {
    const playing = [...this.#sessions.values()].filter((s) => s instanceof Replay && !this.#ended.has(s.id));
    if (playing.length >= MAX_REPLAYS)
      throw new Busy(`${playing.length} replays are playing; stop one or wait for one to end`);
    return this.#add(new Replay(`replay-${++this.#count}`, runsDir, folder, msPerMessage));
  }

  /** Stops every session: live runs keep their finished rounds. */
  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.stop(reason)));
    this.#followers.clear();
  }
}
