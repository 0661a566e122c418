/**
 * The stored form of one message in Redis (the value in a partition's `msg` hash, and the unit of
 * its live channel's payload). Lua builds and edits it (lua/includes/recordEncode.lua,
 * recordDecode.lua); this module only reads it.
 *
 * Format: a sequence of fields, each `<tag: 1 ASCII byte><length: uint32 big-endian><bytes>`.
 *   i id (32 hex)            l ttl (decimal seconds)     e expiresAtMs (decimal)
 *   t body, text (UTF-8)     b body, binary (raw bytes) — exactly one of t/b
 *   c content type           r in-reply-to id
 *   s client state           j client JSON (JSON text)   u updatedAtUs (decimal)
 * The timestamp, sequence number and partition are not stored separately: they are inside the id.
 *
 * Why not MessagePack: Lua strings are bytes with no text/binary distinction, so cmsgpack would
 * encode a binary body as a msgpack `str`, and a msgpack decoder would then UTF-8-decode it and
 * corrupt it. A length-prefixed record keeps bytes as bytes, is trivial on both sides, and the
 * t/b tag says how to hand the body back (string or Uint8Array), so bodies round-trip byte-exact.
 *
 * Live payload (SPUBLISH by append.lua): the appended records, each prefixed by its uint32
 * big-endian length.
 */
import { decodeMessageId } from '../../domain/ids.js';
import type { JsonValue, StoredMessage } from '../types.js';

const TAG_ID = 0x69; // i
const TAG_TTL = 0x6c; // l
const TAG_EXPIRES = 0x65; // e
const TAG_TEXT = 0x74; // t
const TAG_BINARY = 0x62; // b
const TAG_CONTENT_TYPE = 0x63; // c
const TAG_REPLY_TO = 0x72; // r
const TAG_STATE = 0x73; // s
const TAG_JSON = 0x6a; // j
const TAG_UPDATED = 0x75; // u

/** A decimal integer written by the scripts (numStr), read straight from the bytes: reads decode 100s of records. */
function num(record: Buffer, start: number, end: number, what: string): number {
  if (start < 0 || end <= start || end - start > 17) throw new Error(`message record without a valid ${what}`);
  let n = 0;
  let i = start;
  const negative = record[i] === 0x2d;
  if (negative) i++;
  for (; i < end; i++) {
    const d = record[i]! - 0x30;
    if (d < 0 || d > 9) throw new Error(`message record without a valid ${what}`);
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * One pass over the fields, without building an intermediate map: history reads decode up to 1000
 * records per partition, and this is most of a read's CPU time in Node.
 */
export function decodeRecord(record: Buffer): StoredMessage {
  let id: string | undefined;
  let ttlAt: [number, number] = [-1, -1];
  let expiresAt: [number, number] = [-1, -1];
  let text: [number, number] | undefined;
  let binary: [number, number] | undefined;
  let contentType: string | undefined;
  let inReplyTo: string | undefined;
  let clientState: string | undefined;
  let clientJson: string | undefined;
  let updatedAt: [number, number] | undefined;
  let pos = 0;
  const length = record.length;
  while (pos + 5 <= length) {
    const tag = record[pos]!;
    const len = record.readUInt32BE(pos + 1);
    const start = pos + 5;
    const end = start + len;
    if (end > length) break;
    switch (tag) {
      case TAG_ID: id = record.toString('latin1', start, end); break;
      case TAG_TTL: ttlAt = [start, end]; break;
      case TAG_EXPIRES: expiresAt = [start, end]; break;
      case TAG_TEXT: text = [start, end]; break;
      case TAG_BINARY: binary = [start, end]; break;
      case TAG_CONTENT_TYPE: contentType = record.toString('utf8', start, end); break;
      case TAG_REPLY_TO: inReplyTo = record.toString('latin1', start, end); break;
      case TAG_STATE: clientState = record.toString('utf8', start, end); break;
      case TAG_JSON: clientJson = record.toString('utf8', start, end); break;
      case TAG_UPDATED: updatedAt = [start, end]; break;
      default: break; // a field this version does not know: skipped
    }
    pos = end;
  }
  if (pos !== length) throw new Error('truncated message record');
  if (id === undefined) throw new Error('message record without an id');
  const ttl = num(record, ttlAt[0], ttlAt[1], 'ttl');
  const expires = num(record, expiresAt[0], expiresAt[1], 'expiry');
  const parts = decodeMessageId(id);
  // A copy for binary bodies: the record buffer may be a slice of a larger reply or payload.
  const body: string | Uint8Array =
    text !== undefined
      ? record.toString('utf8', text[0], text[1])
      : binary !== undefined
        ? new Uint8Array(record.subarray(binary[0], binary[1]))
        : new Uint8Array(0);
  const message: StoredMessage = {
    id,
    partition: parts.partition,
    seq: parts.seq,
    timestampUs: parts.timestampUs,
    body,
    ttl,
    expiresAtMs: expires,
  };
  if (contentType !== undefined) message.contentType = contentType;
  if (inReplyTo !== undefined) message.inReplyTo = inReplyTo;
  if (clientState !== undefined) message.clientState = clientState;
  if (clientJson !== undefined) message.clientJson = JSON.parse(clientJson) as JsonValue;
  if (updatedAt !== undefined) message.updatedAtUs = num(record, updatedAt[0], updatedAt[1], 'update time');
  return message;
}

/** The records of one live payload, in append order. */
export function decodePayload(payload: Buffer): StoredMessage[] {
  const out: StoredMessage[] = [];
  let pos = 0;
  while (pos + 4 <= payload.length) {
    const len = payload.readUInt32BE(pos);
    if (pos + 4 + len > payload.length) throw new Error('truncated live payload');
    out.push(decodeRecord(payload.subarray(pos + 4, pos + 4 + len)));
    pos += 4 + len;
  }
  if (pos !== payload.length) throw new Error('truncated live payload');
  return out;
}
