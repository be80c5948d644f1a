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
import type { BackendChoice, FaultConfig, ModelConfig } from '../scenario/schema.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import { headOf } from '../protocol/outcome.ts';
import { isOwnData } from '../protocol/own-data-layout.ts';
import { selectBackend, type BackendName } from '../models/backend.ts';
import { createTrainer, usesTfjs } from '../models/create-trainer.ts';
import { loadedTfjs } from '../models/tfjs-runtime.ts';
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
import { evaluateOn, Hospital, type DataAttack } from './hospital.ts';
import type { SecureFitInstructions } from '../protocol/secure-sums.ts';
import { SecureParticipant } from './privacy/secure-participant.ts';
import { OutgoingCheck } from './jurisdiction-check.ts';
import { OwnDataSetup } from './own-data-setup.ts';
import type { ReferenceStats } from './privacy/membership-audit.ts';
import { splitDataset, type SplitRequest } from './data/split-dataset.ts';
import type { AuditInstructions } from '../protocol/membership-audit.ts';
import { countryAggregate, type CountryAggregateInstructions } from './country-aggregator.ts';

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
  /** Its own check of its replies against its country's policy, when the scenario declares policies. */
  readonly outgoing?: OutgoingCheck;
}

/**
 * A hospital whose data the scenario has released between requests: its configuration, the counts it reported
 * at setup and, for own data, the federation's transform; its data is rebuilt from these for each request.
 */
interface Dormant {
  readonly setup: HostSetup;
  readonly counts: { readonly train: number; readonly test: number };
  readonly transform?: ReadonlyMap<string, TypedVector>;
}

/** A hospital of own data set up but waiting for the federation's input transform. */
interface Awaiting {
  readonly own: OwnDataSetup;
  readonly trainer: LocalTrainer;
  readonly setup: HostSetup;
}

/**
 * The hospitals of one worker thread behind its one call, `exchange`: an envelope in, an envelope out. Each
 * hospital's data is built here and never leaves. Whatever goes wrong inside becomes an error report of a
 * fixed category (the full text goes to the hospital's own log, if it keeps one); a reply larger than the
 * protocol allows is replaced by an `oversized` report before it leaves.
 */
export class HospitalHost implements Pick<WorkerEndpoint, 'exchange'> {
  readonly #hospitals = new Map<string, Hosted>();
  readonly #awaiting = new Map<string, Awaiting>();
  readonly #dormant = new Map<string, Dormant>();
  /** Each hospital's audit reference statistics since its last setup (kept across rebuilds of released data). */
  readonly #references = new Map<string, Map<string, ReferenceStats>>();
  /** The one model the released hospitals of this thread train in turn (each sets its parameters first). */
  #shared: { readonly key: string; readonly trainer: LocalTrainer } | undefined;
  #backend:
    { readonly requested: BackendChoice; readonly model: string; readonly name: BackendName } | undefined;
  #pooled:
    | { readonly trainer: LocalTrainer; readonly setup: PooledSetup; readonly data: Map<string, LocalData> }
    | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  /** Each hosted hospital's part in the current secure-aggregation round. */
  readonly #secure = new Map<string, SecureParticipant>();

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
      if (hospital !== undefined) this.#hospitals.get(hospital)?.outgoing?.check(reply);
      const bytes = encodeEnvelope(reply.kind, reply.fields, reply.vectors);
      const sizes = {
        parameters: (hospital === undefined ? undefined : this.#hospitals.get(hospital)?.parameters) ?? 0,
        histogramBins: this.#histogramBins(hospital),
        ...(hospital === undefined ? {} : { secagg: this.#secure.get(hospital)?.bounds }),
      };
      if (sizes.parameters > 0 && bytes.byteLength > kindLimits(reply.kind, sizes).maxBytes) {
        throw new HospitalRefusal('oversized', reply.kind);
      }
      return bytes;
    } catch (e) {
      if (hospital !== undefined) logHospitalError(log.baseDir, log.logDir, hospital, kind, e);
      return encodeEnvelope('error', { error: reportOf(e) });
    } finally {
      if (hospital !== undefined && this.#dormant.has(hospital)) this.#hospitals.delete(hospital);
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
        return this.#score(body as HostSetup, params(), vectors);
      case 'secagg-fit-request':
        return this.#secureFit(this.#hosted(hospital), params(), body as SecureFitInstructions, vectors);
      case 'secagg-roster':
        return { kind: 'secagg-shares', fields: {}, vectors: this.#participant(hospital).roster(vectors) };
      case 'secagg-delivery':
        return { kind: 'secagg-masked', fields: {}, vectors: this.#participant(hospital).delivery(vectors) };
      case 'secagg-unmask':
        return { kind: 'secagg-reveal', fields: {}, vectors: this.#participant(hospital).unmask(vectors) };
      case 'statistics-request':
        return this.#statistics(hospital);
      case 'transform-request':
        return this.#transform(hospital, vectors);
      case 'split-request':
        return { kind: 'split-reply', fields: { rows: splitDataset(body as SplitRequest) } };
      case 'audit-request':
        return this.#audit(this.#hosted(hospital), params(), body as AuditInstructions, vectors.get('state'));
      case 'country-only-fit-request': {
        const reply = this.#fit(
          this.#hosted(hospital),
          params(),
          body as FitInstructions,
          vectors.get('control'),
          vectors.get('state'),
        );
        return { ...reply, kind: 'country-only-fit-reply' };
      }
      case 'country-only-evaluate-request': {
        const h = this.#hosted(hospital);
        return evaluation('country-only-reply', h.hospital.evaluate(params(), body as EvaluateInstructions));
      }
      case 'country-fit-request':
        return countryAggregate(params(), vectors, body as CountryAggregateInstructions);
      default:
        throw new HospitalRefusal('refused', 'kind');
    }
  }

  async #setup(s: HostSetup): Promise<Reply> {
    const name = await this.#useBackend(s.backend, s.model);
    if (s.dpSgd !== undefined && usesTfjs(name)) {
      throw new BackendUnavailable(
        `privacy.dpSgd needs backend js or js-f32: per-patient gradient clipping runs in fedmed's fused trainer, not in tfjs (${name})`,
      );
    }
    const id = s.hospital.id;
    this.#references.delete(id);
    const own = isOwnData(s.data)
      ? OwnDataSetup.read(s.hospital, s.data, s.data.seed ?? s.seed, s.baseDir)
      : undefined;
    const data = own === undefined ? buildLocalData(id, dataContext(s)) : own.localData();
    const release = s.hospitalData === 'release';
    const trainer = release ? this.#sharedTrainer(s) : this.#trainer(s.model, s);
    if (!this.#dormant.delete(id)) this.#hospitals.get(id)?.hospital.dispose();
    this.#hospitals.delete(id);
    this.#dispose(this.#awaiting.get(id)?.trainer);
    this.#awaiting.delete(id);
    if (data === undefined) this.#awaiting.set(id, { own: own!, trainer, setup: s });
    else this.#host(s, trainer, data);
    if (release && data !== undefined) this.#release(s, data);
    const host: BackendInfo = { backend: name, tfjs: usesTfjs(name) ? loadedTfjs().version : 'unused' };
    const counts = own?.counts() ?? { train: data!.train.n, test: data!.test.n };
    const missing = own?.missingCounts();
    return {
      kind: 'setup-reply',
      fields: { host, ...counts },
      vectors: missing === undefined ? [] : [['missing', missing]],
    };
  }

  #host(s: HostSetup, trainer: LocalTrainer, data: LocalData): void {
    let references = this.#references.get(s.hospital.id);
    if (references === undefined) this.#references.set(s.hospital.id, (references = new Map()));
    const hospital = new Hospital(s.hospital, s.seed, trainer, data, s.evaluation, {
      head: headOf(s.data),
      probe: s.backdoorProbe,
      dpSgd: s.dpSgd,
      references,
    });
    const outgoing =
      s.jurisdiction === undefined
        ? {}
        : { outgoing: new OutgoingCheck(s, { train: data.train.n, test: data.test.n }) };
    this.#hospitals.set(s.hospital.id, { hospital, setup: s, parameters: trainer.spec.length, ...outgoing });
  }

  #statistics(id: string | undefined): Reply {
    const a = id === undefined ? undefined : this.#awaiting.get(id);
    if (a === undefined) throw new HospitalRefusal('not-hosted');
    return { kind: 'statistics-reply', fields: { train: a.own.counts().train }, vectors: a.own.statistics() };
  }

  #transform(id: string | undefined, vectors: ReadonlyMap<string, TypedVector>): Reply {
    const a = id === undefined ? undefined : this.#awaiting.get(id);
    if (a === undefined) throw new HospitalRefusal('not-hosted');
    const data = a.own.withTransform(vectors);
    this.#awaiting.delete(id!);
    this.#host(a.setup, a.trainer, data);
    if (a.setup.hospitalData === 'release') this.#release(a.setup, data, vectors);
    return { kind: 'transform-reply', fields: a.own.counts() };
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
    const { reply, kept, fault } = this.#trainRound(h, global, ins, control, state);
    const draw = { seed: h.setup.seed, hospital: h.hospital.id, round: ins.round };
    const out =
      fault === undefined ? reply : breakReply(reply, fault, draw, () => h.hospital.sampleRows(5), global);
    const o = out as { vectors?: Record<string, TypedVector>; numExamples?: unknown; metrics?: unknown };
    const vectors: [string, TypedVector][] = [...Object.entries(o.vectors ?? {}), ...kept];
    return { kind: 'fit-reply', fields: { numExamples: o.numExamples, metrics: o.metrics }, vectors };
  }

  /**
   * The training every fit shares: the state the request brought restored, an injected fault that acts before
   * or in training applied, one round of local training from `global`; returns the new state as the reply's
   * state vector (none when the hospital keeps none).
   */
  #trainRound(
    h: Hosted,
    global: Float32Array,
    ins: FitInstructions,
    control: TypedVector | undefined,
    state: TypedVector | undefined,
  ) {
    if (control !== undefined && !(control instanceof Float32Array))
      throw new HospitalRefusal('refused', 'control');
    const fault = faultFor(h.setup.faults, h.setup.seed, h.hospital.id, ins.round);
    failBeforeTraining(fault);
    this.#restore(h, state);
    const reply = h.hospital.fit(global, ins, control, dataAttack(fault, h.setup.seed, h.hospital.id));
    const exported = h.hospital.exportState();
    const kept: [string, TypedVector][] =
      exported.size > 0 ? [['state', encodeClientState(h.hospital.id, exported)]] : [];
    return { reply, kept, fault };
  }

  /** Puts back the state the request brought (none: the hospital starts afresh); bytes only. */
  #restore(h: Hosted, state: TypedVector | undefined): void {
    if (state !== undefined && !(state instanceof Uint8Array)) throw new HospitalRefusal('refused', 'state');
    h.hospital.importState(state === undefined ? new Map() : decodeClientState(h.hospital.id, state));
  }

  /** The membership-inference audit of `global` on the hospital's own patients: counts and metrics only. */
  #audit(h: Hosted, global: Float32Array, ins: AuditInstructions, state: TypedVector | undefined): Reply {
    this.#restore(h, state);
    const a = h.hospital.audit(global, ins);
    return {
      kind: 'audit-reply',
      fields: { members: a.members, nonMembers: a.nonMembers, metrics: a.metrics },
      vectors: [
        ['loss', a.histograms.loss],
        ['lira', a.histograms.lira],
      ],
    };
  }

  /** Trains as for a fit request, then encodes the update for secure aggregation and advertises keys. */
  #secureFit(
    h: Hosted,
    global: Float32Array,
    ins: SecureFitInstructions,
    vectors: ReadonlyMap<string, TypedVector>,
  ): Reply {
    this.#secure.delete(h.hospital.id);
    const {
      reply: trained,
      kept,
      fault,
    } = this.#trainRound(h, global, ins, vectors.get('control'), vectors.get('state'));
    if (fault?.behaviour === 'throw') throw new HospitalRefusal('injected');
    const { participant, vectors: keys } = SecureParticipant.start(
      { hospital: h.hospital.id, seed: h.setup.seed, round: ins.round, secret: h.hospital.secret() },
      trained,
      global,
      ins.secure,
      ins.training.learningRate,
      fault?.behaviour,
    );
    this.#secure.set(h.hospital.id, participant);
    return { kind: 'secagg-keys', fields: {}, vectors: [...keys, ...kept] };
  }

  #participant(id: string | undefined): SecureParticipant {
    const p = id === undefined ? undefined : this.#secure.get(id);
    if (p === undefined) throw new HospitalRefusal('refused', 'secure aggregation (no round under way)');
    return p;
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
    const data: Map<string, LocalData> = isOwnData(setup.data)
      ? OwnDataSetup.pooled(setup.hospitals, setup.data, ctx.seed, setup.baseDir)
      : new Map(setup.hospitals.map((h) => [h.id, buildLocalData(h.id, ctx)]));
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
    const { evaluation: settings, data } = this.#pooled.setup;
    return evaluation(
      'pooled-reply',
      evaluateOn(this.#pooled.trainer, d.test, d.testGroups, settings, headOf(data)),
    );
  }

  async #score(
    s: HostSetup,
    parameters: Float32Array,
    vectors: ReadonlyMap<string, TypedVector>,
  ): Promise<Reply> {
    await this.#useBackend(s.backend, s.model);
    const { test, testGroups } = isOwnData(s.data)
      ? OwnDataSetup.scoring(s.hospital, s.data, s.baseDir, vectors)
      : buildScoringData(s.hospital, dataContext(s));
    const trainer = this.#trainer(s.model, s);
    try {
      trainer.setParameters(parameters);
      return evaluation('score-reply', evaluateOn(trainer, test, testGroups, s.evaluation, headOf(s.data)));
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
    return createTrainer(this.#backend?.name ?? 'cpu', model, inputShapeOf(s.data), headOf(s.data));
  }

  #hosted(id: string | undefined): Hosted {
    const h = id === undefined ? undefined : (this.#hospitals.get(id) ?? this.#rebuild(id));
    if (h === undefined) throw new HospitalRefusal('not-hosted');
    return h;
  }

  /** Keeps only what rebuilds the hospital's data (its data is dropped after the current request). */
  #release(s: HostSetup, data: LocalData, transform?: ReadonlyMap<string, TypedVector>): void {
    const kept =
      transform === undefined ? undefined : new Map([...transform].map(([k, v]) => [k, v.slice()]));
    this.#dormant.set(s.hospital.id, {
      setup: s,
      counts: { train: data.train.n, test: data.test.n },
      ...(kept === undefined ? {} : { transform: kept }),
    });
  }

  /** A released hospital hosted again for one request: its data built as at setup, the thread's shared model. */
  #rebuild(id: string): Hosted | undefined {
    const d = this.#dormant.get(id);
    if (d === undefined) return undefined;
    const s = d.setup;
    let data: LocalData | undefined;
    if (isOwnData(s.data)) {
      const own = OwnDataSetup.read(s.hospital, s.data, s.data.seed ?? s.seed, s.baseDir);
      data = d.transform === undefined ? own.localData() : own.withTransform(d.transform);
    } else data = buildLocalData(id, dataContext(s));
    if (data === undefined || data.train.n !== d.counts.train || data.test.n !== d.counts.test)
      throw new Error(`hospital ${id}: its data rebuilt differs from its data at setup`);
    this.#host(s, this.#sharedTrainer(s), data);
    return this.#hospitals.get(id);
  }

  #sharedTrainer(s: HostSetup): LocalTrainer {
    const key = JSON.stringify([this.#backend?.name, s.model, inputShapeOf(s.data), headOf(s.data)]);
    if (this.#shared?.key !== key) {
      this.#shared?.trainer.dispose();
      this.#shared = { key, trainer: this.#trainer(s.model, s) };
    }
    return this.#shared.trainer;
  }

  #dispose(trainer: LocalTrainer | undefined): void {
    if (trainer !== undefined && trainer !== this.#shared?.trainer) trainer.dispose();
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

/**
 * An evaluation as a reply: its count and metrics, its score histogram as one uint32 vector, and a multi-class
 * outcome's confusion matrix as another.
 */
function evaluation(kind: Kind, e: EvaluateReply): Reply {
  const h = e.histogram;
  const vectors: [string, TypedVector][] = [];
  if (h !== undefined) vectors.push(['histogram', Uint32Array.from([...h.positives, ...h.negatives])]);
  if (e.classHistograms !== undefined)
    vectors.push([
      'histogram',
      Uint32Array.from(e.classHistograms.flatMap((c) => [...c.positives, ...c.negatives])),
    ]);
  if (e.confusion !== undefined) vectors.push(['confusion', Uint32Array.from(e.confusion)]);
  return { kind, fields: { numExamples: e.numExamples, metrics: e.metrics }, vectors };
}

/** The attack on its own training data an injected fault makes a hospital train with, if any. */
function dataAttack(fault: FaultConfig | undefined, seed: number, hospital: string): DataAttack | undefined {
  if (fault?.behaviour === 'label-flip') return { kind: 'label-flip' };
  if (fault?.behaviour !== 'backdoor' || fault.trigger === undefined) return undefined;
  return {
    kind: 'backdoor',
    trigger: fault.trigger,
    fraction: fault.fraction ?? 0.3,
    rng: stream(fault.seed ?? seed, 'fault-backdoor', hospital),
  };
}
