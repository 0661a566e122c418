/**
 * The stored form of one message in Redis (the value in a partition's `msg` hash, and the unit of
 * its live channel's payload). Lua builds and edits it (lua/includes/recordEncode.lua,
 * recordDecode.lua); this module only reads it.
 *
 * Format: a sequence of fields, each `<tag: 1 ASCII byte><length: uint32 big-endian><bytes>`.
 *   i id (32 hex)            l ttl (decimal seconds)     e expiresAtMs (decimal)
 *   t body, text (UTF-8)     b body, binary (raw bytes) — exactly one of t/b
 * then the optional fields, each under its tag in the one field table (src/message-fields.ts:
 * c content type, r in-reply-to, s client state, j client JSON, u updatedAtUs), its value as its
 * kind says (fieldText): text UTF-8, latin1 one byte per character, json JSON text, time decimal.
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
import { MESSAGE_FIELDS, type MessageField } from '../../message-fields.js';
import type { JsonValue, StoredMessage } from '../types.js';

const TAG_ID = 0x69; // i
const TAG_TTL = 0x6c; // l
const TAG_EXPIRES = 0x65; // e
const TAG_TEXT = 0x74; // t
const TAG_BINARY = 0x62; // b

/** Record tag byte -> optional field (src/message-fields.ts). */
const FIELD_BY_TAG: (MessageField | undefined)[] = new Array<MessageField | undefined>(256);
for (const f of MESSAGE_FIELDS) FIELD_BY_TAG[f.tag.charCodeAt(0)] = f;

/** An optional field's value as the record holds it: its text, and the text's byte encoding. */
export function fieldText(f: MessageField, value: unknown): { text: string; encoding: 'utf8' | 'latin1' } {
  switch (f.kind) {
    case 'json': return { text: JSON.stringify(value), encoding: 'utf8' };
    case 'time': return { text: String(value), encoding: 'latin1' };
    case 'latin1': return { text: value as string, encoding: 'latin1' };
    default: return { text: value as string, encoding: 'utf8' };
  }
}

function fieldValue(f: MessageField, record: Buffer, start: number, end: number): unknown {
  switch (f.kind) {
    case 'json': return JSON.parse(record.toString('utf8', start, end)) as JsonValue;
    case 'time': return num(record, start, end, f.key);
    case 'latin1': return record.toString('latin1', start, end);
    default: return record.toString('utf8', start, end);
  }
}

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

/** Hex digits of the id, read straight from the bytes (src/domain/ids.ts layout). */
function hex(record: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = record[i]!;
    const d = c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57;
    if (d < 0 || d > 15 || (c > 0x39 && (c | 0x20) < 0x61)) throw new Error('message record with an invalid id');
    n = n * 16 + d;
  }
  return n;
}

/**
 * One pass over the fields, without an intermediate map or per-field allocations: history reads
 * decode up to 1000 records per partition, and this is most of a read's CPU time in Node.
 */
export function decodeRecord(record: Buffer): StoredMessage {
  let idAt = -1;
  let ttlStart = -1;
  let ttlEnd = -1;
  let expStart = -1;
  let expEnd = -1;
  let bodyStart = -1;
  let bodyEnd = -1;
  let bodyIsText = false;
  // Positions of optional fields (field, start, end, ...): most records have none.
  let optional: (MessageField | number)[] | undefined;
  let pos = 0;
  const length = record.length;
  while (pos + 5 <= length) {
    const tag = record[pos]!;
    const len = record.readUInt32BE(pos + 1);
    const start = pos + 5;
    const end = start + len;
    if (end > length) break;
    switch (tag) {
      case TAG_ID: if (len === 32) idAt = start; break;
      case TAG_TTL: ttlStart = start; ttlEnd = end; break;
      case TAG_EXPIRES: expStart = start; expEnd = end; break;
      case TAG_TEXT: bodyStart = start; bodyEnd = end; bodyIsText = true; break;
      case TAG_BINARY: bodyStart = start; bodyEnd = end; bodyIsText = false; break;
      default: {
        const f = FIELD_BY_TAG[tag];
        if (f === undefined) break;
        optional ??= [];
        optional.push(f, start, end);
        break; // else a field this version does not know: skipped
      }
    }
    pos = end;
  }
  if (pos !== length) throw new Error('truncated message record');
  if (idAt < 0) throw new Error('message record without an id');
  // A copy for binary bodies: the record buffer may be a slice of a larger reply or payload.
  const body: string | Uint8Array =
    bodyStart < 0 ? new Uint8Array(0) : bodyIsText ? record.toString('utf8', bodyStart, bodyEnd) : new Uint8Array(record.subarray(bodyStart, bodyEnd));
  const message: StoredMessage = {
    id: record.toString('latin1', idAt, idAt + 32),
    partition: hex(record, idAt + 26, idAt + 28),
    seq: hex(record, idAt + 14, idAt + 26),
    timestampUs: hex(record, idAt, idAt + 14),
    body,
    ttl: num(record, ttlStart, ttlEnd, 'ttl'),
    expiresAtMs: num(record, expStart, expEnd, 'expiry'),
  };
  if (optional !== undefined) {
    const fields = message as unknown as Record<string, unknown>;
    for (let k = 0; k < optional.length; k += 3) {
      const f = optional[k] as MessageField;
      fields[f.key] = fieldValue(f, record, optional[k + 1] as number, optional[k + 2] as number);
    }
  }
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

/** Deep-freezes a decoded client JSON value (shared between reads by RecordCache). */
function freezeJson(v: JsonValue): void {
  if (typeof v !== 'object' || v === null) return;
  Object.freeze(v);
  for (const x of Array.isArray(v) ? v : Object.values(v)) freezeJson(x);
}

/**
 * Decoded records kept between reads: history reads return the same records again and again, and
 * decoding them (strings out of bytes, a new object each) was most of what a read cost Node after
 * Redis answered. An entry answers only for the very same bytes (compared in full, which is a
 * memcmp), so an updated record is decoded again and nothing needs invalidating. The messages it
 * returns are shared between reads, hence frozen; records with a binary body are not kept (a
 * Uint8Array cannot be frozen), nor large ones. Bounded by bytes, oldest entry out first.
 */
export class RecordCache {
  private readonly entries = new Map<string, { record: Buffer; message: StoredMessage; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxBytes = 8 * 1024 * 1024,
    private readonly maxEntryBytes = 64 * 1024,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  decode(record: Buffer): StoredMessage {
    // The id field comes first in every record the scripts write (append.lua, recordEncode.lua).
    if (record.length < 37 || record[0] !== TAG_ID || record.readUInt32BE(1) !== 32) return decodeRecord(record);
    const id = record.toString('latin1', 5, 37);
    const hit = this.entries.get(id);
    if (hit?.record.equals(record)) return hit.message;
    const message = decodeRecord(record);
    if (hit !== undefined) {
      this.entries.delete(id);
      this.bytes -= hit.bytes;
    }
    if (typeof message.body !== 'string') return message;
    const bytes = record.length * 2 + message.body.length * 2 + 256;
    if (bytes > this.maxEntryBytes) return message;
    if (message.clientJson !== undefined) freezeJson(message.clientJson);
    Object.freeze(message);
    // A copy: the record may be a view into a larger reply buffer, which it would keep alive.
    this.entries.set(id, { record: Buffer.from(record), message, bytes });
    this.bytes += bytes;
    for (const [key, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    return message;
  }
}
