/**
 * The WebSocket endpoint `/v1/ws` (protocol/websocket.md), mounted on the server's uWS app:
 *
 *   createHoldlineServer({ config, engine, logger, mounts: [mountWebSocket] });
 *
 * or, to choose limits, plug in handlers, or read per-connection stats (tests):
 *
 *   const ws = createWebSocketEndpoint({ limits: { drainTimeoutMs: 500 } });
 *   createHoldlineServer({ ..., mounts: [ws.mount] }); … ws.stats();
 *
 * Files: upgrade.ts (subprotocol, URL credentials) · connection.ts (per-socket state) · dispatch.ts
 * (frames → handlers/, one reply each) · send.ts (the one send path) · feed-hub.ts (live fan-out over
 * uWS topics, every kind of feed) · follower.ts (the gapless join) · subscription.ts and
 * callqueue-subscription.ts (the two kinds of feed, their storage reads) · monitor.ts (backpressure
 * sampler, heartbeats) · auth.ts (credentials, token expiry) · watch.ts (what metadata changes do to live connections).
 */
import type { WebSocketBehavior } from 'uWebSockets.js';
import { HARD_FRAME_FACTOR, MAX_PUBLISH_MESSAGES, WS_PATH } from '../../codec/index.js';
import type { Principal, WireFormat } from '../../codec/index.js';
import { ERRORS, isHoldlineError } from '../../errors.js';
import type { ServerContext, ServerMount } from '../context.js';
import { authenticateConnection } from './auth.js';
import type { AgentTokenResolver } from './auth.js';
import type { Connection, SocketData } from './connection.js';
import { createDispatcher } from './dispatch.js';
import { DEFAULT_HANDLERS } from './handlers/index.js';
import type { HandlerEnv, HandlerTable } from './handlers/index.js';
import { Monitor, resumeLagging } from './monitor.js';
import { DEFAULT_WS_LIMITS } from './options.js';
import type { WebSocketLimits } from './options.js';
import { SLOW_CONSUMER_CLOSE, flushReplies, noteDrained, sendFrame } from './send.js';
import { endSubscription, partitionHub, type Hub } from './subscription.js';
import type { SubscriptionState } from './subscription.js';
import { CorsPolicy } from '../cors.js';
import { metrics } from '../../metrics/registry.js';
import type { WsSource } from '../../metrics/registry.js';
import { createUpgradeHandler } from './upgrade.js';
import { MetaWatch } from './watch.js';
import { pushOffers } from './offers.js';

/** Resolves when every promise has, or after `ms`, whichever comes first; never rejects. */
async function settledWithin(all: Promise<void>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([Promise.allSettled(all), timeout]);
  clearTimeout(timer);
}

export type { AgentIdentity, AgentTokenResolver } from './auth.js';
export type { Connection } from './connection.js';
export type { FrameHandler, HandlerEnv, HandlerResult, HandlerTable } from './handlers/index.js';
export { DEFAULT_WS_LIMITS } from './options.js';
export type { WebSocketLimits } from './options.js';
export { sendFrame } from './send.js';

export const SERVER_NAME = 'holdline/0.1.0';

export interface WebSocketEndpointOptions {
  limits?: Partial<WebSocketLimits>;
  /** Replace handlers of the default table (the call-queue module plugs its frames in here). */
  handlers?: Partial<HandlerTable>;
  /** Agent tokens; default: ServerContext.agentForToken (the call-queue domain). */
  agentForToken?: AgentTokenResolver;
}

export interface ConnectionStats {
  id: string;
  principal: Principal;
  format: WireFormat;
  /** Bytes in uWS's send buffer for this socket. */
  buffered: number;
  /** Some partition left live delivery because of the buffer (websocket.md 7.2). */
  lagging: boolean;
  subscriptions: Array<{ application: string; queue: string; partition: number; state: SubscriptionState; lastSeq: number }>;
}

export interface ClosedConnection {
  id: string;
  principal: Principal;
  code: number;
  reason: string;
}

export interface WebSocketStats {
  connections: ConnectionStats[];
  /** The most recent closes (at most 1000), oldest first. */
  closed: ClosedConnection[];
  /** Partitions with an engine subscription on this node. */
  livePartitions: number;
}

export interface WebSocketEndpoint {
  readonly limits: WebSocketLimits;
  readonly mount: ServerMount;
  stats(): WebSocketStats;
  /** Resolves once the re-checks that metadata changes started so far are done (tests). */
  settled(): Promise<void>;
}

const CLOSED_LOG = 1000;

export function createWebSocketEndpoint(options: WebSocketEndpointOptions = {}): WebSocketEndpoint {
  const limits: WebSocketLimits = { ...DEFAULT_WS_LIMITS, ...options.limits };
  const handlers: HandlerTable = { ...DEFAULT_HANDLERS, ...options.handlers };
  const connections = new Set<Connection>();
  const closed: ClosedConnection[] = [];
  let hub: Hub | null = null;
  let metaWatch: MetaWatch | null = null;

  const mount: ServerMount = (ctx: ServerContext) => {
    if (hub !== null) throw new Error('a WebSocket endpoint is mounted on one server only');
    const logger = ctx.logger.child({ module: 'ws' });
    const cors = new CorsPolicy(ctx.config.corsOrigins);
    let shuttingDown = false;
    const liveHub = partitionHub(ctx.feeds, ctx.app, logger, limits.maxFrameBytes);
    hub = liveHub;
    const env: HandlerEnv = { ctx, engine: ctx.feeds, hub: liveHub, logger, limits };
    const dispatch = createDispatcher(env, handlers, options.agentForToken);
    const monitor = new Monitor(env, connections);
    const watch = new MetaWatch(env, connections, options.agentForToken);
    metaWatch = watch;
    pushOffers(ctx, connections);

    const behavior: WebSocketBehavior<SocketData> = {
      maxPayloadLength: limits.maxFrameBytes * HARD_FRAME_FACTOR,
      maxBackpressure: limits.maxBufferBytes,
      // Typed as a number in this uWS build; any truthy value turns it on. A socket that would
      // pass maxBackpressure is then dropped instead of silently skipping a published message.
      closeOnBackpressureLimit: 1,
      idleTimeout: limits.idleTimeoutS,
      sendPingsAutomatically: true,
      upgrade: createUpgradeHandler({ limits, logger, isShuttingDown: () => shuttingDown || ctx.shuttingDown, originAllowed: (o, h) => cors.allowsUpgrade(o, h) }),
      open: (ws) => {
        const conn = ws.getUserData().conn;
        conn.ws = ws;
        try {
          if (conn.refused !== null) return conn.close(ERRORS[conn.refused].close ?? 4401, conn.refused);
          if (shuttingDown) return conn.close(1001, 'shutting_down');
          connections.add(conn);
          const welcome = (): void => {
            sendFrame(conn, {
              type: 'welcome',
              protocol: 1,
              server: SERVER_NAME,
              connection_id: conn.id,
              principal: conn.principal,
              heartbeat_ms: limits.heartbeatMs,
              limits: {
                max_frame_bytes: limits.maxFrameBytes,
                max_message_bytes: ctx.config.maxMessageBytes,
                max_publish_messages: MAX_PUBLISH_MESSAGES,
                max_subscriptions: limits.maxSubscriptions,
                max_reply_bytes: limits.maxReplyBytes,
                max_pending_frames: limits.maxPendingFrames,
                buffer_limit_bytes: limits.bufferLimitBytes,
                max_buffer_bytes: limits.maxBufferBytes,
                drain_timeout_ms: limits.drainTimeoutMs,
                callqueue_resume_window: ctx.config.callQueueResumeWindow,
              },
            });
          };
          const credentials = conn.credentials;
          if (credentials !== null) {
            // URL credentials: the first task of the chain, so frames wait for it (websocket.md 2).
            conn.enqueue(async () => {
              try {
                await authenticateConnection(ctx, conn, credentials, options.agentForToken);
              } catch (err) {
                const code = isHoldlineError(err) ? err.code : 'internal';
                if (!isHoldlineError(err)) logger.error({ err }, 'ws: checking credentials failed');
                conn.close(ERRORS[code].close ?? 4401, code);
                return;
              }
              welcome();
            }, false);
            return;
          }
          welcome();
          if (conn.awaitingFirstFrame) {
            conn.authTimer = setTimeout(() => conn.close(4408, 'auth_timeout'), limits.authTimeoutMs).unref();
          }
        } catch (err) {
          logger.error({ err }, 'ws open failed');
          conn.close(1011, 'internal');
        }
      },
      message: (ws, data, isBinary) => {
        const conn = ws.getUserData().conn;
        metrics().wsFramesIn.inc();
        // Stopping: the frames already being handled are answered, later ones are not (close 1001 follows).
        if (shuttingDown) return;
        try {
          dispatch(conn, data, isBinary);
        } catch (err) {
          logger.error({ err, connection: conn.id }, 'ws message failed');
          conn.close(1011, 'internal');
        }
      },
      drain: (ws) => {
        const conn = ws.getUserData().conn;
        try {
          if (noteDrained(conn)) resumeLagging(env, conn);
        } catch (err) {
          logger.error({ err, connection: conn.id }, 'ws drain failed');
        }
      },
      close: (ws, code, message) => {
        const conn = ws.getUserData().conn;
        try {
          const reason = Buffer.from(message).toString('utf8');
          if (code === SLOW_CONSUMER_CLOSE) metrics().slowConsumerCloses.inc();
          const hooks = conn.markClosed({ code, reason });
          connections.delete(conn);
          for (const sub of [...conn.subs.values()]) endSubscription(env, sub);
          closed.push({ id: conn.id, principal: conn.principal, code, reason });
          if (closed.length > CLOSED_LOG) closed.shift();
          logger.debug({ connection: conn.id, code, reason }, 'ws closed');
          for (const hook of hooks) hook({ code, reason });
        } catch (err) {
          logger.error({ err, connection: conn.id }, 'ws close handling failed');
        }
      },
    };
    ctx.app.ws<SocketData>(WS_PATH, behavior);
    monitor.start(limits.sampleIntervalMs, limits.heartbeatMs);
    watch.start();
    const wsSource: WsSource = {
      connections: () => connections.size,
      subscriptions: () => [...connections].reduce((n, c) => n + c.subscriptionCount, 0),
    };
    metrics().wsSources.add(wsSource);

    ctx.onClose(async () => {
      metrics().wsSources.delete(wsSource);
      shuttingDown = true;
      monitor.stop();
      watch.stop();
      // A request in flight (a publish waiting for Redis) is answered before the close, as HTTP
      // requests in flight are: closed unanswered, its client could not tell whether it was done.
      await settledWithin([...connections].map((c) => c.settled()), ctx.drainTimeoutMs);
      for (const conn of [...connections]) {
        // Their replies may still be held for the end of this loop turn (send.ts sendReply).
        flushReplies(conn);
        conn.close(1001, 'shutting_down');
      }
      await liveHub.close();
    });
  };

  return {
    limits,
    mount,
    stats: () => ({
      connections: [...connections].map((c) => ({
        id: c.id,
        principal: c.principal,
        format: c.format,
        buffered: c.buffered(),
        lagging: [...c.subs.values()].some((s) => s.state === 'lagging'),
        subscriptions: [...c.subs.values()].map((s) => ({
          application: s.ref.app,
          queue: s.ref.queue,
          partition: s.ref.partition,
          state: s.state,
          // While live, the socket has everything the hub published.
          lastSeq: s.state === 'live' ? Math.max(s.lastSeq, s.part.lastSeq) : s.lastSeq,
        })),
      })),
      closed: [...closed],
      livePartitions: hub?.size ?? 0,
    }),
    settled: async () => {
      await metaWatch?.settled();
    },
  };
}

/** `/v1/ws` with the protocol's default limits. */
export const mountWebSocket: ServerMount = (ctx) => createWebSocketEndpoint().mount(ctx);
