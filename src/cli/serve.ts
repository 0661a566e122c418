/**
 * `holdline serve`: the server on the configured engine, until SIGTERM/SIGINT. Shutdown: stop
 * accepting (close the listen socket), let in-flight requests finish (bounded), close the engine
 * and the call store, exit 0. A second signal exits at once with 1.
 */
import { redactUrl, type HoldlineConfig } from '../config.js';
import { createApplication } from '../domain/apps.js';
import type { CallStore } from '../engine/call-types.js';
import { createCallStore } from '../engine/calls-factory.js';
import { createEngine } from '../engine/index.js';
import type { WebhookStore } from '../engine/webhook-types.js';
import { createWebhookStore } from '../engine/webhooks-factory.js';
import { isHoldlineError } from '../errors.js';
import { createLogger } from '../logger.js';
import { createHoldlineServer, type HoldlineServer } from '../server/index.js';
import { mountWebSocket } from '../server/ws/index.js';
import { ListenError, UwsFallbackError, requireNativeUws } from '../server/uws.js';

export async function serve(config: HoldlineConfig): Promise<number> {
  const logger = createLogger(config.logLevel);
  const bootstrapApp = config.bootstrapApp;
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
  logger.info(
    { engine: config.engine, ...(config.engine === 'redis' ? { redis: redactUrl(config.redisUrl), prefix: config.redisPrefix } : {}) },
    'starting',
  );
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
  let webhookStore: WebhookStore;
  try {
    webhookStore = await createWebhookStore(config);
  } catch (e) {
    await engine.close();
    await callStore.close();
    throw e;
  }
  const closeStores = async (): Promise<void> => {
    await engine.close();
    await callStore.close();
    await webhookStore.close();
  };
  let server: HoldlineServer;
  try {
    server = createHoldlineServer({ config, engine, callStore, webhookStore, logger, mounts: [mountWebSocket] });
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

  let stopping = false;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        logger.warn({ signal }, 'second signal: exiting now');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      void (async () => {
        await server.close();
        await closeStores();
        logger.info('stopped');
        resolve(0);
      })().catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  try {
    await server.listen();
  } catch (e) {
    await closeStores();
    if (!(e instanceof ListenError)) throw e;
    process.stderr.write(`holdline: ${e.message}\n`);
    return 1;
  }
  return stopped;
}
