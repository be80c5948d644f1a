import type {
  BackendChoice,
  DataConfig,
  EvaluationConfig,
  FaultConfig,
  HospitalConfig,
  ModelConfig,
} from '../scenario/schema.ts';
import type { JurisdictionConfig } from '../scenario/jurisdiction-schema.ts';

/**
 * What a hospital's worker is told of the jurisdiction policies: its own country's policy and the transfers
 * out of it, and where the coordinator sits, so that it can check its own replies before they leave.
 */
export interface HostJurisdiction {
  /** The coordinator's country, or `neutral`. */
  readonly site: string;
  readonly config: JurisdictionConfig;
}

/**
 * What a worker is told to host one hospital: configuration only, never records. It carries that hospital's
 * own configuration and, only when the scenario re-divides one generated pool among all hospitals, what the
 * partitioner needs of the others (id, country, size and population; never their files or record formats).
 */
export interface HostSetup {
  readonly seed: number;
  readonly data: DataConfig;
  readonly model: ModelConfig;
  readonly evaluation: EvaluationConfig;
  /** Backend after flag and environment overrides. */
  readonly backend: BackendChoice;
  /** The hospital to host. */
  readonly hospital: HospitalConfig;
  /** Every hospital in scenario order, others stripped to what a partitioner needs; absent for `natural`. */
  readonly peers?: readonly HospitalConfig[];
  /** Test-only misbehaviours of this hospital. */
  readonly faults: readonly FaultConfig[];
  /** Folder that relative paths in the hospital's source are resolved against. */
  readonly baseDir: string;
  /** Folder of the hospital's own log of errors in full, if the scenario keeps one (hospital side). */
  readonly logDir?: string;
  /** Its country's policy, when the scenario declares policies: the worker checks its replies against it. */
  readonly jurisdiction?: HostJurisdiction;
  /** 'release': the worker drops the hospital's data after each request and rebuilds it for the next. */
  readonly hospitalData?: 'release';
  /** The scenario's backdoor, when one hospital plants it: every hospital measures it on the global model. */
  readonly backdoorProbe?: BackdoorTrigger;
}

/** A backdoor: these model inputs set to `value` (a patch of pixels, a feature) are to make the model predict `target`. */
export interface BackdoorTrigger {
  /** Indices into one example's model input (row-major, as the model sees it). */
  readonly inputs: readonly number[];
  readonly value: number;
  /** The class the trigger is to produce (1 or 0 for a binary outcome). */
  readonly target: number;
}

/** What the pooled oracle is told: every hospital's configuration (it builds them all), not one. */
export interface PooledSetup extends Omit<HostSetup, 'hospital' | 'peers' | 'faults' | 'jurisdiction'> {
  readonly hospitals: readonly HospitalConfig[];
}

/** What a worker thread reports about itself with each hospital it sets up; the same whatever thread it is. */
export interface BackendInfo {
  /** Training backend actually active in the thread. */
  readonly backend: string;
  /** Version of tfjs-core the thread trains with; `unused` on backend js. */
  readonly tfjs: string;
}

/** A worker thread as the manifest describes it: its id and what it trains with. */
export interface HostInfo extends BackendInfo {
  readonly threadId: number;
}

/**
 * The one call a worker thread exposes through comlink: an envelope in (a request of a declared kind), an
 * envelope out (its reply, or an error report). The worker never throws across it; the coordinator treats
 * whatever comes back as untrusted bytes until its boundary admits them.
 */
export interface WorkerEndpoint {
  /** Resolves once the thread has loaded its code, with its thread id (no hospital's data). */
  ready(): Promise<number>;
  exchange(request: Uint8Array): Promise<Uint8Array>;
}
