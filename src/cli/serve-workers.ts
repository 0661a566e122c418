/**
 * `holdline serve --workers N`: N server threads (worker_threads) in one process, sharing the
 * listening port. Each thread is a whole node (startNode: its own engine connections, Redis
 * subscriber, uWS app and WebSocket hub), exactly as N processes on the same Redis would be: they
 * meet in Redis, so a message published through one reaches subscribers on every other, and a
 * subscription's feed, history tail (tail-cache.ts) and call-queue views are each worker's own.
 * The kernel spreads incoming connections over the workers' sockets (SO_REUSEPORT); a connection
 * stays on the worker that accepted it.
 *
 * The memory engine keeps queues in one thread's memory, which the others could not see: above 1
 * worker it is refused (exit 2). The port is first checked free with an exclusive listen (so a
 * second Holdline on a taken port fails as it does without workers) and, when 0, chosen there.
 * `listening` is logged once every worker listens; a signal stops every worker as one server stops
 * (exit 0); a worker that fails or dies stops the others (exit 1). /metrics is per worker (the one
 * that accepted the scrape's connection).
 */
import { createServer } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { HoldlineConfig } from '../config.js';
import { createLogger } from '../logger.js';

/** What a worker tells the parent (serve-worker.ts). */
export type WorkerReport = { type: 'listening'; port: number } | { type: 'failed'; code: number };

/** The message that stops a worker. */
export const STOP = 'stop';

/** Listens on host:port without SO_REUSEPORT and closes again: the port (chosen when 0), or null when taken. */
function probePort(host: string, port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      server.close(() => resolve(bound));
    });
  });
}

export async function serveWorkers(config: HoldlineConfig): Promise<number> {
  const n = config.workers;
  if (config.engine !== 'redis') {
    process.stderr.write(
      `holdline: --workers ${n} (HOLDLINE_WORKERS) needs the redis engine: with the memory engine each worker would keep queues of its own that the others cannot see; use --engine redis, or one worker\n`,
    );
    return 2;
  }
  const logger = createLogger(config.logLevel);
  const port = await probePort(config.host, config.port);
  if (port === null) {
    process.stderr.write(`holdline: cannot listen on ${config.host}:${config.port}: the port is in use or the address is not on this host\n`);
    return 1;
  }
  const fromSource = import.meta.url.endsWith('.ts');
  const script = new URL(fromSource ? './serve-worker.ts' : './serve-worker.js', import.meta.url);
  // Run from src/ (npm run dev, tests): a worker thread does not get tsx's loader from --import,
  // so it registers it itself before importing the worker module.
  const start = (workerData: unknown): Worker =>
    fromSource
      ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(script.href)}); })`, { eval: true, workerData })
      : new Worker(script, { workerData });
  const workers: Worker[] = [];
  const exits: Promise<number>[] = [];
  let stopping = false;
  let failed = false;
  let listening = 0;
  let settle!: (code: number) => void;
  const done = new Promise<number>((resolve) => (settle = resolve));

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) w.postMessage(STOP);
    void Promise.all(exits).then((codes) => settle(failed || codes.some((c) => c !== 0) ? 1 : 0));
  };

  for (let i = 0; i < n; i++) {
    const w = start({ config: { ...config, port }, worker: i });
    workers.push(w);
    exits.push(new Promise<number>((resolve) => w.once('exit', resolve)));
    w.on('message', (report: WorkerReport) => {
      if (report.type === 'listening') {
        listening++;
        if (listening === n) logger.info({ host: config.host, port, engine: config.engine, workers: n }, 'listening');
      } else {
        failed = true;
        stopAll();
      }
    });
    w.on('error', (err) => {
      process.stderr.write(`holdline: worker ${i}: ${err.message}\n`);
      failed = true;
      stopAll();
    });
    w.once('exit', (code) => {
      if (stopping) return;
      logger.error({ worker: i, code }, 'worker exited: stopping the others');
      failed = true;
      stopAll();
    });
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal, workers: n }, 'shutting down');
    stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const code = await done;
  if (code === 0) logger.info('stopped');
  return code;
}
