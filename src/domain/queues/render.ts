/**
 * REST wire shapes of messages (Queuey field names, protocol/rest.md), plus what joins them with
 * the WebSocket's: `seq` on every message, and `message_id` next to Queuey's `key` in a post answer.
 */
import type { StoredMessage } from '../../engine/types.js';
import type { JsonValue } from '../../message-fields.js';
import { timestampSeconds } from '../ids.js';

export interface WireMessage {
  message_id: string;
  /** Epoch seconds, microsecond precision. */
  timestamp: number;
  body: string;
  partition: number;
  /** The partition's sequence number (protocol/messages.md), as WebSocket frames carry it. */
  seq: number;
  /** Present when the message answers another (posted over REST or WebSocket). */
  in_reply_to?: string;
  /** Processing state (SPEC.md 3.5), present once set. */
  client_state?: string;
  client_json?: JsonValue;
  /** Epoch seconds (microsecond precision) of the last change; absent until one. */
  updated_at?: number;
}

export interface WireAck {
  /** Queuey's name for the message id. */
  key: string;
  /** The same id, under the name every read and WebSocket frame uses. */
  message_id: string;
  timestamp: number;
  partition: number;
  seq: number;
}

const utf8 = new TextDecoder();

export function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : utf8.decode(body);
}

export function wireMessage(m: StoredMessage): WireMessage {
  const w: WireMessage = { message_id: m.id, timestamp: timestampSeconds(m.timestampUs), body: bodyText(m.body), partition: m.partition, seq: m.seq };
  if (m.inReplyTo !== undefined) w.in_reply_to = m.inReplyTo;
  if (m.clientState !== undefined) w.client_state = m.clientState;
  if (m.clientJson !== undefined) w.client_json = m.clientJson;
  if (m.updatedAtUs !== undefined) w.updated_at = timestampSeconds(m.updatedAtUs);
  return w;
}

export function wireAck(m: StoredMessage): WireAck {
  return { key: m.id, message_id: m.id, timestamp: timestampSeconds(m.timestampUs), partition: m.partition, seq: m.seq };
}
