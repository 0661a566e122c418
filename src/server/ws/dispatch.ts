/**
 * From a received WebSocket message to exactly one reply (protocol/websocket.md 3.1, 8).
 *
 * Checked synchronously in uWS's message handler, while its buffer is valid: size (1009), frame
 * kind (1003), too many unanswered frames (4429), then decoding (the codec copies what it keeps).
 * Everything else runs on the connection's chain (Connection.enqueue), in arrival order. Most frames
 * are barriers: they start once every earlier frame has completed, so `auth` gates what follows and
 * subscribe/unsubscribe see the effects of what came before. `publish` and `ping` are pipelined: they
 * start without waiting for earlier publishes to complete, and a publish submits its append only
 * after the earlier frames have submitted theirs, so per-partition append order holds while one
 * connection's appends share the engine's round trips (appender.ts).
 *
 * Replies to pipelined frames leave at the end of the loop turn, corked with the connection's
 * other replies of that turn (send.ts sendReply); a barrier frame's reply (and anything sent after
 * it, e.g. a subscription's first messages) goes at once, after the replies held before it. Before
 * this module closes a connection, the replies already produced are written.
 */
import { decodeClientFrame, encodeServerFrame, toErrorFrame } from '../../codec/index.js';
import type { AuthFrame, ClientFrame, DecodeResult, ServerFrame } from '../../codec/index.js';
import { ERRORS, HoldlineError, isHoldlineError } from '../../errors.js';
import type { AgentTokenResolver } from './auth.js';
import { authenticateConnection } from './auth.js';
import type { Connection, FrameOrder } from './connection.js';
import { errorFrameFor, replyId } from './errors.js';
import type { HandlerEnv, HandlerResult, HandlerTable } from './handlers/index.js';
import { SLOW_CONSUMER_CLOSE, flushReplies, sendEncoded, sendFrame, sendReply } from './send.js';

/** Frame types that need no barrier; their handlers order themselves by FrameOrder (handlers/types.ts). */
const PIPELINED: ReadonlySet<ClientFrame['type']> = new Set(['publish', 'ping']);

export type MessageHandler = (conn: Connection, data: ArrayBuffer, isBinary: boolean) => void;

export function createDispatcher(env: HandlerEnv, handlers: HandlerTable, agentForToken: AgentTokenResolver | undefined): MessageHandler {
  const { logger } = env;

  function run(conn: Connection, frame: Exclude<ClientFrame, AuthFrame>, order: FrameOrder): Promise<HandlerResult> {
    switch (frame.type) {
      case 'publish':
        return handlers.publish(conn, frame, env, order);
      case 'subscribe':
        return handlers.subscribe(conn, frame, env, order);
      case 'unsubscribe':
        return handlers.unsubscribe(conn, frame, env, order);
      case 'history':
        return handlers.history(conn, frame, env, order);
      case 'state.set':
        return handlers['state.set'](conn, frame, env, order);
      case 'callqueue.subscribe':
        return handlers['callqueue.subscribe'](conn, frame, env, order);
      case 'callqueue.unsubscribe':
        return handlers['callqueue.unsubscribe'](conn, frame, env, order);
      case 'callqueue.refresh':
        return handlers['callqueue.refresh'](conn, frame, env, order);
      case 'events.subscribe':
        return handlers['events.subscribe'](conn, frame, env, order);
      case 'events.unsubscribe':
        return handlers['events.unsubscribe'](conn, frame, env, order);
      case 'ping':
        return handlers.ping(conn, frame, env, order);
    }
  }

  async function authenticate(conn: Connection, frame: AuthFrame, first: boolean): Promise<void> {
    if (!first) {
      sendFrame(conn, errorFrameFor(new HoldlineError('auth_unexpected'), frame, logger));
      return;
    }
    try {
      const creds = frame.key !== undefined ? { key: frame.key } : { token: frame.token ?? '' };
      await authenticateConnection(env.ctx, conn, creds, agentForToken);
    } catch (err) {
      sendFrame(conn, errorFrameFor(err, frame, logger));
      // Bad credentials are final (4401); a store that cannot check them now is worth a retry.
      const code = isHoldlineError(err) ? err.code : 'internal';
      const close = ERRORS[code].close ?? 1011;
      conn.close(close, code);
      return;
    }
    sendFrame(conn, { type: 'authenticated', ...replyId(frame.id), principal: conn.principal });
  }

  async function handle(conn: Connection, decoded: DecodeResult<ClientFrame>, first: boolean, order: FrameOrder): Promise<void> {
    if (conn.closed) return;
    if (!decoded.ok) {
      sendFrame(conn, toErrorFrame(decoded.error));
      if (first && decoded.error.op === 'auth') conn.close(4401, 'auth_malformed');
      return;
    }
    const frame = decoded.frame;
    if (frame.type === 'auth') return authenticate(conn, frame, first);
    let result: HandlerResult;
    try {
      result = await run(conn, frame, order);
    } catch (err) {
      reply(conn, frame, errorFrameFor(err, frame, logger));
      return;
    }
    if (PIPELINED.has(frame.type) && result.after === undefined) {
      if (!conn.closed) sendReply(conn, result.encoded ?? encodeServerFrame(result.reply, conn.format));
      return;
    }
    if (result.encoded !== undefined) sendEncoded(conn, result.encoded);
    else sendFrame(conn, result.reply);
    result.after?.();
  }

  /** A reply: held to the end of the turn for a pipelined frame, else sent at once. */
  function reply(conn: Connection, frame: Exclude<ClientFrame, AuthFrame>, out: ServerFrame): void {
    if (!PIPELINED.has(frame.type)) sendFrame(conn, out);
    else if (!conn.closed) sendReply(conn, encodeServerFrame(out, conn.format));
  }

  /** Closes from the message handler: the replies already produced go first. */
  function closeNow(conn: Connection, code: number, reason: string): void {
    flushReplies(conn);
    conn.close(code, reason);
  }

  return (conn, data, isBinary) => {
    const { limits } = conn;
    if (data.byteLength > limits.maxFrameBytes) return closeNow(conn, 1009, 'frame_too_large');
    if (isBinary !== conn.isBinary) return closeNow(conn, 1003, 'wrong_frame_kind');
    // A client that keeps sending without waiting for replies would queue work without bound.
    if (conn.pendingFrames >= limits.maxPendingFrames) return closeNow(conn, SLOW_CONSUMER_CLOSE, 'slow_consumer');
    const decoded = decodeClientFrame(data, conn.format, { maxFrameBytes: limits.maxFrameBytes });
    const first = conn.awaitingFirstFrame;
    if (first) {
      conn.awaitingFirstFrame = false;
      clearTimeout(conn.authTimer);
    }
    conn.enqueue(
      (order) =>
        handle(conn, decoded, first, order).catch((err: unknown) => {
          logger.error({ err, connection: conn.id }, 'ws frame handling failed');
          conn.close(1011, 'internal');
        }),
      !first && decoded.ok && PIPELINED.has(decoded.frame.type),
    );
  };
}
