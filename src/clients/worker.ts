import { parentPort, threadId } from 'node:worker_threads';
import { version_core as tfjsVersion } from '@tensorflow/tfjs-core';
import { Comlink, nodeEndpoint } from '../common/comlink.ts';
import { stream } from '../common/rng.ts';
import type { HospitalHostApi, HostInfo, HostSetup, PooledReply } from '../protocol/host-api.ts';
import type { EvaluateInstructions, EvaluateReply, FitInstructions, FitReply } from '../protocol/messages.ts';
import type { HospitalConfig, SourceConfig, TrainingConfig } from '../scenario/schema.ts';
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
} from './data/index.ts';
import { breakReply, faultFor } from './faults.ts';
import { evaluateOn, Hospital } from './hospital.ts';

/** The hospitals of one worker thread; their data is built here and never leaves. */
class HospitalHost implements HospitalHostApi {
  readonly #hospitals = new Map<string, Hospital>();
  #setup: HostSetup | undefined;
  /** The backend `setup` selected: 'js' and 'js-f32' mean the fused trainer, anything else the tfjs one. */
  #backend: BackendName | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  setup(setup: HostSetup): Promise<HostInfo> {
    return this.#serial(async () => {
      const backend = await selectBackend(setup.backend, setup.model);
      for (const h of this.#hospitals.values()) h.dispose();
      this.#hospitals.clear();
      this.#setup = setup;
      this.#backend = backend;
      for (const id of setup.hosted) {
        const config = setup.hospitals.find((h) => h.id === id);
        if (config === undefined) throw new Error(`hospital ${id} is not in the scenario`);
        const data = buildLocalData(id, this.#context());
        this.#hospitals.set(id, new Hospital(config, setup.seed, this.#trainer(), data, setup.evaluation));
      }
      return { threadId, backend, tfjs: usesTfjs(backend) ? tfjsVersion : 'unused' };
    });
  }

  fit(
    hospital: string,
    global: Float32Array,
    ins: FitInstructions,
    control?: Float32Array,
  ): Promise<FitReply> {
    return this.#serial(() => {
      const h = this.#hospital(hospital);
      const reply = h.fit(global, ins, control);
      const fault = faultFor(this.#config().faults, hospital, ins.round);
      const out =
        fault === undefined
          ? reply
          : (breakReply(reply, fault, ins.round, () => h.sampleRows(5)) as FitReply);
      return Comlink.transfer(out, transferables(out));
    });
  }

  evaluate(hospital: string, global: Float32Array, ins: EvaluateInstructions): Promise<EvaluateReply> {
    return this.#serial(() => this.#hospital(hospital).evaluate(global, ins));
  }

  localOnly(
    hospital: string,
    initial: Float32Array,
    training: TrainingConfig,
    epochs: number,
  ): Promise<EvaluateReply> {
    return this.#serial(() => this.#hospital(hospital).localOnly(initial, training, epochs));
  }

  pooled(initial: Float32Array, training: TrainingConfig, epochs: number): Promise<PooledReply> {
    return this.#serial(() => {
      const setup = this.#config();
      const data = setup.hospitals.map((h) => ({ id: h.id, local: buildLocalData(h.id, this.#context()) }));
      const trainer = this.#trainer();
      try {
        trainer.setParameters(initial);
        const union = concatExamples(data.map((d) => d.local.train));
        trainer.train(union, { ...training, localEpochs: epochs }, stream(setup.seed, 'pooled'));
        return {
          evaluations: Object.fromEntries(
            data.map((d) => [d.id, evaluateOn(trainer, d.local.test, d.local.testGroups, setup.evaluation)]),
          ),
          trainExamples: Object.fromEntries(data.map((d) => [d.id, d.local.train.n])),
        };
      } finally {
        trainer.dispose();
      }
    });
  }

  exportData(hospital: string, outDir: string): Promise<SourceConfig> {
    return this.#serial(() => exportLocalData(hospital, this.#context(), outDir));
  }

  score(site: HospitalConfig, parameters: Float32Array): Promise<EvaluateReply> {
    return this.#serial(() => {
      const setup = this.#config();
      const { test, testGroups } = buildScoringData(site, this.#context());
      const trainer = this.#trainer();
      try {
        trainer.setParameters(parameters);
        return evaluateOn(trainer, test, testGroups, setup.evaluation);
      } finally {
        trainer.dispose();
      }
    });
  }

  #config(): HostSetup {
    if (this.#setup === undefined) throw new Error(`worker thread ${threadId} has not been set up`);
    return this.#setup;
  }

  #context(): DataContext {
    const s = this.#config();
    return { seed: s.data.seed ?? s.seed, data: s.data, hospitals: s.hospitals, baseDir: s.baseDir };
  }

  #trainer(): LocalTrainer {
    const s = this.#config();
    return createTrainer(this.#backend ?? 'cpu', s.model, inputShapeOf(s.data));
  }

  #hospital(id: string): Hospital {
    const h = this.#hospitals.get(id);
    if (h === undefined) throw new Error(`hospital ${id} is not hosted by worker thread ${threadId}`);
    return h;
  }

  #serial<T>(task: () => T | Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function transferables(reply: FitReply): ArrayBuffer[] {
  const vectors: unknown = reply?.vectors;
  if (vectors === null || typeof vectors !== 'object') return [];
  return Object.values(vectors).flatMap((v: unknown) =>
    v instanceof Float32Array && v.buffer instanceof ArrayBuffer ? [v.buffer] : [],
  );
}

if (parentPort === null) throw new Error('src/clients/worker.ts must run in a worker thread');
Comlink.expose(new HospitalHost(), nodeEndpoint(parentPort));
