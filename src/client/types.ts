/** The client's options, states and events (STYLE.md example 8: typed, no `any`). */
import type { OfferFrame, OfferRevokedFrame, Principal, ResyncFrame, WelcomeFrame } from '../codec/frames.js';
import type { WireFormat } from '../codec/limits.js';
import type { BackoffOptions } from './backoff.js';
import type { StopCause } from './close-codes.js';
import type { PartitionRecovery } from './subscription.js';
import type { WebSocketConstructor } from './transport.js';

export interface HoldlineClientOptions {
  /**
   * `ws://host:port/v1/ws` (a URL without a path gets `/v1/ws`; `http:`/`https:` are taken as
   * `ws:`/`wss:`, any other scheme is a TypeError). Several URLs (other Holdline nodes
   * of one deployment) are tried in turn, one per connection attempt.
   */
  urls: string | string[];
  /** An application key (protocol/websocket.md section 2). At most one of key and token. */
  key?: string;
  /** An agent token. */
  token?: string;
  /**
   * Where credentials travel: in the first `auth` frame (default: kept out of URLs, which proxies
   * log), or in the URL query.
   */
  credentialsIn?: 'frame' | 'url';
  /** Wire format: `json` (default, `holdline.v1.json`) or `msgpack` (`holdline.v1.msgpack`). */
  format?: WireFormat;
  /**
   * Subscribe with `batch: true` (default): the server groups a partition's messages into
   * `messages` frames, much cheaper per message at high rates; events are still one per message.
   * `false` asks for one `message` frame per message. A server older than batching refuses the
   * field (`invalid_field`): the SDK then subscribes again without it, by itself.
   */
  batch?: boolean;
  /**
   * Coalesce publishes (default true): every `publish()` made before the SDK's next microtask joins
   * one `publish` frame per application and queue (messages in call order, at most the server's
   * `max_publish_messages` per frame); each call still resolves or rejects with its own results.
   * `false` sends one frame per call.
   */
  coalescePublishes?: boolean;
  /** Per request; default 10 000. */
  requestTimeoutMs?: number;
  /** Open, `welcome` and `auth` must complete within this; default 10 000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff; default { baseMs: 500, maxMs: 20 000 }. */
  backoff?: BackoffOptions;
  /** A link with nothing received this long is dead; default the server's heartbeat_ms + 10 000. */
  heartbeatTimeoutMs?: number;
  /** A WebSocket implementation; default globalThis.WebSocket, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
}

/** Why the client stopped for good. */
export type StopReason =
  /** close() was called. */
  | { by: 'client' }
  /** The server closed with a final code (websocket.md section 9). */
  | { by: 'server'; code: number; reason: string; why: StopCause }
  /**
   * The server refused the credentials of the `auth` frame (the close 4401 that follows is
   * implied). An `auth` the store could not check (`engine_unavailable`, 1013) is retried instead.
   */
  | { by: 'auth'; code: string; message: string };

export type ClientState =
  | { status: 'idle' }
  | { status: 'connecting'; url: string; attempt: number }
  | { status: 'connected'; url: string; connectionId: string; principal: Principal }
  | { status: 'waiting'; attempt: number; delayMs: number }
  | { status: 'closed'; reason: StopReason };

export interface ConnectedEvent {
  url: string;
  connectionId: string;
  principal: Principal;
  /** What the server announced in `welcome`: heartbeat_ms, limits, version. */
  welcome: WelcomeFrame;
}

export interface DisconnectedEvent {
  url: string;
  code: number;
  reason: string;
  /** The SDK closed the link itself (dead link, recycling after a failed resubscribe). */
  byClient: boolean;
  willReconnect: boolean;
}

export interface ClientEvents {
  state: ClientState;
  connecting: { url: string; attempt: number };
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  /** An attempt failed before `welcome` (refused, timed out, closed during the handshake). */
  connectFailed: { url: string; attempt: number; code: number | null; reason: string; delayMs: number };
  /**
   * Stopped for good: no more reconnects, every request rejected, then every subscription, view
   * and tail ended (`ended` with `reason: 'error'` and the HoldlineClientError `closed`).
   */
  closed: StopReason;
  /** Frames the SDK could not read, errors without a request, exceptions thrown by listeners. */
  error: Error;
  /** A subscribed partition's live delivery was interrupted and resumed by the server (4.3). */
  resync: ResyncFrame;
  /** A subscribed partition was (re)subscribed: whether recovery was complete. */
  recovery: PartitionRecovery;
  /** An offer made to this connection's agent (agent tokens; protocol/routing.md section 7). */
  offer: OfferFrame;
  /** An offer to this connection's agent ended without its answer. */
  offerRevoked: OfferRevokedFrame;
}
