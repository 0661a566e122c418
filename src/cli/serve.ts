/**
 * `holdline serve`: the server on the configured engine, until SIGTERM/SIGINT. Shutdown: stop
 * accepting (close the listen socket), let in-flight requests finish (bounded), close the engine
 * and the call store, exit 0. A second signal exits at once with 1.
 *
 * With `--workers N` (N > 1) the process runs N server threads sharing the port instead
 * (serve-workers.ts); each is a node as startNode() makes it.
 */
import { redactUrl, type HoldlineConfig } from '../config.js';
import { createApplication } from '../domain/apps.js';
import type { CallStore } from '../engine/call-types.js';
import { createCallStore } from '../engine/calls-factory.js';
import { createEngine, type Engine } from '../engine/index.js';
import type { WebhookStore } from '../engine/webhook-types.js';
import { createWebhookStore } from '../engine/webhooks-factory.js';
import { isHoldlineError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { createHoldlineServer, type HoldlineServer } from '../server/index.js';
import { mountWebSocket } from '../server/ws/index.js';
import { ListenError, UwsFallbackError, requireNativeUws } from '../server/uws.js';

export async function serve(config: HoldlineConfig): Promise<number> {
  // Refuse uWS's JS fallback before connecting to anything.
  try {
    requireNativeUws(config.allowUwsFallback);
  } catch (e) {
    if (e instanceof UwsFallbackError) {
      process.stderr.write(`holdline: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (config.workers > 1) {
    const { serveWorkers } = await import('./serve-workers.js');
    return serveWorkers(config);
  }
  const logger = createLogger(config.logLevel);
  // The signals are taken before the start: `listening` is written (synchronously) as the node
  // starts listening, and whoever reads it may stop the server at once. A signal during the start
  // stops the node as soon as it has started.
  let stopping = false;
  let stop: (() => void) | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const node = await startNode(config, logger, {});
  if (typeof node === 'number') return node;
  return new Promise<number>((resolve) => {
    stop = () => void node.stop().then(resolve);
    if (stopping) stop();
  });
}

interface Stores {
  engine: Engine;
  callStore: CallStore;
  webhookStore: WebhookStore;
}

/** The engine, started, and the call and webhook stores beside it; what was opened is closed again when one fails. */
async function openStores(config: HoldlineConfig, logger: Logger): Promise<Stores> {
  const engine = createEngine(config, logger);
  await engine.start();
  // The call store sits next to the engine: same kind, same Redis, same prefix.
  let callStore: CallStore;
  try {
    callStore = await createCallStore(config, logger, engine);
  } catch (e) {
    await engine.close();
    throw e;
  }
  // And the webhook store: endpoints, leases and cursors shared by the nodes (protocol/webhooks.md).
  try {
    return { engine, callStore, webhookStore: await createWebhookStore(config) };
  } catch (e) {
    await engine.close();
    await callStore.close();
    throw e;
  }
}

/** Why the stores could not be opened on Redis, in one line: the URL (without its password) and Redis's own words. */
function redisFailure(config: HoldlineConfig, e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  const why = cause instanceof Error ? cause.message : String(cause);
  return `cannot start on Redis at ${redactUrl(config.redisUrl)} (--redis-url, HOLDLINE_REDIS_URL): ${why}`;
}

/** A listening node: stop() closes it as a shutdown does and resolves with the exit code. */
export interface RunningNode {
  port: number;
  stop(): Promise<number>;
}

export interface NodeOptions {
  /** Worker index under `serve --workers` (shared port; only worker 0 bootstraps the application). */
  worker?: number;
}

/** Engine, call store and server, listening; or the exit code when it could not listen. */
export async function startNode(config: HoldlineConfig, logger: Logger, opts: NodeOptions): Promise<RunningNode | number> {
  const bootstrapApp = opts.worker === undefined || opts.worker === 0 ? config.bootstrapApp : undefined;
  logger.info(
    { engine: config.engine, ...(config.engine === 'redis' ? { redis: redactUrl(config.redisUrl), prefix: config.redisPrefix } : {}) },
    'starting',
  );
  let stores: Stores;
  try {
    stores = await openStores(config, logger);
  } catch (e) {
    // Redis that cannot be reached (or refuses us) is the operator's to fix: one line, no stack.
    if (config.engine !== 'redis') throw e;
    process.stderr.write(`holdline: ${redisFailure(config, e)}\n`);
    return 1;
  }
  const { engine, callStore, webhookStore } = stores;
  const closeStores = async (): Promise<void> => {
    await engine.close();
    await callStore.close();
    await webhookStore.close();
  };
  let server: HoldlineServer;
  try {
    server = createHoldlineServer({ config, engine, callStore, webhookStore, logger, mounts: [mountWebSocket], ...(opts.worker === undefined ? {} : { worker: opts.worker }) });
  } catch (e) {
    await closeStores();
    throw e;
  }

  if (bootstrapApp !== undefined) {
    try {
      const { key } = await createApplication(engine, bootstrapApp);
      process.stderr.write(`holdline: created application ${bootstrapApp}; its key (shown once): ${key}\n`);
    } catch (e) {
      if (!isHoldlineError(e) || e.code !== 'app_exists') throw e;
      logger.info({ application_name: bootstrapApp }, 'bootstrap application exists; its keys are stored hashed and not shown');
    }
  }

  let port: number;
  try {
    port = await server.listen();
  } catch (e) {
    await closeStores();
    if (!(e instanceof ListenError)) throw e;
    process.stderr.write(`holdline: ${e.message}\n`);
    return 1;
  }
  let stopped: Promise<number> | null = null;
  return {
    port,
    stop: () => {
      stopped ??= (async () => {
        await server.close();
        await closeStores();
        logger.info('stopped');
        return 0;
      })().catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        return 1;
      });
      return stopped;
    },
  };
}
