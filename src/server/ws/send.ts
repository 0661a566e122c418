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
 * Live fan-out does not come through here: the hub publishes to uWS topics (hub.ts), which enforce
 * the same hard cap natively (closeOnBackpressureLimit: such a socket is dropped, seen as 1006).
 */
import { encodeServerFrame } from '../../codec/index.js';
import type { ServerFrame } from '../../codec/index.js';
import type { Connection } from './connection.js';

const SEND_DROPPED = 2;

export const SLOW_CONSUMER_CLOSE = 4429;

export function sendFrame(conn: Connection, frame: ServerFrame): boolean {
  if (conn.closed) return false;
  return sendEncoded(conn, encodeServerFrame(frame, conn.format));
}

/** Writes one encoded frame; false when the connection is (now) closed and nothing was sent. */
export function sendEncoded(conn: Connection, data: string | Uint8Array): boolean {
  const ws = conn.ws;
  if (conn.closed || ws === null) return false;
  try {
    // A string's UTF-8 size is at least its length: enough for a bound check that costs nothing.
    const size = typeof data === 'string' ? data.length : data.byteLength;
    if (ws.getBufferedAmount() + size > conn.limits.maxBufferBytes) {
      conn.close(SLOW_CONSUMER_CLOSE, 'slow_consumer');
      return false;
    }
    let status = 1;
    // Corked: frames written from Redis callbacks and timers leave in one syscall.
    ws.cork(() => {
      status = ws.send(data, conn.isBinary);
    });
    if (status === SEND_DROPPED) {
      conn.close(SLOW_CONSUMER_CLOSE, 'slow_consumer');
      return false;
    }
    conn.lastSendAt = Date.now();
    return true;
  } catch {
    // The socket closed under us (uWS throws on a closed socket); its close handler cleans up.
    return false;
  }
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
