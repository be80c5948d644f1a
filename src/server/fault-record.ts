import { faultAt, scenarioFaults } from '../scenario/fault-plan.ts';
import { PROTOCOL_FAULTS, type Scenario } from '../scenario/schema.ts';
import type { ThreadFailure } from './recovery.ts';
import type { Failure } from './strategies/strategy.ts';

const PROTOCOL_BREAKS: ReadonlySet<string> = new Set(PROTOCOL_FAULTS);

/** Something that went wrong at a hospital in a round, and how the run handled it (metrics.jsonl `faults`). */
export interface FaultEvent {
  readonly hospital: string;
  readonly phase: 'fit' | 'evaluate';
  /** The injected behaviour, or `thread-failure` for a worker thread that died or hung on its own. */
  readonly kind: string;
  readonly handled: string;
  /** The thread that failed serving this hospital's call, and the id of the thread that replaced it. */
  readonly thread?: number;
  readonly replacement?: number;
}

/** What a round's fit phase produced, as the fault record needs it. */
export interface FitOutcome {
  readonly sampled: readonly string[];
  readonly admitted: readonly string[];
  readonly failures: readonly Failure[];
}

/**
 * The round's faults: each sampled hospital's injected fault (the same plan its worker follows) with what
 * became of it (protocol breaks excepted: their rejected replies and failures already record them), and each worker thread that failed without an injected crash or hang explaining it.
 */
export function roundFaults(
  scenario: Scenario,
  round: number,
  fit: FitOutcome,
  threads: readonly ThreadFailure[],
  evaluationFailures: readonly Failure[],
): FaultEvent[] {
  const events: FaultEvent[] = [];
  const faults = scenarioFaults(scenario);
  const explained = new Set<ThreadFailure>();
  for (const hospital of fit.sampled) {
    const fault = faultAt(faults, scenario.seed, hospital, round);
    // A protocol break is already on record: its rejected reply (with the reason) and the round's failure.
    if (fault === undefined || PROTOCOL_BREAKS.has(fault.behaviour)) continue;
    const thread = threads.find((t) => t.phase === 'fit' && t.dropped === hospital);
    const failure = fit.failures.find((f) => f.hospital === hospital);
    if (thread !== undefined) explained.add(thread);
    const handled =
      thread !== undefined
        ? thread.handled
        : failure !== undefined
          ? `no reply admitted: ${failure.reason}`
          : fit.admitted.includes(hospital)
            ? fault.behaviour === 'slow'
              ? `admitted; its local compute took ${fault.factor}× longer on the virtual clock`
              : 'admitted: every value within the protocol'
            : 'not admitted';
    events.push({
      hospital,
      phase: 'fit',
      kind: fault.behaviour,
      handled,
      ...(thread === undefined ? {} : { thread: thread.thread, replacement: thread.replacement }),
    });
  }
  for (const t of threads) {
    if (explained.has(t)) continue;
    const hospital = t.dropped ?? t.redone[0] ?? '?';
    const failed = t.phase === 'evaluate' && evaluationFailures.some((f) => f.hospital === hospital);
    events.push({
      hospital,
      phase: t.phase,
      kind: 'thread-failure',
      handled: `${t.cause}; ${t.handled}${failed ? '; its evaluation is missing this round' : ''}`,
      thread: t.thread,
      replacement: t.replacement,
    });
  }
  return events;
}

/** A run's faults in all: injected ones by behaviour, dropouts they caused, threads replaced. */
export interface FaultSummary {
  readonly injected: Readonly<Record<string, number>>;
  /** Hospitals counted as dropouts of a round because their worker thread died or hung serving them. */
  readonly dropouts: number;
  readonly threadsReplaced: number;
}

/** Adds one round's events and thread failures to a run's totals. */
export function addFaults(
  total: FaultSummary | undefined,
  events: readonly FaultEvent[],
  threads: readonly ThreadFailure[],
): FaultSummary | undefined {
  if (events.length === 0 && threads.length === 0) return total;
  const injected: Record<string, number> = { ...(total?.injected ?? {}) };
  for (const e of events) if (e.kind !== 'thread-failure') injected[e.kind] = (injected[e.kind] ?? 0) + 1;
  return {
    injected,
    dropouts: (total?.dropouts ?? 0) + threads.filter((t) => t.dropped !== undefined).length,
    threadsReplaced: (total?.threadsReplaced ?? 0) + threads.length,
  };
}
