/** Exit codes of a run ended by a signal: 128 + the signal's number, as shells report them. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export type Signal = keyof typeof SIGNAL_EXIT;

/** Cleanups of the work under way, innermost last. */
const cleanups: ((signal: Signal) => void)[] = [];
/** Work under way that can stop at its next round (a run that checkpoints), counted. */
let graceful = 0;
/** The first signal received while such work was under way: it stops after its current round. */
let requested: Signal | undefined;

function onSignal(signal: Signal): void {
  if (graceful > 0 && requested === undefined) {
    requested = signal;
    process.stderr.write(
      `\nfedmed: ${signal}: stopping after the current round (a second Ctrl-C stops at once; a run that ` +
        'checkpoints can be resumed from its last completed round with --resume)\n',
    );
    return;
  }
  exitInterrupted(signal);
}

/** Runs the cleanups of the work under way, innermost first, and ends the process with the signal's code. */
export function exitInterrupted(signal: Signal): never {
  for (const cleanup of [...cleanups].reverse()) {
    try {
      cleanup(signal);
    } catch {
      // one cleanup failing must not keep the others from running
    }
  }
  process.exit(SIGNAL_EXIT[signal]);
}

/** The signal that asked the work under way to stop after its current round, if one came. */
export function stopRequested(): Signal | undefined {
  return requested;
}

/**
 * Runs `work`; if the process receives SIGINT or SIGTERM meanwhile, runs `cleanup` (which says on stderr what
 * was kept and where), after the cleanups of work nested inside it, and ends the process with
 * {@link SIGNAL_EXIT}'s code. With `graceful`, the first signal only asks the work to stop after its current
 * round ({@link stopRequested}); a second one stops at once as above.
 */
export async function interruptible<T>(
  cleanup: (signal: Signal) => void,
  work: () => Promise<T>,
  options: { readonly graceful?: boolean } = {},
): Promise<T> {
  if (cleanups.length === 0) for (const s of Object.keys(SIGNAL_EXIT) as Signal[]) process.on(s, onSignal);
  cleanups.push(cleanup);
  if (options.graceful === true) graceful++;
  try {
    return await work();
  } finally {
    if (options.graceful === true) graceful--;
    cleanups.splice(cleanups.lastIndexOf(cleanup), 1);
    if (cleanups.length === 0) {
      for (const s of Object.keys(SIGNAL_EXIT) as Signal[]) process.off(s, onSignal);
      requested = undefined;
    }
  }
}
