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

function fields(record: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos + 5 <= record.length) {
    const tag = String.fromCharCode(record[pos]!);
    const len = record.readUInt32BE(pos + 1);
    out.set(tag, record.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  if (pos !== record.length) throw new Error('truncated message record');
  return out;
}

function num(value: Buffer | undefined, what: string): number {
  const n = value === undefined ? NaN : Number(value.toString('latin1'));
  if (!Number.isFinite(n)) throw new Error(`message record without a valid ${what}`);
  return n;
}

export function decodeRecord(record: Buffer): StoredMessage {
  const f = fields(record);
  const idBuf = f.get('i');
  if (idBuf === undefined) throw new Error('message record without an id');
  const id = idBuf.toString('latin1');
  const parts = decodeMessageId(id);
  const text = f.get('t');
  const binary = f.get('b');
  // A copy: the record buffer may be a slice of a larger reply or payload.
  const body: string | Uint8Array = text !== undefined ? text.toString('utf8') : new Uint8Array(binary ?? Buffer.alloc(0));
  const message: StoredMessage = {
    id,
    partition: parts.partition,
    seq: parts.seq,
    timestampUs: parts.timestampUs,
    body,
    ttl: num(f.get('l'), 'ttl'),
    expiresAtMs: num(f.get('e'), 'expiry'),
  };
  const contentType = f.get('c');
  if (contentType !== undefined) message.contentType = contentType.toString('utf8');
  const inReplyTo = f.get('r');
  if (inReplyTo !== undefined) message.inReplyTo = inReplyTo.toString('latin1');
  const clientState = f.get('s');
  if (clientState !== undefined) message.clientState = clientState.toString('utf8');
  const clientJson = f.get('j');
  if (clientJson !== undefined) message.clientJson = JSON.parse(clientJson.toString('utf8')) as JsonValue;
  const updatedAt = f.get('u');
  if (updatedAt !== undefined) message.updatedAtUs = num(updatedAt, 'update time');
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
