/**
 * The one send path (STYLE.md example 5, protocol/websocket.md section 7). Every frame written to a
 * single socket goes through sendEncoded(), which reads uWS's send() result and buffered amount:
 *
 *   - a frame that would take the buffer past max_buffer_bytes, or that uWS drops (status 2, which
 *     uWS only does above maxBackpressure = max_buffer_bytes), closes the connection with 4429
 *     slow_consumer: a frame is never lost silently;
 *   - status 0 (backpressure) is fine: the frame is buffered, and callers that produce many frames
 *     (catch-up) pace themselves with waitForDrain() above buffer_limit_bytes.
 *
 * Live fan-out does not come through here: the hub publishes to uWS topics (feed-hub.ts), which enforce
 * the same hard cap natively (closeOnBackpressureLimit: such a socket is dropped, seen as 1006).
 *
 * Replies of pipelined frames (publish, ping: dispatch.ts) go through sendReply(): they are held
 * until the end of the loop turn and each connection's replies then leave corked together, in the
 * order they were produced, in one write. Many publishes are acknowledged in the same turn (one
 * Redis reply acknowledges a whole batch, appender.ts), and one write per reply was the largest
 * single cost of a publish. Nothing those replies must be ordered against is lost: any other
 * frame sent through here on the same connection first writes the replies held for it, and
 * protocol/websocket.md 3.1 orders no `published` or `pong` against `message` frames (topics).
 */
import { encodeServerFrame } from '../../codec/index.js';
import type { ServerFrame } from '../../codec/index.js';
import { metrics } from '../../metrics/registry.js';
import type { Connection } from './connection.js';

const SEND_DROPPED = 2;

export const SLOW_CONSUMER_CLOSE = 4429;

/** Replies held until the end of the loop turn, per connection, in the order produced. */
let held = new Map<Connection, Array<string | Uint8Array>>();
let flushScheduled = false;

export function sendFrame(conn: Connection, frame: ServerFrame): boolean {
  if (conn.closed) return false;
  return sendEncoded(conn, encodeServerFrame(frame, conn.format));
}

/** Writes one encoded frame (after the replies held for the connection); false when the connection is (now) closed and nothing was sent. */
export function sendEncoded(conn: Connection, data: string | Uint8Array): boolean {
  if (held.size > 0) {
    const replies = held.get(conn);
    if (replies !== undefined) {
      held.delete(conn);
      replies.push(data);
      return writeFrames(conn, replies);
    }
  }
  return writeFrames(conn, [data]);
}

/**
 * Sends a pipelined frame's reply at the end of this loop turn, corked with the connection's other
 * replies of the turn (see the top of this file). A reply that cannot be written then is handled as
 * sendEncoded() handles it (4429 when over the buffer cap; dropped when the connection closed).
 */
export function sendReply(conn: Connection, data: string | Uint8Array): void {
  if (conn.closed || conn.ws === null) return;
  const replies = held.get(conn);
  if (replies !== undefined) {
    replies.push(data);
    return;
  }
  held.set(conn, [data]);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flushReplies);
  }
}

/** Writes every held reply (the end-of-turn flush; also before a connection is closed on purpose). */
export function flushReplies(conn?: Connection): void {
  if (conn !== undefined) {
    const replies = held.get(conn);
    if (replies !== undefined) {
      held.delete(conn);
      writeFrames(conn, replies);
    }
    return;
  }
  flushScheduled = false;
  const all = held;
  held = new Map();
  for (const [c, replies] of all) writeFrames(c, replies);
}

/** Writes frames in one cork; on the first that would pass the buffer cap (or that uWS drops), closes with 4429. */
function writeFrames(conn: Connection, frames: ReadonlyArray<string | Uint8Array>): boolean {
  const ws = conn.ws;
  if (conn.closed || ws === null) return false;
  let overflow = false;
  try {
    // Corked: frames written from Redis callbacks and timers leave in one syscall.
    ws.cork(() => {
      const max = conn.limits.maxBufferBytes;
      const binary = conn.isBinary;
      for (const data of frames) {
        // A string's UTF-8 size is at least its length: enough for a bound check that costs nothing.
        const size = typeof data === 'string' ? data.length : data.byteLength;
        if (ws.getBufferedAmount() + size > max || ws.send(data, binary) === SEND_DROPPED) {
          overflow = true;
          return;
        }
      }
    });
  } catch {
    // The socket closed under us (uWS throws on a closed socket); its close handler cleans up.
    return false;
  }
  if (overflow) {
    conn.close(SLOW_CONSUMER_CLOSE, 'slow_consumer');
    return false;
  }
  conn.lastSendAt = Date.now();
  metrics().wsFramesOut.inc(frames.length);
  return true;
}

/** Runs `fn` with the socket corked, so that the frames it sends leave together. */
export function corked(conn: Connection, fn: () => void): void {
  const ws = conn.ws;
  if (conn.closed || ws === null) return;
  try {
    ws.cork(fn);
  } catch {
    // closed under us
  }
}

/** The buffer level below which a lagging connection resumes (websocket.md 7.3). */
export function resumeLevel(conn: Connection): number {
  return Math.floor(conn.limits.bufferLimitBytes / 4);
}

export function isOverLimit(conn: Connection): boolean {
  return conn.buffered() > conn.limits.bufferLimitBytes;
}

/**
 * Resolves true once the buffer is at or below a quarter of the soft limit, false if the
 * connection closes first. The backpressure sampler closes a connection that waits here longer
 * than drain_timeout_ms (4429), so a stalled client cannot hold a catch-up forever.
 */
export function waitForDrain(conn: Connection): Promise<boolean> {
  if (conn.closed) return Promise.resolve(false);
  if (conn.buffered() <= resumeLevel(conn)) return Promise.resolve(true);
  if (conn.overLimitSince === 0) conn.overLimitSince = Date.now();
  return new Promise((resolve) => conn.drainWaiters.push(resolve));
}

/**
 * Called from uWS's drain handler and the sampler. True when the buffer is back at or below the
 * resume level: waiters are woken and the caller resumes lagging subscriptions.
 */
export function noteDrained(conn: Connection): boolean {
  if (conn.closed || conn.buffered() > resumeLevel(conn)) return false;
  conn.overLimitSince = 0;
  for (const wake of conn.drainWaiters.splice(0)) wake(true);
  return true;
}
