import { version_core as tfjsVersion } from '@tensorflow/tfjs-core';
import { stream } from '../common/rng.ts';
import { encodeEnvelope, openEnvelope, type TypedVector } from '../protocol/envelope.ts';
import { kindLimits, type Kind } from '../protocol/kinds.ts';
import type { BackendInfo, HostSetup, PooledSetup, WorkerEndpoint } from '../protocol/host-api.ts';
import type {
  EvaluateInstructions,
  EvaluateReply,
  FitInstructions,
  LocalOnlyInstructions,
  TrainingInstructions,
} from '../protocol/messages.ts';
import type { BackendChoice, ModelConfig } from '../scenario/schema.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import { selectBackend, type BackendName } from '../models/backend.ts';
import { createTrainer, usesTfjs } from '../models/create-trainer.ts';
import type { LocalTrainer } from '../models/types.ts';
import {
  buildLocalData,
  buildScoringData,
  concatExamples,
  exportLocalData,
  type DataContext,
  type LocalData,
} from './data/index.ts';
import { BackendUnavailable, HospitalRefusal, logHospitalError, reportOf } from './error-reports.ts';
import { decodeClientState, encodeClientState } from './client-state.ts';
import { breakReply, failBeforeTraining, faultFor } from './faults.ts';
import { evaluateOn, Hospital } from './hospital.ts';

/** A reply before it is encoded. */
interface Reply {
  readonly kind: Kind;
  readonly fields: Record<string, unknown>;
  readonly vectors?: readonly (readonly [string, TypedVector])[];
}

/** Requests come from the coordinator; their size is bounded by what a model and a configuration take. */
const INCOMING = { maxBytes: 2 ** 31 - 1, maxJsonBytes: 64 * 1024 * 1024 };

interface Hosted {
  readonly hospital: Hospital;
  readonly setup: HostSetup;
  readonly parameters: number;
}

/**
 * The hospitals of one worker thread behind its one call, `exchange`: an envelope in, an envelope out. Each
 * hospital's data is built here and never leaves. Whatever goes wrong inside becomes an error report of a
 * fixed category (the full text goes to the hospital's own log, if it keeps one); a reply larger than the
 * protocol allows is replaced by an `oversized` report before it leaves.
 */
export class HospitalHost implements Pick<WorkerEndpoint, 'exchange'> {
  readonly #hospitals = new Map<string, Hosted>();
  #backend:
    { readonly requested: BackendChoice; readonly model: string; readonly name: BackendName } | undefined;
  #pooled:
    | { readonly trainer: LocalTrainer; readonly setup: PooledSetup; readonly data: Map<string, LocalData> }
    | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  exchange(request: Uint8Array): Promise<Uint8Array> {
    const run = this.#queue.then(() => this.#handle(request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #handle(request: Uint8Array): Promise<Uint8Array> {
    let hospital: string | undefined;
    let log: { baseDir?: string; logDir?: string } = {};
    let kind = 'a request';
    try {
      const env = openEnvelope(request, INCOMING);
      kind = env.kind;
      const { hospital: id, request: body } = env.fields as { hospital?: unknown; request?: unknown };
      if (typeof id === 'string') hospital = id;
      const hosted = hospital === undefined ? undefined : this.#hospitals.get(hospital);
      log = hosted?.setup ?? (body as { baseDir?: string; logDir?: string } | undefined) ?? {};
      const reply = await this.#dispatch(env.kind, hospital, body, env.vectors);
      const bytes = encodeEnvelope(reply.kind, reply.fields, reply.vectors);
      const sizes = {
        parameters: (hospital === undefined ? undefined : this.#hospitals.get(hospital)?.parameters) ?? 0,
        histogramBins: this.#histogramBins(hospital),
      };
      if (sizes.parameters > 0 && bytes.byteLength > kindLimits(reply.kind, sizes).maxBytes) {
        throw new HospitalRefusal('oversized', reply.kind);
      }
      return bytes;
    } catch (e) {
      if (hospital !== undefined) logHospitalError(log.baseDir, log.logDir, hospital, kind, e);
      return encodeEnvelope('error', { error: reportOf(e) });
    }
  }

  async #dispatch(
    kind: string,
    hospital: string | undefined,
    body: unknown,
    vectors: ReadonlyMap<string, TypedVector>,
  ): Promise<Reply> {
    const params = () => {
      const p = vectors.get('parameters');
      if (!(p instanceof Float32Array)) throw new HospitalRefusal('refused', 'parameters');
      return p;
    };
    switch (kind) {
      case 'setup':
        return this.#setup(body as HostSetup);
      case 'fit-request':
        return this.#fit(
          this.#hosted(hospital),
          params(),
          body as FitInstructions,
          vectors.get('control'),
          vectors.get('state'),
        );
      case 'evaluate-request': {
        const h = this.#hosted(hospital);
        return evaluation('evaluate-reply', h.hospital.evaluate(params(), body as EvaluateInstructions));
      }
      case 'local-only-request': {
        const { training, epochs } = body as LocalOnlyInstructions;
        return evaluation(
          'local-only-reply',
          this.#hosted(hospital).hospital.localOnly(params(), training, epochs),
        );
      }
      case 'pooled-train-request': {
        const { setup, training, epochs } = body as {
          setup: PooledSetup;
          training: TrainingInstructions;
          epochs: number;
        };
        return this.#pooledTrain(setup, params(), training, epochs);
      }
      case 'pooled-evaluate-request':
        return this.#pooledEvaluate(hospital);
      case 'export-request': {
        const { setup, outDir } = body as { setup: HostSetup; outDir: string };
        return {
          kind: 'export-reply',
          fields: { source: exportLocalData(setup.hospital.id, dataContext(setup), outDir) },
        };
      }
      case 'score-request':
        return this.#score(body as HostSetup, params());
      default:
        throw new HospitalRefusal('refused', 'kind');
    }
  }

  async #setup(s: HostSetup): Promise<Reply> {
    const name = await this.#useBackend(s.backend, s.model);
    const data = buildLocalData(s.hospital.id, dataContext(s));
    const trainer = this.#trainer(s.model, s);
    this.#hospitals.get(s.hospital.id)?.hospital.dispose();
    this.#hospitals.delete(s.hospital.id);
    const hospital = new Hospital(s.hospital, s.seed, trainer, data, s.evaluation);
    this.#hospitals.set(s.hospital.id, { hospital, setup: s, parameters: trainer.spec.length });
    const host: BackendInfo = { backend: name, tfjs: usesTfjs(name) ? tfjsVersion : 'unused' };
    return { kind: 'setup-reply', fields: { host, train: data.train.n, test: data.test.n } };
  }

  /**
   * One round of local training. The hospital's state comes with the request (what it returned last time,
   * kept for it by the coordinator's process), or it starts with none; its new state goes back with the reply.
   * Nothing a thread remembers carries over, so it does not matter which thread hosts the hospital.
   */
  #fit(
    h: Hosted,
    global: Float32Array,
    ins: FitInstructions,
    control: TypedVector | undefined,
    state: TypedVector | undefined,
  ): Reply {
    if (control !== undefined && !(control instanceof Float32Array))
      throw new HospitalRefusal('refused', 'control');
    if (state !== undefined && !(state instanceof Uint8Array)) throw new HospitalRefusal('refused', 'state');
    const fault = faultFor(h.setup.faults, h.setup.seed, h.hospital.id, ins.round);
    failBeforeTraining(fault);
    h.hospital.importState(state === undefined ? new Map() : decodeClientState(h.hospital.id, state));
    const reply = h.hospital.fit(global, ins, control, fault?.behaviour === 'label-flip');
    const kept = h.hospital.exportState();
    const draw = { seed: h.setup.seed, hospital: h.hospital.id, round: ins.round };
    const out =
      fault === undefined ? reply : breakReply(reply, fault, draw, () => h.hospital.sampleRows(5), global);
    const o = out as { vectors?: Record<string, TypedVector>; numExamples?: unknown; metrics?: unknown };
    const vectors: [string, TypedVector][] = Object.entries(o.vectors ?? {});
    if (kept.size > 0) vectors.push(['state', encodeClientState(h.hospital.id, kept)]);
    return { kind: 'fit-reply', fields: { numExamples: o.numExamples, metrics: o.metrics }, vectors };
  }

  async #pooledTrain(
    setup: PooledSetup,
    initial: Float32Array,
    training: TrainingInstructions,
    epochs: number,
  ): Promise<Reply> {
    await this.#useBackend(setup.backend, setup.model);
    const ctx: DataContext = {
      seed: setup.data.seed ?? setup.seed,
      data: setup.data,
      hospitals: setup.hospitals,
      baseDir: setup.baseDir,
    };
    const data = new Map(setup.hospitals.map((h) => [h.id, buildLocalData(h.id, ctx)]));
    this.#pooled?.trainer.dispose();
    const trainer = this.#trainer(setup.model, setup);
    this.#pooled = { trainer, setup, data };
    trainer.setParameters(initial);
    const union = concatExamples([...data.values()].map((d) => d.train));
    trainer.train(union, { ...training, localEpochs: epochs }, stream(setup.seed, 'pooled'));
    return {
      kind: 'pooled-train-reply',
      fields: { trainExamples: Object.fromEntries([...data].map(([id, d]) => [id, d.train.n])) },
    };
  }

  #pooledEvaluate(hospital: string | undefined): Reply {
    const d = hospital === undefined ? undefined : this.#pooled?.data.get(hospital);
    if (this.#pooled === undefined || d === undefined) throw new HospitalRefusal('not-hosted');
    return evaluation(
      'pooled-reply',
      evaluateOn(this.#pooled.trainer, d.test, d.testGroups, this.#pooled.setup.evaluation),
    );
  }

  async #score(s: HostSetup, parameters: Float32Array): Promise<Reply> {
    await this.#useBackend(s.backend, s.model);
    const { test, testGroups } = buildScoringData(s.hospital, dataContext(s));
    const trainer = this.#trainer(s.model, s);
    try {
      trainer.setParameters(parameters);
      return evaluation('score-reply', evaluateOn(trainer, test, testGroups, s.evaluation));
    } finally {
      trainer.dispose();
    }
  }

  async #useBackend(requested: BackendChoice, model: ModelConfig): Promise<BackendName> {
    const key = JSON.stringify(model);
    if (this.#backend?.requested === requested && this.#backend.model === key) return this.#backend.name;
    let name: BackendName;
    try {
      name = await selectBackend(requested, model);
    } catch (e) {
      throw new BackendUnavailable(e instanceof Error ? e.message : 'the backend cannot load');
    }
    this.#backend = { requested, model: key, name };
    return name;
  }

  #trainer(model: ModelConfig, s: Pick<HostSetup, 'data'>): LocalTrainer {
    return createTrainer(this.#backend?.name ?? 'cpu', model, inputShapeOf(s.data));
  }

  #hosted(id: string | undefined): Hosted {
    const h = id === undefined ? undefined : this.#hospitals.get(id);
    if (h === undefined) throw new HospitalRefusal('not-hosted');
    return h;
  }

  #histogramBins(id: string | undefined): number {
    const h = id === undefined ? undefined : this.#hospitals.get(id);
    return (h?.setup ?? this.#pooled?.setup)?.evaluation.histogramBins ?? 0;
  }
}

/** The data a hospital's configuration describes, built inside this worker. */
function dataContext(s: HostSetup): DataContext {
  return {
    seed: s.data.seed ?? s.seed,
    data: s.data,
    hospitals: s.peers ?? [s.hospital],
    baseDir: s.baseDir,
  };
}

/** An evaluation as a reply: its count and metrics, and its score histogram as one uint32 vector. */
function evaluation(kind: Kind, e: EvaluateReply): Reply {
  const h = e.histogram;
  return {
    kind,
    fields: { numExamples: e.numExamples, metrics: e.metrics },
    vectors: h === undefined ? [] : [['histogram', Uint32Array.from([...h.positives, ...h.negatives])]],
  };
}
