import { parentPort, threadId } from 'node:worker_threads';
import { version_core as tfjsVersion } from '@tensorflow/tfjs-core';
import { Comlink, nodeEndpoint } from '../common/comlink.ts';
import type { HospitalHostApi, HostInfo, HostSetup } from '../protocol/host-api.ts';
import type { EvaluateInstructions, EvaluateReply, FitInstructions, FitReply } from '../protocol/messages.ts';
import type { FaultConfig, TrainingConfig } from '../scenario/schema.ts';
import { inputShapeOf } from '../protocol/cdm.ts';
import { selectBackend } from '../models/backend.ts';
import { createTfjsTrainer } from '../models/tfjs-trainer.ts';
import { buildPartition } from './data/index.ts';
import { breakReply, faultFor } from './faults.ts';
import { Hospital } from './hospital.ts';

/** The hospitals of one worker thread; their data is built here and never leaves. */
class HospitalHost implements HospitalHostApi {
  readonly #hospitals = new Map<string, Hospital>();
  #faults: readonly FaultConfig[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  setup(setup: HostSetup): Promise<HostInfo> {
    return this.#serial(async () => {
      const backend = await selectBackend(setup.backend, setup.model);
      const inputShape = inputShapeOf(setup.data.kind);
      for (const config of setup.hospitals) {
        const partition = buildPartition(config, setup.data, setup.seed);
        this.#hospitals.set(
          config.id,
          new Hospital(config, setup.seed, createTfjsTrainer(setup.model, inputShape), partition),
        );
      }
      this.#faults = setup.faults;
      return { threadId, backend, tfjs: tfjsVersion };
    });
  }

  fit(hospital: string, global: Float32Array, ins: FitInstructions): Promise<FitReply> {
    return this.#serial(() => {
      const h = this.#hospital(hospital);
      const reply = h.fit(global, ins);
      const fault = faultFor(this.#faults, hospital, ins.round);
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
