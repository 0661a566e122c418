/** Stored messages as `messages` frames (protocol/websocket.md 4.2); one message's shape is message-wire.ts. */
import { encodeServerFrame } from '../../codec/index.js';
import type { WireFormat } from '../../codec/index.js';
import { batchedMessage } from '../message-wire.js';
import type { PartitionRef, StoredMessage } from '../../engine/types.js';

export { batchedMessage, messageFrame, wireMessage } from '../message-wire.js';

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
