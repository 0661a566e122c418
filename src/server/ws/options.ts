/**
 * The WebSocket endpoint's limits and timings (protocol/websocket.md section 10). Defaults are the
 * protocol's; tests and embedders pass smaller ones (e.g. a short drain timeout) to createWebSocketEndpoint.
 */
import {
  DEFAULT_AUTH_TIMEOUT_MS,
  DEFAULT_BUFFER_LIMIT_BYTES,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_IDLE_TIMEOUT_S,
  DEFAULT_MAX_BUFFER_BYTES,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_REPLY_BYTES,
  DEFAULT_MAX_SUBSCRIPTIONS,
} from '../../codec/index.js';

import { MAX_CLIENT_JSON_BYTES } from '../../domain/queues/message-rules.js';
export interface WebSocketLimits {
  /** Largest client frame; 1009 above it, and the transport drops frames over twice this. */
  maxFrameBytes: number;
  /** Subscribed partitions (+ call queues) per connection. */
  maxSubscriptions: number;
  /** A history.result is cut (truncated: true) to stay under this. */
  maxReplyBytes: number;
  /** First frame of a connection opened without credentials (4408 after). */
  authTimeoutMs: number;
  /** A heartbeat frame after this long without any other frame to the connection. */
  heartbeatMs: number;
  /** uWS idleTimeout: nothing received (not even a pong) for this long → dropped (1006). */
  idleTimeoutS: number;
  /** Soft limit of a connection's send buffer: above it live delivery stops (lagging). */
  bufferLimitBytes: number;
  /** Lagging (or a paced catch-up waiting for the client) longer than this → 4429. */
  drainTimeoutMs: number;
  /** Hard cap of a connection's send buffer (uWS maxBackpressure). */
  maxBufferBytes: number;
  /** Largest client_json of state.set, as encoded JSON. */
  maxClientJsonBytes: number;
  /** Frames received and not yet answered; a client that sends more without waiting → 4429. */
  maxPendingFrames: number;
  /** How often the backpressure sampler looks at the buffers of subscribed connections. */
  sampleIntervalMs: number;
  /** Messages read from storage per page during catch-up. */
  historyPageSize: number;
  /** Live messages held per recovering partition before its catch-up restarts from storage. */
  recoveryBufferMessages: number;
  /** Body bytes held per recovering partition before its catch-up restarts from storage. */
  recoveryBufferBytes: number;
}

export const DEFAULT_WS_LIMITS: WebSocketLimits = {
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxSubscriptions: DEFAULT_MAX_SUBSCRIPTIONS,
  maxReplyBytes: DEFAULT_MAX_REPLY_BYTES,
  authTimeoutMs: DEFAULT_AUTH_TIMEOUT_MS,
  heartbeatMs: DEFAULT_HEARTBEAT_MS,
  idleTimeoutS: DEFAULT_IDLE_TIMEOUT_S,
  bufferLimitBytes: DEFAULT_BUFFER_LIMIT_BYTES,
  drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
  maxBufferBytes: DEFAULT_MAX_BUFFER_BYTES,
  maxClientJsonBytes: MAX_CLIENT_JSON_BYTES,
  maxPendingFrames: 1000,
  sampleIntervalMs: 50,
  historyPageSize: 200,
  recoveryBufferMessages: 5000,
  recoveryBufferBytes: 4 * 1024 * 1024,
};
