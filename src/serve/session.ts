import type { Feed } from './feed.ts';

/** A live run or a replay that pages can watch. */
export interface Session {
  readonly id: string;
  readonly feed: Feed;
  /** Changes the pause between messages; every page is told. */
  setPace(msPerMessage: number): void;
  /** Ends the session cleanly (a live run keeps its finished rounds) and resolves when it has ended. */
  stop(reason: string): Promise<void>;
  /** Resolves when the session has ended, however it ended. */
  readonly ended: Promise<void>;
}

/** Pauses a page may choose between messages: full speed up to 5 s per message. */
export const MAX_PACE_MS = 5000;

/** The pace a session starts with when none is asked for. */
export const DEFAULT_PACE_MS = 0;
