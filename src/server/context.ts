/**
 * What every part of the server shares: HTTP routes here, the WebSocket module in src/server/ws/,
 * and later route modules (call queues, tags, events) all receive one ServerContext.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { HoldlineConfig } from '../config.js';
import type { EngineCapabilities, EngineKind } from '../engine/types.js';
import type { Logger } from '../logger.js';
import type { Applications } from '../domain/apps.js';
import type { CallFeeds } from '../domain/calls/feeds.js';
import type { RoutingService } from '../domain/calls/routing/service.js';
import type { CallService } from '../domain/calls/service.js';
import type { WebhookService } from '../domain/webhooks/service.js';
import type { EventFeeds } from '../domain/events/feeds.js';
import type { EventQueries } from '../domain/events/service.js';
import type { MessageFeeds } from '../domain/queues/feeds.js';
import type { MessageQueues } from '../domain/queues/service.js';
import type { Router } from './router.js';
import type { RequestSchemas } from './schemas.js';
import type { Uws } from './uws.js';

/**
 * What the configured storage is and guarantees (`/readyz`, `/v1/capabilities`): facts about the
 * engine, not a way to it.
 */
export interface StorageStatus {
  readonly kind: EngineKind;
  readonly capabilities: EngineCapabilities;
  /** Redis Cluster (chosen by the URL, config.ts, the same one the engine was built from). */
  readonly cluster: boolean;
  /** The message engine and the call store both answer. */
  ready(): Promise<boolean>;
}

/**
 * No engine here: transports (REST routes, WebSocket handlers) reach storage only through the
 * domain services below (issue 12, "the domain is the only door"), so a rule or side effect lives
 * in one place and exists on both transports. `feeds` is read-only: live subscriptions and their
 * catch-up reads.
 */
export interface ServerContext {
  readonly config: HoldlineConfig;
  readonly logger: Logger;
  readonly storage: StorageStatus;
  readonly uws: Uws;
  readonly app: TemplatedApp;
  /** HTTP routes: add more with router.add(method, '/v1/thing/:id', handler). */
  readonly router: Router;
  readonly schemas: RequestSchemas;
  readonly queues: MessageQueues;
  /** Applications and their keys (admin routes, /metrics, WebSocket credential re-checks). */
  readonly apps: Applications;
  /** Live partition feeds for WebSocket subscriptions (read-only; writes go through `queues`). */
  readonly feeds: MessageFeeds;
  /** Agents, call queues, members, callers, tags and agent tokens (protocol/calls.md). */
  readonly calls: CallService;
  /** Live call-queue feeds for WebSocket subscriptions (read-only; changes go through `calls`). */
  readonly callFeeds: CallFeeds;
  /** Webhook endpoints of each application (protocol/webhooks.md). */
  readonly webhooks: WebhookService;
  /** The event log, read-only: the live tail follows it (websocket.md 12). Recording is each change's own. */
  readonly eventLog: EventFeeds;
  /** Routing of call queues (protocol/routing.md); null when the call store has none. */
  readonly routing: RoutingService | null;
  /** Event log queries as Panko v2 (protocol/events.md). */
  readonly events: EventQueries;
  /** The application behind an `Authorization: Application <key>` header; null without a header; 401 errors otherwise. */
  applicationFor(authorization: string | undefined): Promise<string | null>;
  /** The application a bare key belongs to (WebSocket: key from the URL or the first frame); 401 auth_invalid. */
  applicationForKey(key: string): Promise<string>;
  /**
   * The agent an agent token stands for (WebSocket `token`), and when the token expires (epoch ms);
   * 401 auth_invalid / token_expired.
   */
  agentForToken(token: string): Promise<{ application: string; agentUuid: string; expiresAtMs?: number }>;
  /** Throws unless the header carries the operator key (403 admin_disabled / 401). */
  assertAdmin(authorization: string | undefined): void;
  /** True once close() began: refuse new work (503 shutting_down / close 1001). */
  readonly shuttingDown: boolean;
  /**
   * Runs at close(), after the listen socket is closed and in-flight HTTP requests finished, in
   * registration order (the WebSocket module closes its sockets here). Must not throw.
   */
  onClose(fn: () => Promise<void> | void): void;
  /** How long a stopping server waits for the requests in flight, HTTP and WebSocket (`ServerOptions.drainTimeoutMs`). */
  readonly drainTimeoutMs: number;
}

/** A module mounted on the uWS app next to the HTTP router (src/server/ws/index.ts is one). */
export type ServerMount = (ctx: ServerContext) => void;
