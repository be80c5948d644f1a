import { faultAt, scenarioFaults } from '../../scenario/fault-plan.ts';
import type { FaultConfig } from '../../scenario/schema.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { PARTIAL_WORK_STRATEGIES, type ClockConfig, type SiteSpeed } from '../../scenario/clock-schema.ts';
import type { FitInstructions } from '../../protocol/messages.ts';
import type { Failure, FitAssignment, HospitalRef } from '../strategies/strategy.ts';
import { overlapsWindow, siteSpeeds, withinWindow } from './sites.ts';

/** One round on the virtual clock, as metrics.jsonl records it. */
export interface ClockRecord {
  /** Simulated seconds at the round's start and its duration. */
  readonly startSeconds: number;
  readonly seconds: number;
  /** Hospitals left out of sampling: in a maintenance window at the round's start. */
  readonly unavailable: readonly string[];
  /** Sampled hospitals dropped before sending: late for the deadline, or a window opening during their work. */
  readonly late: readonly string[];
  readonly outage: readonly string[];
  /** Sampled hospitals asked for partial work, with the local steps that fit before the deadline. */
  readonly partial: Readonly<Record<string, number>>;
  /** Each sent hospital's simulated seconds from request to reply. */
  readonly hospitals: Readonly<Record<string, number>>;
}

/** What the clock decided for a round's fit phase before anything was sent. */
export interface ClockPlan {
  readonly send: readonly FitAssignment[];
  readonly dropped: readonly Failure[];
  /** Completes the round's record once its fit phase is over; advances the clock. */
  finish(): ClockRecord;
}

/**
 * Simulated time (design: "time is virtual"). Each sampled hospital's round takes latency + bytes down over its
 * bandwidth, then its training examples × local epochs over its speed (× a `slow` fault's factor), then latency
 * + bytes up; bytes are the fit vectors at float32. A round lasts as long as its slowest hospital, or its whole
 * deadline when someone was late; a sequential strategy's hospitals add up. Everything is decided by the
 * coordinator from the scenario and seed before sending, so stragglers and durations are the same at any
 * worker count and on any machine; real time only guards against real hangs.
 */
export class VirtualClock {
  readonly #scenario: Scenario;
  readonly #clock: ClockConfig;
  readonly #speeds: ReadonlyMap<string, SiteSpeed>;
  readonly #trainExamples: ReadonlyMap<string, number>;
  readonly #fitBytes: number;
  readonly #late: 'drop' | 'partial';
  readonly #faults: readonly FaultConfig[];
  #now = 0;

  constructor(
    scenario: Scenario & { readonly clock: ClockConfig },
    trainExamples: ReadonlyMap<string, number>,
    fitBytes: number,
  ) {
    this.#scenario = scenario;
    this.#clock = scenario.clock;
    this.#speeds = siteSpeeds(
      scenario.clock,
      scenario.hospitals.map((h) => h.id),
      scenario.seed,
    );
    this.#trainExamples = trainExamples;
    this.#fitBytes = fitBytes;
    this.#faults = scenarioFaults(scenario);
    this.#late =
      scenario.clock.late ?? (PARTIAL_WORK_STRATEGIES.includes(scenario.strategy.name) ? 'partial' : 'drop');
  }

  /** Simulated seconds since the run began. */
  get now(): number {
    return this.#now;
  }

  /** Sets the clock to where a checkpointed run left it. */
  resumeAt(seconds: number): void {
    if (!(Number.isFinite(seconds) && seconds >= 0))
      throw new RangeError('the checkpoint holds no valid virtual-clock time');
    this.#now = seconds;
  }

  /** The hospitals that may be sampled this round: none that is in a maintenance window at its start. */
  available(hospitals: readonly HospitalRef[]): HospitalRef[] {
    return hospitals.filter(
      (h) =>
        !withinWindow(
          this.#clock.availability.filter((w) => w.hospital === h.id),
          this.#now,
        ),
    );
  }

  /**
   * Decides, before sending, who of the sampled hospitals can take part: one whose work would overlap a window
   * is dropped (an outage); one that would miss the deadline is dropped or, with `late: partial` (by default
   * for FedProx and FedNova), asked for the local steps that fit (at least one).
   */
  plan(
    round: number,
    assignments: readonly FitAssignment[],
    unavailable: readonly string[],
    sequential: boolean,
  ): ClockPlan {
    const deadline = this.#clock.deadlineSeconds;
    const send: FitAssignment[] = [];
    const dropped: Failure[] = [];
    const late: string[] = [];
    const outage: string[] = [];
    const partial: Record<string, number> = {};
    const durations: Record<string, number> = {};
    let elapsed = 0;
    for (const a of assignments) {
      const t = this.#timing(a.hospital, a.instructions, round);
      const start = this.#now + (sequential ? elapsed : 0);
      let seconds = t.transfer + t.compute;
      let instructions = a.instructions;
      if (deadline !== undefined && seconds > deadline) {
        const steps =
          this.#late === 'partial' ? Math.floor(((deadline - t.transfer) / t.compute) * t.steps) : 0;
        if (steps < 1) {
          late.push(a.hospital);
          dropped.push({
            hospital: a.hospital,
            reason: `hospital ${a.hospital}: would reply after ${round2(seconds)} s of simulated time, past the deadline of ${deadline} s; dropped as a straggler`,
          });
          continue;
        }
        partial[a.hospital] = steps;
        instructions = { ...instructions, maxSteps: steps };
        seconds = t.transfer + (t.compute * steps) / t.steps;
      }
      if (this.#inWindow(a.hospital, start, start + seconds)) {
        outage.push(a.hospital);
        dropped.push({
          hospital: a.hospital,
          reason: `hospital ${a.hospital}: a maintenance window opens during its work this round; dropped`,
        });
        continue;
      }
      durations[a.hospital] = seconds;
      elapsed += seconds;
      send.push({ hospital: a.hospital, instructions });
    }
    const slowest = Math.max(0, ...Object.values(durations));
    const waited = late.length + outage.length > 0 && deadline !== undefined ? deadline : 0;
    const seconds = sequential ? elapsed : Math.max(slowest, waited);
    return {
      send,
      dropped,
      finish: () => {
        const record: ClockRecord = {
          startSeconds: this.#now,
          seconds,
          unavailable,
          late,
          outage,
          partial,
          hospitals: durations,
        };
        this.#now += seconds;
        return record;
      },
    };
  }

  #timing(hospital: string, instructions: FitInstructions, round: number) {
    const speed = this.#speeds.get(hospital)!;
    const n = this.#trainExamples.get(hospital)!;
    const { localEpochs, batchSize } = instructions.training;
    const slow = faultAt(this.#faults, this.#scenario.seed, hospital, round);
    const factor = slow?.behaviour === 'slow' ? slow.factor! : 1;
    const oneWay = speed.latencyMs / 1000 + (this.#fitBytes * 8) / (speed.bandwidthMbps * 1e6);
    return {
      transfer: 2 * oneWay,
      compute: ((n * localEpochs) / speed.samplesPerSecond) * factor,
      steps: localEpochs * Math.ceil(n / Math.min(batchSize, n)),
    };
  }

  #inWindow(hospital: string, start: number, end: number): boolean {
    return overlapsWindow(
      this.#clock.availability.filter((w) => w.hospital === hospital),
      start,
      end,
    );
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
