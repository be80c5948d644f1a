import type { FeedEvent, FeedEventType } from './events.ts';

/** Receives a session's events in order. */
export type Listener = (event: FeedEvent) => void;

/** Event types of which a late page needs only the latest (the charts of the last round, the current pace). */
const LATEST_ONLY: ReadonlySet<FeedEventType> = new Set(['charts', 'pace']);

/**
 * The events of one session, kept so that a page opened late (another tab, a reload) sees the whole session
 * so far and then every new event, in the same order as every other page.
 */
export class Feed {
  readonly #log: FeedEvent[] = [];
  readonly #latest = new Map<FeedEventType, FeedEvent>();
  readonly #listeners = new Set<Listener>();
  #closed = false;

  /** Adds an event and hands it to every page watching. */
  publish(event: FeedEvent): void {
    if (this.#closed) return;
    if (LATEST_ONLY.has(event.type)) this.#latest.set(event.type, event);
    else this.#log.push(event);
    for (const l of this.#listeners) l(event);
  }

  /** Replays the session so far to `listener`, then keeps it informed until the returned function is called. */
  subscribe(listener: Listener): () => void {
    for (const e of this.history()) listener(e);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The session so far: every event, with only the latest of each latest-only type (after the rest). */
  history(): FeedEvent[] {
    return [...this.#log, ...this.#latest.values()];
  }

  /** True once the session has ended (its `done` event is published). */
  get finished(): boolean {
    return this.#log.some((e) => e.type === 'done');
  }

  /** Stops publishing and lets go of every listener. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }
}
