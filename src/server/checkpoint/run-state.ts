import { CheckpointError } from './checkpoint-error.ts';
import type { ExportedTallies } from '../../protocol/jurisdiction/enforcer.ts';
import type { VirtualClock } from '../clock/virtual-clock.ts';
import type { RoundRecord } from '../coordinator.ts';
import type { FaultSummary } from '../fault-record.ts';
import type { Provenance } from '../jurisdiction/gate.ts';
import type { ChainHead, Crossing, Ledger } from '../ledger.ts';
import type { ClientStateStore } from '../state-store.ts';
import type { Strategy, StrategyState } from '../strategies/strategy.ts';

/**
 * Everything a run carries from one round to the next, at the end of a completed round (round 0: after setup).
 * Random streams are not in it: every stream is named by seed, purpose and round or hospital, so a resumed run
 * draws the same numbers without any saved position.
 */
export interface RoundState {
  /** Rounds completed. */
  readonly round: number;
  /** The global model after that round. */
  readonly model: Float32Array;
  /** The strategy's server state; undefined when it cannot be saved (see `refusal`). */
  readonly strategy: StrategyState | undefined;
  /** Each hospital's client-state blob (opaque: only its worker reads it), ascending by id. */
  readonly clientStates: readonly (readonly [string, Uint8Array])[];
  /** The crossing record's end. */
  readonly ledger: ChainHead;
  /** Simulated seconds on the virtual clock, when the scenario has one. */
  readonly clockSeconds?: number;
  readonly faults?: FaultSummary;
  /**
   * The jurisdiction layer's memory: where the global model comes from, and the patients its enforcer counted
   * as exported (the hospitals' holdings are learned again at a resumed run's setup).
   */
  readonly jurisdiction?: { readonly model: Provenance; readonly exported: ExportedTallies };
  /** Why this run cannot be resumed from it (a strategy whose state cannot be saved, secure aggregation). */
  readonly refusal?: string;
}

/** The parts of a running federation a round's state is read from and put back into. */
export interface RunParts {
  readonly strategy: Strategy;
  readonly states: ClientStateStore;
  readonly ledger: Ledger;
  readonly clock: VirtualClock | undefined;
  /** Whether the scenario is aggregated securely (its protocol state is not saved). */
  readonly secure: boolean;
  /** Whether the strategy is a user's module, which must save its own state to be resumable. */
  readonly custom: boolean;
  /** Whether the scenario audits the global model every k rounds (those models are not saved). */
  readonly periodicAudit?: boolean;
  /** The model's parameter count and the scenario's hospitals, which a checkpoint's contents must fit. */
  readonly parameters?: number;
  readonly hospitals?: ReadonlySet<string>;
}

/** A checkpointed run to continue: its last round's state, the records it wrote, its last round's record. */
export interface ResumePoint {
  readonly state: RoundState;
  readonly crossings: readonly Crossing[];
  readonly final?: RoundRecord;
}

/** The state at the end of `round`, with `model` the global model. */
export function captureRound(
  parts: RunParts,
  round: number,
  model: Float32Array,
  faults: FaultSummary | undefined,
): RoundState {
  const refusal = refusalOf(parts);
  const gate = parts.ledger.jurisdiction;
  const provenance = gate?.provenanceOf(model);
  return {
    round,
    model,
    strategy: refusal === undefined ? parts.strategy.checkpointState!() : undefined,
    clientStates: parts.states.entries(),
    ledger: parts.ledger.chain,
    ...(parts.clock === undefined ? {} : { clockSeconds: parts.clock.now }),
    ...(faults === undefined ? {} : { faults }),
    ...(gate === undefined || provenance === undefined
      ? {}
      : { jurisdiction: { model: provenance, exported: gate.enforcer.exported() } }),
    ...(refusal === undefined ? {} : { refusal }),
  };
}

/**
 * Puts a checkpointed run's state back into a federation whose hospitals have just been set up again:
 * the crossing record (the setup's crossings must be the ones recorded), the strategy, the client states, the
 * clock and the jurisdiction layer. Returns the global model to continue from. Throws a CheckpointError naming
 * what does not fit.
 */
export function restoreRound(parts: RunParts, resume: ResumePoint): Float32Array {
  try {
    return restore(parts, resume);
  } catch (e) {
    if (e instanceof RangeError) throw new CheckpointError(`cannot resume: ${e.message}`);
    throw e;
  }
}

function restore(parts: RunParts, resume: ResumePoint): Float32Array {
  const s = resume.state;
  if (s.refusal !== undefined) throw new RangeError(s.refusal);
  parts.ledger.resumeFrom(resume.crossings);
  if (parts.ledger.chain.head !== s.ledger.head || parts.ledger.chain.entries !== s.ledger.entries)
    throw new RangeError('crossings.jsonl does not end where the checkpoint says the record ends');
  if (s.strategy === undefined || parts.strategy.restoreState === undefined)
    throw new RangeError(`strategy ${parts.strategy.name} cannot restore its state`);
  if (
    parts.parameters !== undefined &&
    (s.model.length !== parts.parameters || !s.model.every((x) => Number.isFinite(x)))
  )
    throw new RangeError(`its model is not ${parts.parameters} finite parameters, as the run's model has`);
  const stranger = s.clientStates.find(([h]) => parts.hospitals !== undefined && !parts.hospitals.has(h));
  if (stranger !== undefined)
    throw new RangeError(`it keeps state for ${stranger[0]}, not a hospital of the run`);
  parts.strategy.restoreState(s.strategy);
  parts.states.restore(new Map(s.clientStates));
  if ((parts.clock === undefined) !== (s.clockSeconds === undefined))
    throw new RangeError('the checkpoint and the scenario disagree on the virtual clock');
  if (s.clockSeconds !== undefined) parts.clock!.resumeAt(s.clockSeconds);
  const model = s.model.slice();
  const gate = parts.ledger.jurisdiction;
  if (gate !== undefined) {
    if (s.jurisdiction === undefined) throw new RangeError('the checkpoint lacks the jurisdiction record');
    gate.register(model, s.jurisdiction.model);
    gate.enforcer.restoreExported(s.jurisdiction.exported);
  }
  return model;
}

/** Why a run of these parts cannot be resumed, or undefined if it can. */
function refusalOf(parts: RunParts): string | undefined {
  if (parts.secure)
    return 'secure aggregation keeps protocol state (keys, the privacy accountant) that checkpoints do not save';
  if (parts.periodicAudit === true)
    return 'audit.every audits models of earlier rounds, which checkpoints do not save';
  const s = parts.strategy;
  if (s.checkpointState === undefined || s.restoreState === undefined)
    return `strategy ${s.name} defines no checkpointState()/restoreState(), so its state cannot be saved`;
  if (
    parts.custom &&
    !Object.hasOwn(Object.getPrototypeOf(s) as object, 'checkpointState') &&
    !Object.hasOwn(s, 'checkpointState')
  )
    return `the custom strategy ${s.name} defines no checkpointState()/restoreState() of its own, so its state cannot be saved`;
  return undefined;
}
