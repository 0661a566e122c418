/**
 * Every WebSocket frame as a TypeScript type (protocol/websocket.md; schemas in protocol/schemas/ws/).
 * Two discriminated unions on `type`: ClientFrame (client → server) and ServerFrame (server → client).
 *
 * Bodies are `string | Uint8Array` here whatever the wire format: the codec turns JSON's base64
 * `body_encoding` into bytes and back, so `body_encoding` never appears in these types.
 *
 * The call-queue objects have their own wire types (call-wire.ts), not the call store's: the codec
 * imports nothing from the engine, and the store may change its types without changing the wire.
 */
import type { WireCallQueueChange, WireCallQueueSnapshot, WireCallQueueStats, WireCaller, WireMembersByState, WireWindowFigures } from './call-wire.js';
import type { ErrorCode } from '../errors.js';
import type { JsonValue, WireAppendFields, WireMessageFields } from '../message-fields.js';

export type { JsonValue };

/** Chosen by the client (1–64 chars, or an integer 0..2^53-1), echoed in the reply. */
export type RequestId = string | number;
export type Body = string | Uint8Array;
export type ReadOrder = 'ascending' | 'descending';

// ---------- client → server ----------

export interface AuthFrame {
  type: 'auth';
  id?: RequestId;
  /** Exactly one of key and token. */
  key?: string;
  token?: string;
}

/** The optional fields (content_type, in_reply_to) come from the one field table, src/message-fields.ts. */
export interface PublishMessage extends WireAppendFields {
  body: Body;
  partition?: number;
  ttl?: number;
}

export interface PublishFrame {
  type: 'publish';
  id?: RequestId;
  application: string;
  queue: string;
  messages: PublishMessage[];
}

export interface SubscribeFrame {
  type: 'subscribe';
  id?: RequestId;
  application: string;
  queue: string;
  partitions?: number[];
  /** Partition number (as a string) → last message id the client has; exclusive. */
  after?: Record<string, string>;
  /** Epoch seconds, inclusive. Never together with `after`. */
  since?: number;
  /** true: deliver in `messages` frames (several messages of one partition per frame), not `message` frames. */
  batch?: boolean;
}

export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id?: RequestId;
  application: string;
  queue: string;
  partitions?: number[];
}

export interface HistoryFrame {
  type: 'history';
  id?: RequestId;
  application: string;
  queue: string;
  /** Epoch seconds or a message id; inclusive. */
  since?: number | string;
  limit?: number;
  order?: ReadOrder;
  partitions?: number[];
  /** Filtered read (SPEC.md 3.5): client states, `none` for unset. */
  client_state?: string[];
  /** Epoch seconds or ISO-8601. */
  updated_since?: number | string;
  updated_until?: number | string;
  /** The replies of this message, from every partition (no `partitions` then). */
  in_reply_to?: string;
}

export interface StateSetFrame {
  type: 'state.set';
  id?: RequestId;
  application: string;
  queue: string;
  partition: number;
  message_id: string;
  /** Absent: unchanged; null: cleared. At least one of the two is present. */
  client_state?: string | null;
  client_json?: JsonValue;
  /** Compare-and-set: the client_state expected now, `none` for unset. */
  if_state?: string;
}

export interface CallQueueSubscribeFrame {
  type: 'callqueue.subscribe';
  id?: RequestId;
  queue_id: string;
  since_seq?: number;
}

export interface CallQueueUnsubscribeFrame {
  type: 'callqueue.unsubscribe';
  id?: RequestId;
  queue_id: string;
}

/** Asks for a fresh `callqueue.snapshot` of a call queue this connection follows (websocket.md 5.3). */
export interface CallQueueRefreshFrame {
  type: 'callqueue.refresh';
  id?: RequestId;
  queue_id: string;
}

/** A condition of the live event tail (websocket.md 12.1): one q.field/q.op/q.type/q.value group of GET /v1/events. */
export interface EventCondition {
  field: string;
  /** Absent or empty: eq. `event_type` takes eq only. */
  op?: '' | 'lt' | 'le' | 'eq' | 'ne' | 'ge' | 'gt';
  /** The trait's type (Panko q.type); empty or absent: string. */
  type?: '' | 'integer' | 'float' | 'string' | 'datetime';
  value: string;
}

/** Follows the application's event log (websocket.md 12.1). */
export interface EventsSubscribeFrame {
  type: 'events.subscribe';
  id?: RequestId;
  q?: EventCondition[];
  /** message_id of the last event the client has. */
  since?: string;
}

export interface EventsUnsubscribeFrame {
  type: 'events.unsubscribe';
  id?: RequestId;
}

/** An agent's answer to an offer made to it (protocol/routing.md section 7). */
export interface OfferAnswerFrame {
  type: 'offer.accept' | 'offer.reject';
  id?: RequestId;
  queue_id: string;
  offer_id: string;
}

/** A waiting caller becomes a callback and keeps its place (protocol/calls.md 3.1) → caller.callback.set. */
export interface CallerCallbackFrame {
  type: 'caller.callback';
  id?: RequestId;
  queue_id: string;
  caller_id: string;
  /** The number to call back; absent: the caller's own. */
  number?: string;
}

export interface PingFrame {
  type: 'ping';
  id?: RequestId;
}

export type ClientFrame =
  | AuthFrame
  | PublishFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | HistoryFrame
  | StateSetFrame
  | CallQueueSubscribeFrame
  | CallQueueUnsubscribeFrame
  | CallQueueRefreshFrame
  | EventsSubscribeFrame
  | EventsUnsubscribeFrame
  | (OfferAnswerFrame & { type: 'offer.accept' })
  | (OfferAnswerFrame & { type: 'offer.reject' })
  | CallerCallbackFrame
  | PingFrame;

export type ClientFrameType = ClientFrame['type'];

export const CLIENT_FRAME_TYPES: readonly ClientFrameType[] = [
  'auth',
  'publish',
  'subscribe',
  'unsubscribe',
  'history',
  'state.set',
  'callqueue.subscribe',
  'callqueue.unsubscribe',
  'callqueue.refresh',
  'events.subscribe',
  'events.unsubscribe',
  'offer.accept',
  'offer.reject',
  'caller.callback',
  'ping',
];

// ---------- shared objects ----------

export type Principal =
  | { kind: 'application'; application: string }
  | { kind: 'agent'; application: string; agent_uuid: string }
  | { kind: 'anonymous' };

export interface WireError {
  /** A catalogue code; a newer server may send codes this version does not know. */
  code: ErrorCode | (string & {});
  message: string;
  field?: string;
  /** state_conflict: the message's client_state now (null: unset). */
  current_state?: string | null;
}

/** The optional fields (content_type ... updated_at) come from the one field table, src/message-fields.ts. */
export interface WireMessage extends WireMessageFields {
  message_id: string;
  partition: number;
  seq: number;
  /** Epoch seconds, microsecond precision. */
  timestamp: number;
  body: Body;
}

/** A message inside a `messages` frame: the frame names the partition, so the item does not. */
export type BatchedMessage = Omit<WireMessage, 'partition'>;

/** The call-queue objects (call-wire.ts), under the names the SDK knows them by. */
export type {
  CallerStatus,
  LeaveReason,
  MemberStatus,
  WireCallQueue,
  WireCallQueueChange,
  WireCallQueueSnapshot,
  WireCallQueueStats,
  WireCaller,
  WireLineMove,
  WireMember,
  WireMembersByState,
  WireWindowFigures,
} from './call-wire.js';
export type SubscriptionEndReason = 'requested' | 'queue_deleted' | 'access_revoked';

/** A call store change as a frame: one variant per change kind (websocket.md section 5). */
export type CallQueueUpdateFrame = { type: 'callqueue.update' } & WireCallQueueChange;

// ---------- server → client ----------

export interface WelcomeFrame {
  type: 'welcome';
  protocol: 1;
  server: string;
  connection_id: string;
  principal: Principal;
  heartbeat_ms: number;
  limits: {
    max_frame_bytes: number;
    max_message_bytes: number;
    max_publish_messages: number;
    max_subscriptions: number;
    // Optional: a server of an earlier v1 release does not announce these (assume the defaults, websocket.md 10).
    /** A `history.result` is cut (`truncated: true`) to stay under this. */
    max_reply_bytes?: number;
    /** Requests of one connection waiting for their replies; one more → 4429. */
    max_pending_frames?: number;
    /** Send buffer above which live delivery pauses (lagging, websocket.md 7). */
    buffer_limit_bytes?: number;
    /** Send buffer hard cap → 4429 (1006 on live delivery). */
    max_buffer_bytes?: number;
    /** Lagging longer than this → 4429. */
    drain_timeout_ms?: number;
    /** Call-queue changes kept for resuming with `since_seq`; further behind → a snapshot. */
    callqueue_resume_window?: number;
  };
}

export interface AuthenticatedFrame {
  type: 'authenticated';
  id?: RequestId;
  principal: Principal;
}

export interface PublishedFrame {
  type: 'published';
  id?: RequestId;
  messages: Array<{ message_id: string; partition: number; seq: number; timestamp: number }>;
}

export interface SubscribedFrame {
  type: 'subscribed';
  id?: RequestId;
  application: string;
  queue: string;
  partitions: SubscribedPartition[];
}

/** A partition of a `subscribed` reply: `recovered`, and where its delivery starts (websocket.md 4.2). */
export interface SubscribedPartition {
  partition: number;
  recovered: boolean;
  /** Delivery starts strictly after this message (a valid `after` resume point); null: at the partition's start or at `since`. */
  last_message_id: string | null;
  /** The seq of `last_message_id`; null with it. */
  last_seq: number | null;
}

export interface UnsubscribedFrame {
  type: 'unsubscribed';
  id?: RequestId;
  application: string;
  queue: string;
  partitions: number[];
  reason: SubscriptionEndReason;
}

export interface MessageFrame extends WireMessage {
  type: 'message';
  application: string;
  queue: string;
}

/** Consecutive messages of one partition, in order (websocket.md 4.2, subscriptions with `batch`). */
export interface MessagesFrame {
  type: 'messages';
  application: string;
  queue: string;
  partition: number;
  messages: BatchedMessage[];
}

export interface ResyncFrame {
  type: 'resync';
  application: string;
  queue: string;
  partition: number;
  reason: 'slow_consumer' | 'engine';
  recovered: boolean;
}

export interface HistoryResultFrame {
  type: 'history.result';
  id?: RequestId;
  messages: WireMessage[];
  truncated: boolean;
}

export interface StateUpdatedFrame {
  type: 'state.updated';
  id?: RequestId;
  message: WireMessage;
}

export interface PongFrame {
  type: 'pong';
  id?: RequestId;
  time: number;
}

export interface HeartbeatFrame {
  type: 'heartbeat';
  time: number;
}

export interface ErrorFrame {
  type: 'error';
  id?: RequestId;
  op?: string;
  error: WireError;
}

export interface CallQueueSubscribedFrame {
  type: 'callqueue.subscribed';
  id?: RequestId;
  queue_id: string;
  seq: number;
  recovered: boolean;
}

/** A call store snapshot as a frame (websocket.md section 5). */
export interface CallQueueSnapshotFrame extends WireCallQueueSnapshot {
  type: 'callqueue.snapshot';
  queue_id: string;
}

/** Reply to callqueue.refresh: a `callqueue.snapshot` of the queue follows it, before any update. */
export interface CallQueueRefreshedFrame {
  type: 'callqueue.refreshed';
  id?: RequestId;
  queue_id: string;
}

/** The queue's wallboard, pushed at most once a second per queue (websocket.md 5.6). */
export interface CallQueueStatsFrame {
  type: 'callqueue.stats';
  queue_id: string;
  stats: WireCallQueueStats;
  members_by_state: WireMembersByState;
  /** 15m, 1h, today, in that order. */
  windows: WireWindowFigures[];
  /** Estimated wait of each waiting caller by uuid, seconds; null: no member can serve (routing.md section 9). */
  estimates: Record<string, number | null>;
}

/** Reply to caller.callback: the caller as it is now (callback set, position unchanged). */
export interface CallerCallbackSetFrame {
  type: 'caller.callback.set';
  id?: RequestId;
  caller: WireCaller;
}

export interface CallQueueUnsubscribedFrame {
  type: 'callqueue.unsubscribed';
  id?: RequestId;
  queue_id: string;
  reason: SubscriptionEndReason;
}

export interface WireEventTrait {
  name: string;
  type: 'integer' | 'float' | 'string' | 'datetime';
  value: string | number;
}

/** An event as Panko v2 shows it (protocol/events.md). */
export interface WireEvent {
  message_id: string;
  event_type: string;
  generated: string;
  traits: WireEventTrait[];
  raw: Record<string, never>;
}

export interface EventsSubscribedFrame {
  type: 'events.subscribed';
  id?: RequestId;
  /** Event frames with a seq above this one follow. */
  seq: number;
  /**
   * The message_id of the event at `seq`: a `since` that resumes exactly here. Null when there is
   * none (an empty log, or `recovered` false); absent from servers before it.
   */
  last_event_id?: string | null;
  /** false: events after `since` were reclaimed (or never held); the tail starts at the oldest one held. */
  recovered: boolean;
}

export interface EventFrame {
  type: 'event';
  seq: number;
  event: WireEvent;
}

export interface EventsUnsubscribedFrame {
  type: 'events.unsubscribed';
  id?: RequestId;
  /** events_lost: retention reclaimed events the tail had not sent yet (websocket.md 12.3). */
  reason: 'requested' | 'events_lost';
}

/** An offer as frames carry it (protocol/routing.md section 4). */
export interface WireOffer {
  offer_id: string;
  queue_id: string;
  caller_id: string;
  agents: string[];
  strategy: 'manual' | 'longest_idle' | 'round_robin' | 'fewest_calls' | 'random' | 'linear' | 'ring_all';
  created_at: string;
  expires_at: string;
}

/** An offer made to this connection's agent. */
export interface OfferFrame {
  type: 'offer';
  offer: WireOffer;
}

/** Reply to offer.accept / offer.reject. */
export interface OfferAnsweredFrame {
  type: 'offer.accepted' | 'offer.rejected';
  id?: RequestId;
  offer: WireOffer;
}

/** An offer to this connection's agent ended without its answer. */
export interface OfferRevokedFrame {
  type: 'offer.revoked';
  offer_id: string;
  queue_id: string;
  reason: 'accepted_elsewhere' | 'caller_left' | 'expired' | 'revoked';
}

export type ServerFrame =
  | OfferFrame
  | (OfferAnsweredFrame & { type: 'offer.accepted' })
  | (OfferAnsweredFrame & { type: 'offer.rejected' })
  | OfferRevokedFrame
  | WelcomeFrame
  | AuthenticatedFrame
  | PublishedFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | MessageFrame
  | MessagesFrame
  | ResyncFrame
  | HistoryResultFrame
  | StateUpdatedFrame
  | PongFrame
  | HeartbeatFrame
  | ErrorFrame
  | CallQueueSubscribedFrame
  | CallQueueSnapshotFrame
  | CallQueueUpdateFrame
  | CallQueueRefreshedFrame
  | CallQueueStatsFrame
  | CallerCallbackSetFrame
  | CallQueueUnsubscribedFrame
  | EventsSubscribedFrame
  | EventFrame
  | EventsUnsubscribedFrame;

export type ServerFrameType = ServerFrame['type'];

export const SERVER_FRAME_TYPES: readonly ServerFrameType[] = [
  'welcome',
  'authenticated',
  'published',
  'subscribed',
  'unsubscribed',
  'message',
  'messages',
  'resync',
  'history.result',
  'state.updated',
  'pong',
  'heartbeat',
  'error',
  'callqueue.subscribed',
  'callqueue.snapshot',
  'callqueue.update',
  'callqueue.refreshed',
  'callqueue.stats',
  'caller.callback.set',
  'callqueue.unsubscribed',
  'events.subscribed',
  'event',
  'events.unsubscribed',
  'offer',
  'offer.accepted',
  'offer.rejected',
  'offer.revoked',
];

/** The reply type each request gets on success (websocket.md section 11). */
export const REPLY_TYPE = {
  auth: 'authenticated',
  publish: 'published',
  subscribe: 'subscribed',
  unsubscribe: 'unsubscribed',
  history: 'history.result',
  'state.set': 'state.updated',
  'callqueue.subscribe': 'callqueue.subscribed',
  'callqueue.unsubscribe': 'callqueue.unsubscribed',
  'callqueue.refresh': 'callqueue.refreshed',
  'events.subscribe': 'events.subscribed',
  'events.unsubscribe': 'events.unsubscribed',
  'offer.accept': 'offer.accepted',
  'caller.callback': 'caller.callback.set',
  'offer.reject': 'offer.rejected',
  ping: 'pong',
} as const satisfies Record<ClientFrameType, ServerFrameType>;
