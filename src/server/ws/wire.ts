/** Stored messages in their WebSocket shapes (protocol/websocket.md 3.2, 4.2). */
import { encodeServerFrame } from '../../codec/index.js';
import type { BatchedMessage, MessageFrame, WireFormat, WireMessage } from '../../codec/index.js';
import { timestampSeconds } from '../../domain/ids.js';
import type { PartitionRef, StoredMessage } from '../../engine/types.js';
import { wireFields } from '../../message-fields.js';

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

/** The most messages one `messages` frame carries (websocket.md 4.2). */
export const MAX_BATCH_MESSAGES = 1000;

export interface EncodedBatch {
  data: string | Uint8Array;
  /** The batch's last message: the subscription's resume point once the frame is written. */
  last: StoredMessage;
}

/** Fields and punctuation around a body in a batch item, generously (the encoded size is checked anyway). */
const ITEM_OVERHEAD = 128;

function estimate(m: StoredMessage, format: WireFormat): number {
  const body = typeof m.body === 'string' ? m.body.length : format === 'json' ? Math.ceil(m.body.byteLength / 3) * 4 : m.body.byteLength;
  return body + ITEM_OVERHEAD + (m.contentType?.length ?? 0);
}

function encodedSize(data: string | Uint8Array): number {
  return typeof data === 'string' ? Buffer.byteLength(data, 'utf8') : data.byteLength;
}

/**
 * `messages` frames for consecutive messages of one partition, in order, encoded once in `format`,
 * lazily (a paced catch-up that stops at the buffer limit encodes no further). Each frame holds at
 * most MAX_BATCH_MESSAGES messages and is at most `maxBytes` encoded, unless a single message is
 * larger on its own: it then travels alone (websocket.md 4.2). The split is planned on an
 * estimate, then checked on the encoded bytes (halved when over).
 */
export function* encodeBatches(ref: PartitionRef, messages: readonly StoredMessage[], format: WireFormat, maxBytes: number): Generator<EncodedBatch> {
  function* encode(from: number, to: number): Generator<EncodedBatch> {
    const frame = {
      type: 'messages' as const,
      application: ref.app,
      queue: ref.queue,
      partition: ref.partition,
      messages: messages.slice(from, to).map(batchedMessage),
    };
    const data = encodeServerFrame(frame, format);
    if (to - from > 1 && encodedSize(data) > maxBytes) {
      const mid = from + Math.floor((to - from) / 2);
      yield* encode(from, mid);
      yield* encode(mid, to);
      return;
    }
    yield { data, last: messages[to - 1]! };
  }
  let start = 0;
  while (start < messages.length) {
    let end = start;
    let bytes = 0;
    while (end < messages.length && end - start < MAX_BATCH_MESSAGES) {
      const size = estimate(messages[end]!, format);
      if (end > start && bytes + size > maxBytes) break;
      bytes += size;
      end++;
    }
    yield* encode(start, end);
    start = end;
  }
}
