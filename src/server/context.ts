/**
 * What every part of the server shares: HTTP routes here, the WebSocket module in src/server/ws/,
 * and later route modules (call queues, tags, events) all receive one ServerContext.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { HoldlineConfig } from '../config.js';
import type { Engine } from '../engine/types.js';
import type { Logger } from '../logger.js';
import type { CallService } from '../domain/calls/service.js';
import type { MessageQueues } from '../domain/queues/service.js';
import type { Router } from './router.js';
import type { RequestSchemas } from './schemas.js';
import type { Uws } from './uws.js';

export interface ServerContext {
  readonly config: HoldlineConfig;
  readonly engine: Engine;
  readonly logger: Logger;
  readonly uws: Uws;
  readonly app: TemplatedApp;
  /** HTTP routes: add more with router.add(method, '/v1/thing/:id', handler). */
  readonly router: Router;
  readonly schemas: RequestSchemas;
  readonly queues: MessageQueues;
  /** Agents, call queues, members, callers, tags and agent tokens (protocol/calls.md). */
  readonly calls: CallService;
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
}

/** A module mounted on the uWS app next to the HTTP router (src/server/ws/index.ts is one). */
export type ServerMount = (ctx: ServerContext) => void;
