/** Stored messages in their WebSocket shape (protocol/websocket.md 3.2). */
import type { MessageFrame, WireMessage } from '../../codec/index.js';
import { timestampSeconds } from '../../domain/ids.js';
import type { StoredMessage } from '../../engine/types.js';

export function wireMessage(m: StoredMessage): WireMessage {
  const w: WireMessage = {
    message_id: m.id,
    partition: m.partition,
    seq: m.seq,
    timestamp: timestampSeconds(m.timestampUs),
    body: m.body,
  };
  if (m.contentType !== undefined) w.content_type = m.contentType;
  if (m.inReplyTo !== undefined) w.in_reply_to = m.inReplyTo;
  if (m.clientState !== undefined) w.client_state = m.clientState;
  if (m.clientJson !== undefined) w.client_json = m.clientJson;
  if (m.updatedAtUs !== undefined) w.updated_at = timestampSeconds(m.updatedAtUs);
  return w;
}

export function messageFrame(application: string, queue: string, m: StoredMessage): MessageFrame {
  return { type: 'message', application, queue, ...wireMessage(m) };
}
