/** Wire shapes of messages, shared by REST and WebSocket (Queuey field names). */
import type { StoredMessage } from '../../engine/types.js';
import { timestampSeconds } from '../ids.js';

export interface WireMessage {
  message_id: string;
  /** Epoch seconds, microsecond precision. */
  timestamp: number;
  body: string;
  partition: number;
}

export interface WireAck {
  key: string;
  timestamp: number;
  partition: number;
}

const utf8 = new TextDecoder();

export function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : utf8.decode(body);
}

export function wireMessage(m: StoredMessage): WireMessage {
  return { message_id: m.id, timestamp: timestampSeconds(m.timestampUs), body: bodyText(m.body), partition: m.partition };
}

export function wireAck(m: StoredMessage): WireAck {
  return { key: m.id, timestamp: timestampSeconds(m.timestampUs), partition: m.partition };
}
