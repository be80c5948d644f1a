import type { EvaluateInstructions, EvaluateReply, FitInstructions, FitReply } from './messages.ts';
import type {
  BackendChoice,
  DataConfig,
  EvaluationConfig,
  FaultConfig,
  HospitalConfig,
  ModelConfig,
  SourceConfig,
  TrainingConfig,
} from '../scenario/schema.ts';

/** What a worker thread is told when it starts: configuration only, never records. */
export interface HostSetup {
  readonly seed: number;
  readonly data: DataConfig;
  readonly model: ModelConfig;
  readonly evaluation: EvaluationConfig;
  /** Backend after flag and environment overrides. */
  readonly backend: BackendChoice;
  /** Every hospital's configuration, in scenario order (a repartitioned pool is divided among all). */
  readonly hospitals: readonly HospitalConfig[];
  /** Ids of the hospitals this thread hosts, each an isolated object. */
  readonly hosted: readonly string[];
  /** Test-only misbehaviours of the hosted hospitals. */
  readonly faults: readonly FaultConfig[];
  /** Folder that relative paths in hospital sources are resolved against. */
  readonly baseDir: string;
}

/** What a worker thread reports once its hospitals are ready. */
export interface HostInfo {
  readonly threadId: number;
  /** Training backend actually active in the thread. */
  readonly backend: string;
  /** Version of tfjs-core the thread trains with; `unused` on backend js. */
  readonly tfjs: string;
}

/** The pooled oracle's result: the model trained on every hospital's records, evaluated at each hospital. */
export interface PooledReply {
  readonly evaluations: Readonly<Record<string, EvaluateReply>>;
  /** Training records each hospital contributed to the pool. */
  readonly trainExamples: Readonly<Record<string, number>>;
}

/**
 * The API a worker thread exposes through comlink. Calls run one at a time per thread. Replies are
 * untrusted until they pass the coordinator's boundary.
 */
export interface HospitalHostApi {
  setup(setup: HostSetup): Promise<HostInfo>;
  /**
   * Trains from the broadcast global model (and, for SCAFFOLD, the broadcast server control variate); the
   * reply's vectors are transferred, not copied.
   */
  fit(
    hospital: string,
    global: Float32Array,
    instructions: FitInstructions,
    control?: Float32Array,
  ): Promise<FitReply>;
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
  /**
   * Research-only oracle that breaks data sovereignty: builds every hospital's data in this thread, trains
   * one model on the union of their training splits and evaluates it on each held-out split.
   */
  pooled(initial: Float32Array, training: TrainingConfig, epochs: number): Promise<PooledReply>;
  /** Writes a hospital's records as its own files under `outDir`; returns the source that reads them. */
  exportData(hospital: string, outDir: string): Promise<SourceConfig>;
  /** Scores a model on every record of `site`'s files (no split); only metrics come back. */
  score(site: HospitalConfig, parameters: Float32Array): Promise<EvaluateReply>;
}
