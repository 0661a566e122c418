/**
 * Two timers over the connections of this node (unref'd: they never keep the process alive).
 *
 * The backpressure sampler (protocol/websocket.md section 7), every sample_interval_ms, over the
 * connections that follow something or wait for a drain:
 *   - buffer above buffer_limit_bytes → the connection is lagging: its live partitions leave their
 *     uWS topics (subscription.ts leaveLive, resume point = the hub's last published message);
 *   - back at or below a quarter of it → each lagging partition gets `resync` (slow_consumer) and
 *     catches up from storage (the uWS drain handler does the same, sooner);
 *   - lagging for longer than drain_timeout_ms → close 4429 slow_consumer.
 * Call-queue subscriptions (connection.ts SideSubscription) pause and resume alongside: they leave
 * their topic, and rejoin from a fresh snapshot.
 * Live fan-out is written by uWS itself, so the buffer is sampled rather than checked per message;
 * between two samples a socket can take at most max_buffer_bytes, where uWS drops it (1006).
 *
 * The heartbeat sends `heartbeat` to a connection that received nothing for heartbeat_ms; live
 * messages count as traffic (they bypass send.ts, so the hub's per-partition time is used).
 */
import type { Connection } from './connection.js';
import { SLOW_CONSUMER_CLOSE, noteDrained, sendFrame } from './send.js';
import type { CatchUpEnv } from './subscription.js';
import { leaveLive, resync } from './subscription.js';

/** Lagging partitions catch up from storage, each announced by `resync` (slow_consumer). */
export function resumeLagging(env: CatchUpEnv, conn: Connection): void {
  for (const sub of [...conn.subs.values()]) {
    if (sub.state === 'lagging') resync(env, sub, 'slow_consumer');
  }
  for (const other of [...conn.otherSubscriptions.values()]) if (other.lagging) other.resume();
}

export function sampleBackpressure(env: CatchUpEnv, conn: Connection, now: number): void {
  if (conn.closed || (conn.subs.size === 0 && conn.otherSubscriptions.size === 0 && conn.drainWaiters.length === 0)) return;
  if (conn.buffered() > conn.limits.bufferLimitBytes) {
    if (conn.overLimitSince === 0) conn.overLimitSince = now;
    for (const sub of conn.subs.values()) if (sub.state === 'live') leaveLive(sub);
    for (const other of conn.otherSubscriptions.values()) other.pause();
  } else if (noteDrained(conn)) {
    resumeLagging(env, conn);
    return;
  }
  if (conn.overLimitSince !== 0 && now - conn.overLimitSince > conn.limits.drainTimeoutMs) {
    conn.close(SLOW_CONSUMER_CLOSE, 'slow_consumer');
  }
}

export function heartbeat(conn: Connection, now: number): void {
  if (conn.closed || conn.ws === null) return;
  let last = conn.lastSendAt;
  for (const sub of conn.subs.values()) if (sub.state === 'live' && sub.part.lastAt > last) last = sub.part.lastAt;
  for (const other of conn.otherSubscriptions.values()) if (other.lastLiveAt > last) last = other.lastLiveAt;
  if (now - last >= conn.limits.heartbeatMs) sendFrame(conn, { type: 'heartbeat', time: now / 1000 });
}

export class Monitor {
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly env: CatchUpEnv,
    private readonly connections: ReadonlySet<Connection>,
  ) {}

  start(sampleIntervalMs: number, heartbeatMs: number): void {
    const guarded = (fn: (conn: Connection, now: number) => void) => () => {
      const now = Date.now();
      for (const conn of this.connections) {
        try {
          fn(conn, now);
        } catch (err) {
          this.env.logger.error({ err, connection: conn.id }, 'ws monitor failed on a connection');
        }
      }
    };
    this.timers.push(setInterval(guarded((c, now) => sampleBackpressure(this.env, c, now)), sampleIntervalMs).unref());
    this.timers.push(setInterval(guarded(heartbeat), Math.max(10, Math.floor(heartbeatMs / 4))).unref());
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
