/** Exit codes of a run ended by a signal: 128 + the signal's number, as shells report them. */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Runs `work`; if the process receives SIGINT or SIGTERM meanwhile, runs `cleanup` (which says on stderr what
 * was kept and where) and ends the process with {@link SIGNAL_EXIT}'s code.
 */
export async function interruptible<T>(
  cleanup: (signal: keyof typeof SIGNAL_EXIT) => void,
  work: () => Promise<T>,
): Promise<T> {
  const handlers = (Object.keys(SIGNAL_EXIT) as (keyof typeof SIGNAL_EXIT)[]).map((signal) => {
    const handler = () => {
      cleanup(signal);
      process.exit(SIGNAL_EXIT[signal]);
    };
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  try {
    return await work();
  } finally {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  }
}
