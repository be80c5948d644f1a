/** Exit codes of a run ended by a signal: 128 + the signal's number, as shells report them. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

type Signal = keyof typeof SIGNAL_EXIT;

/** Cleanups of the work under way, innermost last. */
const cleanups: ((signal: Signal) => void)[] = [];

function onSignal(signal: Signal): void {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup(signal);
    } catch {
      // one cleanup failing must not keep the others from running
    }
  }
  process.exit(SIGNAL_EXIT[signal]);
}

/**
 * Runs `work`; if the process receives SIGINT or SIGTERM meanwhile, runs `cleanup` (which says on stderr what
 * was kept and where), after the cleanups of work nested inside it, and ends the process with
 * {@link SIGNAL_EXIT}'s code.
 */
export async function interruptible<T>(
  cleanup: (signal: Signal) => void,
  work: () => Promise<T>,
): Promise<T> {
  if (cleanups.length === 0) for (const s of Object.keys(SIGNAL_EXIT) as Signal[]) process.on(s, onSignal);
  cleanups.push(cleanup);
  try {
    return await work();
  } finally {
    cleanups.splice(cleanups.lastIndexOf(cleanup), 1);
    if (cleanups.length === 0) for (const s of Object.keys(SIGNAL_EXIT) as Signal[]) process.off(s, onSignal);
  }
}
