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
 * Live payload (SPUBLISH by append.lua, one per append call), format 1: the byte 1, the batch's
 * timestampUs and first seq (IEEE doubles, big-endian), the partition (uint8), the message count
 * (uint32 big-endian); then per message, in append order, the id's random part, ttl and the
 * length of what follows (uint32 big-endian each) and the record fields after i, l and e (t or b,
 * then the optional fields): append.lua's argument as the engine packed it. Message j's id has
 * seq = first seq + j and its expiresAtMs is floor(timestampUs / 1000) + ttl * 1000, exactly as
 * append.lua spells them into the stored record, so a message decoded from the payload equals the
 * one decoded from its record.
 */
import { MESSAGE_FIELDS, type MessageField } from '../../message-fields.js';
import { encodeMessageId } from '../ids.js';
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
 * Where one pass over a record's fields found them. One object, reused: decoding is synchronous,
 * and history reads decode up to 1000 records per partition.
 */
const found = {
  idAt: -1,
  ttlStart: -1,
  ttlEnd: -1,
  expStart: -1,
  expEnd: -1,
  bodyStart: -1,
  bodyEnd: -1,
  bodyIsText: false,
  /** Positions of optional fields (field, start, end, ...): most records have none. */
  optional: undefined as (MessageField | number)[] | undefined,
};

/** One pass over the fields in record[pos, end), without an intermediate map or per-field allocations; fills `found`. */
function scanFields(record: Buffer, pos: number, end: number, what: string): void {
  found.idAt = found.ttlStart = found.ttlEnd = found.expStart = found.expEnd = found.bodyStart = found.bodyEnd = -1;
  found.bodyIsText = false;
  found.optional = undefined;
  while (pos + 5 <= end) {
    const tag = record[pos]!;
    const len = record.readUInt32BE(pos + 1);
    const start = pos + 5;
    const stop = start + len;
    if (stop > end) break;
    switch (tag) {
      case TAG_ID: if (len === 32) found.idAt = start; break;
      case TAG_TTL: found.ttlStart = start; found.ttlEnd = stop; break;
      case TAG_EXPIRES: found.expStart = start; found.expEnd = stop; break;
      case TAG_TEXT: found.bodyStart = start; found.bodyEnd = stop; found.bodyIsText = true; break;
      case TAG_BINARY: found.bodyStart = start; found.bodyEnd = stop; found.bodyIsText = false; break;
      default: {
        const f = FIELD_BY_TAG[tag];
        if (f === undefined) break;
        found.optional ??= [];
        found.optional.push(f, start, stop);
        break; // else a field this version does not know: skipped
      }
    }
    pos = stop;
  }
  if (pos !== end) throw new Error(`truncated ${what}`);
}

/** The body `found` points at. A copy for binary bodies: the record buffer may be a slice of a larger reply or payload. */
function foundBody(record: Buffer): string | Uint8Array {
  const { bodyStart, bodyEnd } = found;
  if (bodyStart < 0) return new Uint8Array(0);
  return found.bodyIsText ? record.toString('utf8', bodyStart, bodyEnd) : new Uint8Array(record.subarray(bodyStart, bodyEnd));
}

/** Sets the optional fields `found` points at on `message`. */
function addFoundOptional(message: StoredMessage, record: Buffer): void {
  const optional = found.optional;
  if (optional === undefined) return;
  const fields = message as unknown as Record<string, unknown>;
  for (let k = 0; k < optional.length; k += 3) {
    const f = optional[k] as MessageField;
    fields[f.key] = fieldValue(f, record, optional[k + 1] as number, optional[k + 2] as number);
  }
}

/** A stored record (the value in a partition's msg hash) as a message. */
export function decodeRecord(record: Buffer): StoredMessage {
  scanFields(record, 0, record.length, 'message record');
  const { idAt } = found;
  if (idAt < 0) throw new Error('message record without an id');
  const message: StoredMessage = {
    id: record.toString('latin1', idAt, idAt + 32),
    partition: hex(record, idAt + 26, idAt + 28),
    seq: hex(record, idAt + 14, idAt + 26),
    timestampUs: hex(record, idAt, idAt + 14),
    body: foundBody(record),
    ttl: num(record, found.ttlStart, found.ttlEnd, 'ttl'),
    expiresAtMs: num(record, found.expStart, found.expEnd, 'expiry'),
  };
  addFoundOptional(message, record);
  return message;
}

/** The live payload's format byte, the size of its header, and of the head before each message's fields (see the top of this file). */
const PAYLOAD_FORMAT = 1;
const PAYLOAD_HEADER = 22;
const PAYLOAD_HEAD = 12;

/** The messages of one live payload (append.lua), in append order. */
export function decodePayload(payload: Buffer): StoredMessage[] {
  if (payload.length < PAYLOAD_HEADER || payload[0] !== PAYLOAD_FORMAT) throw new Error('not a live payload of this version');
  const timestampUs = payload.readDoubleBE(1);
  const firstSeq = payload.readDoubleBE(9);
  const partition = payload[17]!;
  const count = payload.readUInt32BE(18);
  const tsMs = Math.floor(timestampUs / 1000);
  // encodeMessageId's spelling, with the parts the batch shares spelled once.
  const head = encodeMessageId({ timestampUs, seq: 0, partition }, 0);
  const tsHex = head.slice(0, 14);
  const partitionHex = head.slice(26, 28);
  const out: StoredMessage[] = new Array<StoredMessage>(count);
  let pos = PAYLOAD_HEADER;
  for (let j = 0; j < count; j++) {
    if (pos + PAYLOAD_HEAD > payload.length) throw new Error('truncated live payload');
    const random = payload.readUInt32BE(pos);
    const ttl = payload.readUInt32BE(pos + 4);
    const start = pos + PAYLOAD_HEAD;
    const end = start + payload.readUInt32BE(pos + 8);
    if (end > payload.length) throw new Error('truncated live payload');
    scanFields(payload, start, end, 'live payload');
    const seq = firstSeq + j;
    const message: StoredMessage = {
      id: tsHex + seq.toString(16).padStart(12, '0') + partitionHex + HEX_PAIRS[(random >> 8) & 0xff]! + HEX_PAIRS[random & 0xff]!,
      partition,
      seq,
      timestampUs,
      body: foundBody(payload),
      ttl,
      expiresAtMs: tsMs + ttl * 1000,
    };
    addFoundOptional(message, payload);
    out[j] = message;
    pos = end;
  }
  if (pos !== payload.length) throw new Error('truncated live payload');
  return out;
}

/** Two lowercase hex digits per byte value. */
export const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

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
