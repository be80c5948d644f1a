/** Exit codes of the `fedmed` command, as documented in README.md. */
export const EXIT = {
  /** The run completed. */
  ok: 0,
  /** An unexpected internal error: a bug in fedmed. */
  internal: 1,
  /** Bad input: a scenario, a flag, a file, or a backend that cannot load. Nothing was written. */
  badInput: 2,
  /** A round had fewer valid hospital replies than `minClients`; the rounds before it are written. */
  tooFewClients: 3,
  /** A worker thread died or did not answer within the real-time guard. */
  workerFailure: 4,
  /**
   * A jurisdiction violation: a message a policy forbids was not sent, discarded or refused, and the run
   * stopped; the rounds before it are written.
   */
  jurisdiction: 5,
  /** `fedmed verify`: the run folder does not check out (a broken chain, a total or verdict that differs). */
  verifyFailed: 6,
} as const;
