/**
 * Frames assembled from message objects encoded once (history replies, websocket.md 4.5).
 *
 * A `history.result` carries up to 1000 messages that are usually the same ones, read again and
 * again (catch-ups, pollers). Encoding the whole frame each time (JSON.stringify, then the UTF-8
 * copy when sending a string) was most of a read's CPU time. Here a message's object is encoded on
 * its own, once, by the very code that encodes whole frames (so the bytes are the same: JSON.stringify
 * and msgpackr write a nested object exactly as they write it alone), and a reply is the frame's
 * own bytes around those fragments. The server keeps fragments between reads
 * (src/server/message-encoding.ts); the codec only builds them and puts frames together.
 *
 * Equality with encodeServerFrame() is checked byte for byte by test/unit/codec-fragments.test.ts.
 */
import { encodeUtf8 } from './bytes.js';
import { encodeMessageObject } from './encode.js';
import type { RequestId, WireMessage } from './frames.js';
import type { WireFormat } from './limits.js';
import { packFrame } from './msgpack.js';

/** One message object, encoded as it appears inside a frame's `messages` list. */
export function encodeMessageFragment(m: WireMessage, format: WireFormat): Uint8Array {
  const encoded = encodeMessageObject(m, format);
  // msgpackr hands back a view into its shared output buffer: a fragment kept for later is copied.
  return typeof encoded === 'string' ? encodeUtf8(encoded) : encoded.slice();
}

/** The frame's bytes before the first message and after the last, for one id and `truncated`. */
interface Frame {
  head: Uint8Array;
  tail: Uint8Array;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

const JSON_TAIL_FALSE = encodeUtf8('],"truncated":false}');
const JSON_TAIL_TRUE = encodeUtf8('],"truncated":true}');
// Copies (slice): packFrame returns views into msgpackr's shared output buffer.
const MSGPACK_TRUNCATED = packFrame('truncated').slice();
const MSGPACK_TYPE = concat([packFrame('type'), packFrame('history.result')]);
const MSGPACK_ID = packFrame('id').slice();
const MSGPACK_MESSAGES = packFrame('messages').slice();
const MSGPACK_FALSE = packFrame(false).slice();
const MSGPACK_TRUE = packFrame(true).slice();

// Key order is the reply object's (ws/handlers/messages.ts): type, id when given, messages, truncated.
function jsonFrame(id: RequestId | undefined, truncated: boolean): Frame {
  const idPart = id === undefined ? '' : `"id":${JSON.stringify(id)},`;
  return { head: encodeUtf8(`{"type":"history.result",${idPart}"messages":[`), tail: truncated ? JSON_TAIL_TRUE : JSON_TAIL_FALSE };
}

/** The msgpack head stops before the array header, which depends on the count. */
function msgpackFrame(id: RequestId | undefined, truncated: boolean): Frame {
  const parts = id === undefined ? [Uint8Array.of(0x83), MSGPACK_TYPE] : [Uint8Array.of(0x84), MSGPACK_TYPE, MSGPACK_ID, packFrame(id)];
  parts.push(MSGPACK_MESSAGES);
  return { head: concat(parts), tail: concat([MSGPACK_TRUNCATED, truncated ? MSGPACK_TRUE : MSGPACK_FALSE]) };
}

function arrayHeader(count: number): Uint8Array {
  if (count < 0x10) return Uint8Array.of(0x90 | count);
  if (count < 0x10000) return Uint8Array.of(0xdc, count >> 8, count & 0xff);
  return Uint8Array.of(0xdd, (count >>> 24) & 0xff, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
}

function frameSize(format: WireFormat, f: Frame, count: number, fragmentBytes: number): number {
  const glue = format === 'json' ? Math.max(0, count - 1) : arrayHeader(count).byteLength;
  return f.head.byteLength + glue + fragmentBytes + f.tail.byteLength;
}

export interface AssembledHistory {
  /** The whole `history.result` frame. */
  bytes: Uint8Array;
  /** How many of the fragments it holds (the first ones). */
  count: number;
  truncated: boolean;
}

/**
 * A `history.result` frame holding the given message fragments in order; when the frame would
 * exceed `maxBytes`, the longest prefix that fits, with `truncated: true` (websocket.md 4.5).
 */
export function assembleHistoryResult(
  id: RequestId | undefined,
  fragments: readonly Uint8Array[],
  format: WireFormat,
  maxBytes = Infinity,
  /** Where the frame is written (every byte of it is), e.g. a slice of a larger buffer. */
  alloc: (size: number) => Uint8Array = (size) => new Uint8Array(size),
): AssembledHistory {
  let total = 0;
  for (const f of fragments) total += f.byteLength;
  let count = fragments.length;
  let truncated = false;
  let frame = format === 'json' ? jsonFrame(id, false) : msgpackFrame(id, false);
  if (count > 0 && frameSize(format, frame, count, total) > maxBytes) {
    truncated = true;
    frame = format === 'json' ? jsonFrame(id, true) : msgpackFrame(id, true);
    // At least one message fewer (in JSON, "true" is shorter than "false": the whole list could fit).
    total -= fragments[--count]!.byteLength;
    while (count > 0 && frameSize(format, frame, count, total) > maxBytes) total -= fragments[--count]!.byteLength;
  }
  const out = alloc(frameSize(format, frame, count, total));
  out.set(frame.head, 0);
  let at = frame.head.byteLength;
  if (format === 'msgpack') {
    const header = arrayHeader(count);
    out.set(header, at);
    at += header.byteLength;
  }
  for (let i = 0; i < count; i++) {
    if (format === 'json' && i > 0) out[at++] = 0x2c; // ,
    const f = fragments[i]!;
    out.set(f, at);
    at += f.byteLength;
  }
  out.set(frame.tail, at);
  return { bytes: out, count, truncated };
}
