/**
 * Every WebSocket frame as a TypeScript type (protocol/websocket.md; schemas in protocol/schemas/ws/).
 * Two discriminated unions on `type`: ClientFrame (client → server) and ServerFrame (server → client).
 *
 * Bodies are `string | Uint8Array` here whatever the wire format: the codec turns JSON's base64
 * `body_encoding` into bytes and back, so `body_encoding` never appears in these types.
 *
 * The call-queue objects mirror src/engine/call-types.ts field for field: the server passes the
 * store's values straight into these frames, so the compiler catches any drift between the two.
 */
import type { ErrorCode } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

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

export interface PublishMessage {
  body: Body;
  partition?: number;
  ttl?: number;
  content_type?: string;
  in_reply_to?: string;
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
}

export interface WireMessage {
  message_id: string;
  partition: number;
  seq: number;
  /** Epoch seconds, microsecond precision. */
  timestamp: number;
  body: Body;
  content_type?: string;
  in_reply_to?: string;
  client_state?: string;
  client_json?: JsonValue;
  updated_at?: number;
}

export interface WireCallQueue {
  uuid: string;
  name: string;
  description: string;
  disabled: boolean;
  project_id: string | null;
  user_id: string | null;
  service_level_seconds: number;
  created_at: string;
  updated_at: string;
}

export interface WireCaller {
  uuid: string;
  queue_id: string;
  name: string;
  number: string;
  priority: number;
  position: number | null;
  status: 'waiting' | 'ringing' | 'connected';
  status_at: string;
  member_uuid: string | null;
  created_at: string;
}

export interface WireMember {
  uuid: string;
  queue_id: string;
  number: string;
  paused: boolean;
  paused_at: string | null;
  pause_reason: string | null;
  status: MemberStatus;
  status_at: string;
  created_at: string;
}

/** Definitions: protocol/calls.md "Stats". */
export interface WireCallQueueStats {
  callers: number;
  callers_waiting: number;
  callers_ringing: number;
  callers_connected: number;
  longest_wait: number;
  oldest_wait_since: string | null;
  members: number;
  members_logged_in: number;
  members_available: number;
  members_paused: number;
  completed: number;
  abandoned: number;
  timed_out: number;
  transferred: number;
  average_wait: number | null;
  service_level: number | null;
  service_level_seconds: number;
  at: string;
}

/** websocket.md 5.3: remove `uuid` at `from` (if not null), insert it at `to` (if not null). */
export interface WireLineMove {
  uuid: string;
  from: number | null;
  to: number | null;
  length: number;
}

export type LeaveReason = 'answered' | 'abandoned' | 'timeout' | 'transferred';
export type MemberStatus = 'available' | 'busy' | 'wrapup' | 'logged_out';
export type SubscriptionEndReason = 'requested' | 'queue_deleted' | 'access_revoked';

interface ChangeBase {
  type: 'callqueue.update';
  queue_id: string;
  seq: number;
  at: string;
}

export type CallQueueUpdateFrame =
  | (ChangeBase & { kind: 'caller_joined'; caller: WireCaller; line: WireLineMove; stats: WireCallQueueStats })
  | (ChangeBase & {
      kind: 'caller_updated';
      caller: WireCaller;
      changed: Array<'priority' | 'status' | 'member_uuid'>;
      line?: WireLineMove;
      stats: WireCallQueueStats;
    })
  | (ChangeBase & {
      kind: 'caller_left';
      caller: WireCaller;
      reason: LeaveReason;
      wait: number;
      line?: WireLineMove;
      stats: WireCallQueueStats;
    })
  | (ChangeBase & { kind: 'member_added'; member: WireMember; stats: WireCallQueueStats })
  | (ChangeBase & {
      kind: 'member_updated';
      member: WireMember;
      changed: Array<'number' | 'paused' | 'pause_reason' | 'status'>;
      stats: WireCallQueueStats;
    })
  | (ChangeBase & { kind: 'member_removed'; member: WireMember; stats: WireCallQueueStats })
  | (ChangeBase & {
      kind: 'queue_updated';
      queue: WireCallQueue;
      changed: Array<'name' | 'description' | 'disabled' | 'project_id' | 'user_id' | 'service_level_seconds'>;
      stats: WireCallQueueStats;
    })
  | (ChangeBase & { kind: 'queue_deleted'; queue: WireCallQueue });

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
  partitions: Array<{ partition: number; recovered: boolean }>;
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

export interface CallQueueSnapshotFrame {
  type: 'callqueue.snapshot';
  queue_id: string;
  seq: number;
  queue: WireCallQueue;
  /** Waiting callers in position order, then ringing and connected callers in join order. */
  callers: WireCaller[];
  members: WireMember[];
  stats: WireCallQueueStats;
}

export interface CallQueueUnsubscribedFrame {
  type: 'callqueue.unsubscribed';
  id?: RequestId;
  queue_id: string;
  reason: SubscriptionEndReason;
}

export type ServerFrame =
  | WelcomeFrame
  | AuthenticatedFrame
  | PublishedFrame
  | SubscribedFrame
  | UnsubscribedFrame
  | MessageFrame
  | ResyncFrame
  | HistoryResultFrame
  | StateUpdatedFrame
  | PongFrame
  | HeartbeatFrame
  | ErrorFrame
  | CallQueueSubscribedFrame
  | CallQueueSnapshotFrame
  | CallQueueUpdateFrame
  | CallQueueUnsubscribedFrame;

export type ServerFrameType = ServerFrame['type'];

export const SERVER_FRAME_TYPES: readonly ServerFrameType[] = [
  'welcome',
  'authenticated',
  'published',
  'subscribed',
  'unsubscribed',
  'message',
  'resync',
  'history.result',
  'state.updated',
  'pong',
  'heartbeat',
  'error',
  'callqueue.subscribed',
  'callqueue.snapshot',
  'callqueue.update',
  'callqueue.unsubscribed',
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
  ping: 'pong',
} as const satisfies Record<ClientFrameType, ServerFrameType>;
