/**
 * The frame handler table: one async function per client frame type (except `auth`, which the
 * connection handles itself as a barrier). A handler validates, calls the domain and the engine,
 * and returns its reply; it throws HoldlineError for a failure, which becomes the `error` frame.
 * The dispatcher sends exactly one reply per frame (websocket.md 3.1), then runs `after`.
 *
 * Only pipelined frame types (dispatch.ts) may start before earlier frames completed; their
 * handler awaits `order.turn` before its ordered work and calls `order.started()` right after.
 *
 * Later modules (call queues) plug in by passing their handlers to createWebSocketEndpoint.
 */
import type { ClientFrame, ClientFrameType, ServerFrame } from '../../../codec/index.js';
import type { ServerContext } from '../../context.js';
import type { Connection, FrameOrder } from '../connection.js';
import type { WebSocketLimits } from '../options.js';
import type { CatchUpEnv } from '../subscription.js';

export interface HandlerEnv extends CatchUpEnv {
  ctx: ServerContext;
  limits: WebSocketLimits;
}

export interface HandlerResult {
  /** Carries the request's `id` (errors.ts replyId). */
  reply: ServerFrame;
  /** The reply already encoded in the connection's format (history sizes itself this way). */
  encoded?: string | Uint8Array;
  /** Runs once the reply is written (subscribe starts sending messages here). */
  after?: () => void;
}

export type HandledFrameType = Exclude<ClientFrameType, 'auth'>;

export type FrameHandler<T extends HandledFrameType> = (
  conn: Connection,
  frame: Extract<ClientFrame, { type: T }>,
  env: HandlerEnv,
  order: FrameOrder,
) => Promise<HandlerResult>;

export type HandlerTable = { [T in HandledFrameType]: FrameHandler<T> };
