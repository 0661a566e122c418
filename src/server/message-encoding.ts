/**
 * Messages encoded once, replies assembled from the pieces (history over WebSocket and REST GET).
 *
 * Why: reads return the same messages again and again (every catch-up, every poller reads the
 * recent ones). Encoding a 100-message reply as a whole (JSON.stringify, then the UTF-8 copy of the
 * string) was about half of a read's server CPU time. Each message's wire object is now encoded
 * once per format and kept; a reply is the frame's own bytes around those fragments, one copy.
 *
 * The cache is keyed by message id and versioned by (seq, updatedAtUs), so it never needs
 * invalidating and names no field of a message (src/message-fields.ts may grow without touching
 * it): the id fixes the partition and timestamp and is unique per deployment (timestamp, seq and
 * 16 random bits), and every change of a stored message (`state.set`, PUT) advances its
 * updatedAtUs in both engines (strictly, even within one microsecond), so a changed message has a
 * new version and is encoded again. What an engine returns is its own copy, never changed in place
 * afterwards. Expiry is not a wire field: the engines never return expired messages, and an entry
 * only ever answers for a message an engine just returned. Bounded by bytes, oldest entry out
 * first; one process-wide cache, since the fragments depend on nothing but the message.
 */
import { Buffer } from 'node:buffer';
import { assembleHistoryResult, encodeMessageFragment, type AssembledHistory } from '../codec/fragments.js';
import type { RequestId, WireFormat } from '../codec/index.js';
import { wireMessage as restWireMessage } from '../domain/queues/render.js';
import type { StoredMessage } from '../engine/types.js';
import { wireMessage } from './message-wire.js';

/** Total bytes of kept fragments. */
const MAX_CACHE_BYTES = 16 * 1024 * 1024;
/** Larger messages are encoded for each reply, not kept: a few of them would fill the cache. */
const MAX_ENTRY_BYTES = 64 * 1024;

interface Entry {
  id: string;
  /** The version: (id, seq, updatedAtUs) names one content of a message. */
  seq: number;
  updatedAtUs: number | undefined;
  /** WebSocket message object, JSON (UTF-8) and MessagePack. */
  json: Uint8Array | undefined;
  msgpack: Uint8Array | undefined;
  /** REST (Queuey) message object, JSON. */
  rest: Uint8Array | undefined;
  bytes: number;
}

const cache = new Map<string, Entry>();
let cacheBytes = 0;

function matches(e: Entry, m: StoredMessage): boolean {
  return e.seq === m.seq && e.updatedAtUs === m.updatedAtUs;
}

function newEntry(m: StoredMessage): Entry {
  return {
    id: m.id,
    seq: m.seq,
    updatedAtUs: m.updatedAtUs,
    json: undefined,
    msgpack: undefined,
    rest: undefined,
    bytes: 128,
  };
}

function entryFor(m: StoredMessage): Entry {
  const e = cache.get(m.id);
  if (e !== undefined && matches(e, m)) return e;
  if (e !== undefined) {
    cache.delete(m.id);
    cacheBytes -= e.bytes;
  }
  return newEntry(m);
}

/** Keeps `e` (new, or grown by a fragment) within the budget, oldest entries out first. */
function keep(e: Entry, added: number): void {
  if (cache.get(e.id) !== e) {
    if (e.bytes + added > MAX_ENTRY_BYTES) return;
    cache.set(e.id, e);
    cacheBytes += e.bytes;
  }
  e.bytes += added;
  cacheBytes += added;
  for (const [id, old] of cache) {
    if (cacheBytes <= MAX_CACHE_BYTES) break;
    cache.delete(id);
    cacheBytes -= old.bytes;
  }
}

/** The message's object in a WebSocket frame (history.result, state.updated, message), encoded. */
export function messageFragment(m: StoredMessage, format: WireFormat): Uint8Array {
  const e = entryFor(m);
  let f = format === 'json' ? e.json : e.msgpack;
  if (f === undefined) {
    f = encodeMessageFragment(wireMessage(m), format);
    if (format === 'json') e.json = f;
    else e.msgpack = f;
    keep(e, f.byteLength);
  }
  return f;
}

/** The message's object in a REST reply (Queuey shape, domain/queues/render.ts), JSON. */
export function restMessageFragment(m: StoredMessage): Uint8Array {
  const e = entryFor(m);
  let f = e.rest;
  if (f === undefined) {
    f = Buffer.from(JSON.stringify(restWireMessage(m)));
    e.rest = f;
    keep(e, f.byteLength);
  }
  return f;
}

/**
 * Reply buffers are cut from shared slabs, as Node's Buffer pool does for small buffers: a reply is
 * tens of kB, and an ArrayBuffer of its own per reply (memory outside V8's heap) made the garbage
 * collector run far more often than the replies' size warrants. A slab is freed once every reply
 * cut from it is; uWS copies what it sends, so replies live only until written. Larger replies get
 * their own buffer. Slices are never reused: a new slab is taken when the current one is full.
 */
const SLAB_BYTES = 1024 * 1024;
const OWN_BUFFER_ABOVE = 128 * 1024;
let slab = Buffer.allocUnsafeSlow(0);
let slabAt = 0;

function replyBuffer(size: number): Buffer {
  if (size > OWN_BUFFER_ABOVE) return Buffer.allocUnsafe(size);
  if (slab.length - slabAt < size) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabAt = 0;
  }
  const out = slab.subarray(slabAt, slabAt + size);
  slabAt += (size + 7) & ~7;
  return out;
}

/** A `history.result` of these messages, cut to `maxBytes` (websocket.md 4.5). */
export function historyResult(id: RequestId | undefined, messages: readonly StoredMessage[], format: WireFormat, maxBytes: number): AssembledHistory {
  const fragments = new Array<Uint8Array>(messages.length);
  for (let i = 0; i < messages.length; i++) fragments[i] = messageFragment(messages[i]!, format);
  return assembleHistoryResult(id, fragments, format, maxBytes, replyBuffer);
}

const REST_HEAD = Buffer.from('{"status":"ok","messages":[');
const REST_TAIL = Buffer.from(']}');

/** The REST GET reply body, `{"status":"ok","messages":[…]}`, as JSON.stringify would write it. */
export function restMessagesBody(messages: readonly StoredMessage[]): Buffer {
  const fragments = new Array<Uint8Array>(messages.length);
  let size = REST_HEAD.length + REST_TAIL.length + Math.max(0, messages.length - 1);
  for (let i = 0; i < messages.length; i++) {
    const f = restMessageFragment(messages[i]!);
    fragments[i] = f;
    size += f.byteLength;
  }
  const out = replyBuffer(size);
  out.set(REST_HEAD, 0);
  let at = REST_HEAD.length;
  for (let i = 0; i < fragments.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    out.set(fragments[i]!, at);
    at += fragments[i]!.byteLength;
  }
  out.set(REST_TAIL, at);
  return out;
}

/** For tests: how many messages are kept, and their bytes. */
export function messageCacheStats(): { entries: number; bytes: number } {
  return { entries: cache.size, bytes: cacheBytes };
}
