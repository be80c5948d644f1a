import { parentPort, threadId } from 'node:worker_threads';
import { Comlink, nodeEndpoint } from '../common/comlink.ts';
import type { WorkerEndpoint } from '../protocol/host-api.ts';
import { HospitalHost } from './host.ts';

if (parentPort === null) throw new Error('src/clients/worker.ts must run in a worker thread');
const host = new HospitalHost();
/** Replies leave by transfer: the worker keeps no reference to the bytes it sends. */
const endpoint: WorkerEndpoint = {
  ready: () => Promise.resolve(threadId),
  exchange: async (request) => {
    const reply = await host.exchange(request);
    return Comlink.transfer(reply, [reply.buffer]);
  },
};
Comlink.expose(endpoint, nodeEndpoint(parentPort));
