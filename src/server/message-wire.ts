/**
 * Stored messages in their WebSocket shapes (protocol/websocket.md 3.2, 4.2). Outside ws/ because
 * history replies are assembled from these by message-encoding.ts, which REST reads share.
 */
import type { BatchedMessage, MessageFrame, WireMessage } from '../codec/index.js';
import { timestampSeconds } from '../domain/ids.js';
import type { StoredMessage } from '../engine/types.js';
import { wireFields } from '../message-fields.js';

/** The optional fields of a message (src/message-fields.ts), in the protocol's order (3.2) after the required ones. */
function withOptional<T extends BatchedMessage>(w: T, m: StoredMessage): T {
  return wireFields(w, m, timestampSeconds);
}

export function wireMessage(m: StoredMessage): WireMessage {
  return withOptional({ message_id: m.id, partition: m.partition, seq: m.seq, timestamp: timestampSeconds(m.timestampUs), body: m.body }, m);
}

export function messageFrame(application: string, queue: string, m: StoredMessage): MessageFrame {
  return { type: 'message', application, queue, ...wireMessage(m) };
}

/** A message inside a `messages` frame: as wireMessage(), without `partition` (the frame has it). */
export function batchedMessage(m: StoredMessage): BatchedMessage {
  return withOptional({ message_id: m.id, seq: m.seq, timestamp: timestampSeconds(m.timestampUs), body: m.body }, m);
}
