import type { EvaluateInstructions, EvaluateReply, FitInstructions, FitReply } from './messages.ts';
import type {
  BackendChoice,
  DataConfig,
  FaultConfig,
  HospitalConfig,
  ModelConfig,
  TrainingConfig,
} from '../scenario/schema.ts';

/** What a worker thread is told when it starts: only what its own hospitals need. */
export interface HostSetup {
  readonly seed: number;
  readonly data: DataConfig;
  readonly model: ModelConfig;
  /** Backend after flag and environment overrides. */
  readonly backend: BackendChoice;
  /** The hospitals this thread hosts, each an isolated object. */
  readonly hospitals: readonly HospitalConfig[];
  /** Test-only misbehaviours of those hospitals. */
  readonly faults: readonly FaultConfig[];
}

/** What a worker thread reports once its hospitals are ready. */
export interface HostInfo {
  readonly threadId: number;
  /** tfjs backend actually active in the thread. */
  readonly backend: string;
  /** Version of tfjs-core in the thread. */
  readonly tfjs: string;
}

/**
 * The API a worker thread exposes through comlink. Calls run one at a time per thread. Replies are
 * untrusted until they pass the coordinator's boundary.
 */
export interface HospitalHostApi {
  setup(setup: HostSetup): Promise<HostInfo>;
  /** Trains from the broadcast global model; the reply's vectors are transferred, not copied. */
  fit(hospital: string, global: Float32Array, instructions: FitInstructions): Promise<FitReply>;
  /** Evaluates the broadcast global model on the hospital's held-out split. */
  evaluate(
    hospital: string,
    global: Float32Array,
    instructions: EvaluateInstructions,
  ): Promise<EvaluateReply>;
  /** Trains on this hospital alone for `epochs` epochs from `initial`, then evaluates on its held-out split. */
  localOnly(
    hospital: string,
    initial: Float32Array,
    training: TrainingConfig,
    epochs: number,
  ): Promise<EvaluateReply>;
}
