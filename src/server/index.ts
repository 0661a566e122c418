/**
 * The Holdline server: one uWS app, one port, HTTP routes and (mounted) WebSocket.
 *
 *   const server = createHoldlineServer({ config, engine, logger });
 *   const port = await server.listen();   // config.port 0 → a free port
 *   await server.close();                 // stop accepting, finish in-flight requests; the engine stays open
 *
 * The engine belongs to the caller (the CLI starts and closes it), so tests can share or inspect it;
 * so does the call store (`callStore`, from createCallStore in src/engine/calls-factory.ts).
 */
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import type { HoldlineConfig } from '../config.js';
import type { CallStore } from '../engine/call-types.js';
import { callStoreReady } from '../engine/calls-factory.js';
import { MemoryCallStore } from '../engine/memory/calls.js';
import { MemoryEngine } from '../engine/memory/index.js';
import { parseRedisUrl } from '../engine/redis/connection.js';
import type { Engine } from '../engine/types.js';
import { MemoryWebhookStore } from '../engine/memory/webhooks.js';
import type { WebhookStore } from '../engine/webhook-types.js';
import { WebhookDispatcher } from '../domain/webhooks/dispatcher.js';
import { eventLogReader } from '../domain/webhooks/log.js';
import { WebhookService } from '../domain/webhooks/service.js';
import type { Logger } from '../logger.js';
import { Applications } from '../domain/apps.js';
import { assertAdmin } from '../domain/auth.js';
import { Router as CallRouter } from '../domain/calls/routing/router.js';
import { RoutingService } from '../domain/calls/routing/service.js';
import { routingEstimateContext } from '../domain/calls/estimate-context.js';
import { CallService } from '../domain/calls/service.js';
import type { RoutingStore } from '../engine/routing-types.js';
import { EventQueries } from '../domain/events/service.js';
import { RESERVED_APP_NAMES } from '../domain/names.js';
import { MessageQueues } from '../domain/queues/service.js';
import type { ServerContext, ServerMount } from './context.js';
import { createDispatcher } from './dispatch.js';
import { consoleDir, consoleRoutes } from './console.js';
import { docsRoutes } from './docs.js';
import { createHttpEdge } from './edge.js';
import { instrumentEngine, metricsRoutes } from './metrics.js';
import { checkedQueryFields } from './openapi.js';
import { Router } from './router.js';
import { agentRoutes } from './routes/agents.js';
import { appsRoutes } from './routes/apps.js';
import { callQueueRoutes } from './routes/calls.js';
import { capabilitiesRoutes } from './routes/capabilities.js';
import { messageStateRoutes } from './routes/message-state.js';
import { messageRoutes } from './routes/messages.js';
import { opsRoutes } from './routes/ops.js';
import { queueRoutes } from './routes/queues.js';
import { schemaRoutes } from './routes/schemas.js';
import { tagRoutes } from './routes/tags.js';
import { webhookRoutes } from './routes/webhooks.js';
import { eventRoutes } from './routes/events.js';
import { RequestSchemas } from './schemas.js';
import { ListenError, listenExclusive, requireNativeUws } from './uws.js';

export type { ServerContext, ServerMount } from './context.js';

export interface HoldlineServerOptions {
  config: HoldlineConfig;
  engine: Engine;
  logger: Logger;
  /**
   * Agents, call queues and tags. Stays the caller's, like the engine. Absent: a process-local
   * memory store owned (and closed) by the server — allowed only with the memory engine, because
   * on Redis every node must see the same call queues.
   */
  callStore?: CallStore;
  /**
   * Webhook endpoints and their delivery state (createWebhookStore in src/engine/webhooks-factory.ts).
   * Stays the caller's. Absent: a process-local memory store owned by the server — allowed only with
   * the memory engine, because on Redis the nodes share endpoints, leases and cursors.
   */
  webhookStore?: WebhookStore;
  /**
   * Extra modules mounted on the uWS app before the HTTP catch-all (tests, embedders). uWS prefers
   * an exact pattern such as `/v1/ws` over the `/*` HTTP catch-all, so mounts and routes do not collide.
   */
  mounts?: ServerMount[];
  /** How long close() waits for in-flight HTTP requests; default 10 s. */
  drainTimeoutMs?: number;
  /** The built console served at /console (default: this package's dist/console; tests build their own). */
  consoleDir?: string;
  /**
   * `serve --workers N`: this server is worker `worker` of N sharing one port (SO_REUSEPORT; the
   * parent checked the port was free) and logs `worker listening`; the parent logs `listening`.
   */
  worker?: number;
}

export interface HoldlineServer {
  readonly app: TemplatedApp;
  readonly context: ServerContext;
  /** This node's webhook delivery (protocol/webhooks.md); started with the server, stopped by close(). */
  readonly webhooks: WebhookDispatcher;
  /** HTTP requests received and not yet answered or aborted. */
  readonly inflight: number;
  /** Resolves with the port actually bound (config.port may be 0). */
  listen(): Promise<number>;
  /** Stops accepting, lets in-flight requests finish (bounded), runs the mounts' closers. Idempotent. */
  close(): Promise<void>;
}

/** The call store's routing (protocol/routing.md), when it has one. */
function routingOf(store: CallStore): RoutingStore | null {
  const r = (store as { routing?: RoutingStore }).routing;
  return r === undefined ? null : r;
}

/** Redis Cluster is chosen by the URL (config.ts), the same one the engine was built from. */
function onCluster(kind: Engine['kind'], redisUrl: string): boolean {
  if (kind !== 'redis') return false;
  try {
    return parseRedisUrl(redisUrl).cluster;
  } catch {
    return false;
  }
}

export function createHoldlineServer(opts: HoldlineServerOptions): HoldlineServer {
  const { config, logger } = opts;
  // Append and read timed and counted for /metrics (src/server/metrics.ts).
  const engine = instrumentEngine(opts.engine);
  const { uws } = requireNativeUws(config.allowUwsFallback);
  const app = uws.App();
  // Each route's query fields come from its OpenAPI description: one table says and enforces them.
  const router = new Router((segment) => RESERVED_APP_NAMES.has(segment.toLowerCase()), checkedQueryFields);
  const closers: Array<() => Promise<void> | void> = [];
  let shuttingDown = false;
  let inflight = 0;
  let drained: (() => void) | null = null;

  if (opts.callStore === undefined && engine.kind !== 'memory') {
    throw new Error('A Redis engine needs a shared call store: pass callStore (createCallStore in src/engine/calls-factory.ts)');
  }
  // Closed after every closer (the WebSocket module unsubscribes from it first).
  // It records into the memory engine's event log, so the process keeps one log (events.ts).
  const memoryEvents = opts.engine instanceof MemoryEngine ? { events: opts.engine.events } : {};
  const ownCallStore = opts.callStore === undefined ? new MemoryCallStore({ changeRetention: config.callQueueResumeWindow, ...memoryEvents }) : null;
  // Routing (protocol/routing.md), when the call store has it: one router per node, sweeping.
  const routingStore = routingOf(opts.callStore ?? ownCallStore!);
  const onRoutingError = (err: unknown): void => logger.error({ err }, 'routing step failed');
  const callRouter = routingStore === null ? null : new CallRouter(routingStore, { sweepMs: config.routingSweepMs, onError: onRoutingError });
  const routing = callRouter === null ? null : new RoutingService(callRouter, onRoutingError);
  callRouter?.start();
  closers.push(async () => callRouter?.stop());
  const calls = new CallService(opts.callStore ?? ownCallStore!, {
    defaultServiceLevelSeconds: config.defaultServiceLevelSeconds,
    wallboardTimeZone: config.wallboardTimeZone,
    // The message engine carries the news of an agent's lost credentials to every node.
    announceAgentChange: (app, agent) => engine.announceAgentChange(app, agent),
    ...(routing === null ? {} : { routing }),
    // The estimated wait counts routing's wrap-up, skills and tiers (protocol/routing.md section 9).
    ...(routingStore === null ? {} : { estimateContext: routingEstimateContext(routingStore) }),
  });

  const callStore = opts.callStore ?? ownCallStore!;
  if (opts.webhookStore === undefined && engine.kind !== 'memory') {
    throw new Error('A Redis engine needs a shared webhook store: pass webhookStore (createWebhookStore in src/engine/webhooks-factory.ts)');
  }
  const webhookStore = opts.webhookStore ?? new MemoryWebhookStore();
  const eventLog = engine.events;
  const dispatcher = new WebhookDispatcher({
    store: webhookStore,
    log: eventLogReader(eventLog),
    logger: logger.child({ module: 'webhooks' }),
    timeoutMs: config.webhookTimeoutMs,
    retryBaseMs: config.webhookRetryBaseMs,
    retryMaxMs: config.webhookRetryMaxMs,
    maxInFlight: config.webhookMaxInFlight,
    leaseMs: config.webhookLeaseMs,
    allowedHosts: config.webhookAllowedHosts,
  });
  const webhooks = new WebhookService(webhookStore, eventLogReader(eventLog), {
    allowedHosts: config.webhookAllowedHosts,
    notices: { changed: (app, id) => dispatcher.changed(app, id) },
  });
  const apps = new Applications(engine, callStore, webhookStore);
  const context: ServerContext = {
    config,
    logger,
    storage: {
      kind: engine.kind,
      get capabilities() {
        // Read at each use: replica consistency follows the replicas Redis reports now.
        return engine.capabilities;
      },
      cluster: onCluster(engine.kind, config.redisUrl),
      // The call store is a separate object with its own connections: both must answer.
      ready: async () => (await engine.ready()) && (await callStoreReady(callStore)),
    },
    uws,
    app,
    router,
    schemas: new RequestSchemas(),
    queues: new MessageQueues(engine, { maxMessageBytes: config.maxMessageBytes, defaultTtl: config.defaultTtl }),
    apps,
    feeds: engine,
    applicationFor: (header) => apps.forHeader(header),
    applicationForKey: (key) => apps.forKey(key),
    calls,
    // Live followers' snapshots carry the waiting callers' estimates (websocket.md 5.2).
    callFeeds: calls.feeds(),
    webhooks,
    eventLog,
    routing,
    events: new EventQueries(engine.events),
    agentForToken: async (token) => {
      const who = await calls.tokenIdentity(token);
      return { application: who.app, agentUuid: who.agent, expiresAtMs: who.expiresAtMs };
    },
    assertAdmin: (header) => assertAdmin(config.adminKey, header),
    get shuttingDown() {
      return shuttingDown;
    },
    onClose: (fn) => void closers.push(fn),
    drainTimeoutMs: opts.drainTimeoutMs ?? 10_000,
  };

  // HTTP routes. Route modules of later features (call queues, tags, events, metrics) register here;
  // the Queuey routes go last only for readability: the router ranks by specificity, not order.
  opsRoutes(context);
  metricsRoutes(context);
  docsRoutes(context);
  consoleRoutes(context, opts.consoleDir ?? consoleDir());
  appsRoutes(context);
  // /v1/agents, /v1/queues, /v1/tags, /v1/schemas: their literal first segments rank them above the
  // Queuey /{application}/{queue} patterns (and `v1` is a reserved application name).
  agentRoutes(context);
  callQueueRoutes(context);
  tagRoutes(context);
  webhookRoutes(context);
  eventRoutes(context);
  schemaRoutes(context);
  capabilitiesRoutes(context);
  queueRoutes(context);
  messageRoutes(context);
  messageStateRoutes(context);

  // Mounts register before the HTTP catch-all. The caller passes the WebSocket endpoint here
  // (`holdline serve` passes `mountWebSocket` from src/server/ws/index.ts); the server does not mount
  // it by itself, so tests can run HTTP alone or give the endpoint their own limits.
  for (const mount of opts.mounts ?? []) mount(context);

  app.any(
    '/*',
    createDispatcher({
      router,
      logger,
      maxRequestBytes: config.maxRequestBytes,
      edge: createHttpEdge(config, logger),
      isShuttingDown: () => shuttingDown,
      inflight: {
        start: () => void inflight++,
        end: () => {
          inflight--;
          if (inflight === 0) drained?.();
        },
      },
    }),
  );

  let listenSocket: us_listen_socket | null = null;
  let closing: Promise<void> | null = null;

  dispatcher.start();

  return {
    app,
    context,
    webhooks: dispatcher,
    get inflight() {
      return inflight;
    },
    listen: () =>
      new Promise<number>((resolve, reject) => {
        // Exclusive: uWS sets SO_REUSEPORT by default, so a second Holdline on a taken port would
        // start and silently share it with the first (requests alternating between the two).
        const worker = opts.worker;
        listenExclusive(
          app,
          config.host,
          config.port,
          (socket) => {
            if (socket === false) {
              reject(new ListenError(`cannot listen on ${config.host}:${config.port}: the port is in use or the address is not on this host`));
              return;
            }
            listenSocket = socket;
            const port = uws.us_socket_local_port(socket as unknown as us_socket);
            if (worker === undefined) logger.info({ host: config.host, port, engine: engine.kind }, 'listening');
            else logger.info({ host: config.host, port, engine: engine.kind, worker }, 'worker listening');
            resolve(port);
          },
          worker !== undefined,
        );
      }),
    close: () => {
      closing ??= (async () => {
        shuttingDown = true;
        if (listenSocket !== null) uws.us_listen_socket_close(listenSocket);
        listenSocket = null;
        if (inflight > 0) {
          const timeoutMs = context.drainTimeoutMs;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              logger.warn({ inflight, timeoutMs }, 'in-flight requests did not finish in time');
              resolve();
            }, timeoutMs);
            drained = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          // uWS hands the last responses to the socket from its own loop hook: give it one turn,
          // or a process exiting right after close() loses them.
          await new Promise((resolve) => setImmediate(resolve));
        }
        for (const fn of closers) {
          try {
            await fn();
          } catch (err) {
            logger.error({ err }, 'a closer failed during shutdown');
          }
        }
        // Deliveries in flight are abandoned (delivered again later, by this node or another) and the leases given up.
        await dispatcher.close();
        await ownCallStore?.close();
        logger.info('server closed');
      })();
      return closing;
    },
  };
}
