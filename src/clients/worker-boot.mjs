// Loads the TypeScript worker entry named in workerData through tsx, which a worker cannot do by itself on Node 20.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
