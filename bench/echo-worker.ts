// A worker thread that answers each request with a reply of the same size at once: what one exchange through
// the pool (comlink, postMessage, the thread switch) costs when the hospital does no work (bench/fl-overhead.ts).
import { parentPort, threadId } from 'node:worker_threads';
import { Comlink, nodeEndpoint } from '../src/common/comlink.ts';
import type { WorkerEndpoint } from '../src/protocol/host-api.ts';

const endpoint: WorkerEndpoint = {
  ready: () => Promise.resolve(threadId),
  exchange(request: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(Comlink.transfer(request, [request.buffer]));
  },
};

Comlink.expose(endpoint, nodeEndpoint(parentPort!));
