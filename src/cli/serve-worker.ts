/** One worker thread of `holdline serve --workers N` (serve-workers.ts): a node on the shared port. */
import { parentPort, workerData } from 'node:worker_threads';
import type { HoldlineConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startNode } from './serve.js';
import { STOP, type WorkerReport } from './serve-workers.js';

const { config, worker } = workerData as { config: HoldlineConfig; worker: number };
const port = parentPort;
if (port === null) throw new Error('serve-worker.ts runs as a worker thread of holdline serve --workers');
const report = (r: WorkerReport): void => port.postMessage(r);
const node = await startNode(config, createLogger(config.logLevel).child({ worker }), { worker });
if (typeof node === 'number') {
  report({ type: 'failed', code: node });
  process.exit(node);
}
report({ type: 'listening', port: node.port });
port.on('message', (message: unknown) => {
  // process.exit in a worker ends this thread only.
  if (message === STOP) void node.stop().then((code) => process.exit(code));
});
