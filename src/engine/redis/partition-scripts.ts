/**
 * One typed wrapper per partition script (lua/*.lua). Each script touches only the keys of one
 * partition (one hash tag, see keys.ts), so each call runs on one shard, atomically.
 */
import type { ChainableCommander } from 'ioredis';
import { encodeMessageId, idLowerBoundForTimestamp, idUpperBoundForTimestamp } from '../ids.js';
import type { MessageFilter, MessagePatch, NewMessage, ReadOptions } from '../types.js';
import { APPEND_FIELDS, PATCH_FIELDS, fieldOf } from '../../message-fields.js';
import type { PartitionKeys } from './keys.js';
import { fieldText, HEX_PAIRS } from './record.js';
import { defineScripts, scriptCall, type RedisClient, type ScriptArg } from './scripts.js';

const SCRIPTS = {
  hlAppend: 'append-5',
  hlMark: 'partition-mark-8',
  hlDrop: 'partition-drop-8',
  hlRead: 'read-3',
  hlReadFiltered: 'read-filtered-8',
  hlGet: 'get-1',
  hlUpdate: 'update-9',
  hlDelete: 'delete-9',
  hlProbe: 'partition-probe-1',
  hlTail: 'partition-tail-3',
  hlCount: 'count-2',
  hlSweep: 'sweep-7',
} as const;

export function definePartitionScripts(client: RedisClient): void {
  defineScripts(client, SCRIPTS);
}

/** update.lua's mark of a value that sets a field ('-' clears it). */
const PLUS = Buffer.from('+');

/** update.lua's body pair: tag and value. */
function bodyArgs(body: string | Uint8Array): [string, ScriptArg] {
  return typeof body === 'string' ? ['t', body] : ['b', Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/** The size of what writeRecordTail writes for `m`. */
function recordTailLength(m: NewMessage): number {
  const bodyLength = typeof m.body === 'string' ? Buffer.byteLength(m.body, 'utf8') : m.body.byteLength;
  let n = 5 + bodyLength;
  for (const f of APPEND_FIELDS) {
    const v = fieldOf(m, f);
    if (v === undefined) continue;
    const { text, encoding } = fieldText(f, v);
    n += 5 + Buffer.byteLength(text, encoding);
  }
  return n;
}

/**
 * Writes the record fields that follow i, l and e (record.ts) at `pos`, so the script only
 * prepends what it decides (id, ttl, expiry): t or b (the body), then the append-time fields of
 * the field table that are present (src/message-fields.ts), in its order. Returns the position after them.
 */
function writeRecordTail(m: NewMessage, out: Buffer, pos: number): number {
  if (typeof m.body === 'string') {
    out[pos] = 0x74; // t
    const n = out.write(m.body, pos + 5, 'utf8');
    out.writeUInt32BE(n, pos + 1);
    pos += 5 + n;
  } else {
    out[pos] = 0x62; // b
    out.writeUInt32BE(m.body.byteLength, pos + 1);
    out.set(m.body, pos + 5);
    pos += 5 + m.body.byteLength;
  }
  for (const f of APPEND_FIELDS) {
    const v = fieldOf(m, f);
    if (v === undefined) continue;
    const { text, encoding } = fieldText(f, v);
    out[pos] = f.tag.charCodeAt(0);
    const n = out.write(text, pos + 5, encoding);
    out.writeUInt32BE(n, pos + 1);
    pos += 5 + n;
  }
  return pos;
}

/** The record fields that follow i, l and e (record.ts), encoded as append.lua stores them. */
export function recordTail(m: NewMessage): Buffer {
  const out = Buffer.allocUnsafe(recordTailLength(m));
  writeRecordTail(m, out, 0);
  return out;
}

/** Per message in the packed argument: the id's random part, ttl, the tail's length (uint32 each). */
const PACKED_HEAD = 12;

export interface AppendCall {
  keys: string[];
  args: ScriptArg[];
  /** What the reply does not repeat: each message's random id part and ttl, and the partition. */
  partition: number;
  randoms: number[];
  ttls: number[];
}

/** The live marker of a queue incarnation, as partition states hold it (keys.ts). */
export function liveMarker(inc: number): string {
  return `+${inc}`;
}

/** A partition state's marker: which incarnation, and whether live or deleted; null when none. */
export function parseMarker(marker: string): { inc: number; live: boolean } | null {
  const m = /^([+-])(\d+)$/.exec(marker);
  return m === null ? null : { inc: Number(m[2]), live: m[1] === '+' };
}

/**
 * append.lua's keys (the live channel last) and arguments: the partition, the expected marker, then every message
 * packed into one binary value (see append.lua): one argument per call rather than three per
 * message, so neither ioredis nor Redis handles a value per message.
 */
export function appendArgs(k: PartitionKeys, partition: number, inc: number, messages: readonly NewMessage[], random16: () => number): AppendCall {
  const randoms: number[] = new Array<number>(messages.length);
  const ttls: number[] = new Array<number>(messages.length);
  let size = 0;
  for (const m of messages) size += PACKED_HEAD + recordTailLength(m);
  const packed = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let j = 0; j < messages.length; j++) {
    const m = messages[j]!;
    const r = random16() & 0xffff;
    randoms[j] = r;
    ttls[j] = m.ttl;
    // The id's random part as a number: the script spells the whole id with one format.
    packed.writeUInt32BE(r, pos);
    packed.writeUInt32BE(m.ttl, pos + 4);
    const end = writeRecordTail(m, packed, pos + PACKED_HEAD);
    packed.writeUInt32BE(end - pos - PACKED_HEAD, pos + 8);
    pos = end;
  }
  return { keys: [k.ids, k.msg, k.exp, k.state, k.channel], args: [partition, liveMarker(inc), packed], partition, randoms, ttls };
}

/** Appends on a client, or queues the append on a pipeline (to follow it with WAIT on the same connection). */
export function appendCall(target: RedisClient | ChainableCommander, call: AppendCall): Promise<unknown> {
  return scriptCall(target as RedisClient, 'hlAppend', false, call.keys, call.args);
}

/** What append.lua stored for one message. */
export interface StoredEntry {
  id: string;
  expiresAtMs: number;
  /** The parts of the id, as assigned. */
  timestampUs: number;
  seq: number;
}

export interface AppendReply {
  /** The partition's earliest expiresAtMs after the append. */
  earliestMs: number;
  /** The append lowered the partition's earliest expiry (or filled an empty partition). */
  lowered: boolean;
  stored: StoredEntry[];
}

/**
 * Parses append.lua's reply: what it stored, or the partition's marker when not the expected one
 * (nothing stored). Ids and expiries are spelled from the batch's timestamp and first seq exactly
 * as the script spelled them: seq +1 per message, expiry = timestamp in ms + ttl seconds.
 */
export function parseAppendReply(reply: unknown, call: AppendCall): AppendReply | { marker: string } {
  if (typeof reply === 'string') return { marker: reply };
  if (!Array.isArray(reply) || reply.length !== 4) throw new Error('unexpected reply from append.lua');
  const timestampUs = Number(reply[2]);
  const firstSeq = Number(reply[3]);
  const tsMs = Math.floor(timestampUs / 1000);
  // encodeMessageId's spelling, with the parts the batch shares spelled once.
  const head = encodeMessageId({ timestampUs, seq: 0, partition: call.partition }, 0);
  const tsHex = head.slice(0, 14);
  const partitionHex = head.slice(26, 28);
  const { randoms, ttls } = call;
  const stored: StoredEntry[] = new Array<StoredEntry>(randoms.length);
  for (let j = 0; j < randoms.length; j++) {
    const seq = firstSeq + j;
    const r = randoms[j]!;
    const id = tsHex + seq.toString(16).padStart(12, '0') + partitionHex + HEX_PAIRS[r >> 8]! + HEX_PAIRS[r & 0xff]!;
    stored[j] = { id, expiresAtMs: tsMs + ttls[j]! * 1000, timestampUs, seq };
  }
  return { earliestMs: Number(reply[0]), lowered: Number(reply[1]) === 1, stored };
}

/** The keys of the scripts that keep the processing-state indexes (update-9 then the outbox, read-filtered-8, partition-mark/drop-8). */
function indexedKeys(k: PartitionKeys): string[] {
  return [k.ids, k.msg, k.exp, k.state, k.stated, k.unset, k.updated, k.replies];
}

/** delete-8 (then the outbox), sweep-7: a partition's data and its processing-state indexes. */
function unlinkKeys(k: PartitionKeys): string[] {
  return [k.ids, k.msg, k.exp, k.stated, k.unset, k.updated, k.replies];
}

/**
 * Most ids one script call takes into the processing-state indexes (lua/includes/indexCatchUp.lua):
 * bounds the time one call holds the shard when many messages were appended since the last
 * catch-up; the engine then calls again.
 */
export const INDEX_CATCH_UP_MAX = 5000;

/** partition-mark.lua: true when the partition is live for this incarnation (or a newer one). */
export async function markPartition(client: RedisClient, k: PartitionKeys, inc: number): Promise<boolean> {
  return Number(await scriptCall(client, 'hlMark', false, indexedKeys(k), [inc])) === 1;
}

/** partition-drop.lua: false when a newer incarnation owns the partition (left alone). */
export async function dropPartition(client: RedisClient, k: PartitionKeys, inc: number, tombstoneMs: number): Promise<boolean> {
  return Number(await scriptCall(client, 'hlDrop', false, indexedKeys(k), [inc, tombstoneMs])) === 1;
}

/**
 * Up to `limit` live records of a partition from the cursor (read.lua). Two steps: read.lua picks
 * the ids (range and expiry filter, atomically), then HMGET fetches their records, which is much
 * cheaper for Redis than passing the records through Lua. A record gone in between (deleted, or
 * reclaimed after expiring meanwhile) would leave a hole where the next message belongs, so the
 * read is then done again in one step, records through Lua. Same result as that one step taken
 * at the moment the ids were picked, with each record as it was a moment later (an update in
 * between is seen; it cannot hide a message, a ttl being at least a second). `beforeWrite` runs
 * before each command is sent (the engine corks its connection there, index.ts corkForTick).
 */
export async function readRecords(client: RedisClient, k: PartitionKeys, opts: ReadOptions, beforeWrite?: () => void): Promise<Buffer[]> {
  const ascending = opts.order === 'ascending';
  let start: string;
  if (opts.since === undefined) start = ascending ? '-' : '+';
  else if (opts.since.kind === 'id') start = `[${opts.since.id}`;
  else start = `[${ascending ? idLowerBoundForTimestamp(opts.since.seconds) : idUpperBoundForTimestamp(opts.since.seconds)}`;
  const args: ScriptArg[] = [ascending ? 'a' : 'd', start, ascending ? '+' : '-', opts.limit];
  beforeWrite?.();
  const ids = (await scriptCall(client, 'hlRead', false, [k.ids, k.msg, k.exp], [...args, 'i'])) as string[];
  if (ids.length === 0) return [];
  beforeWrite?.();
  const records = await client.hmgetBuffer(k.msg, ...ids);
  if (records.every((r): r is Buffer => r !== null)) return records;
  return (await scriptCall(client, 'hlRead', true, [k.ids, k.msg, k.exp], args)) as Buffer[];
}

export async function getRecord(client: RedisClient, k: PartitionKeys, id: string): Promise<Buffer | null> {
  return (await scriptCall(client, 'hlGet', true, [k.msg], [id])) as Buffer | null;
}

/** update-9.lua's answer: the new record, none (no such live message), or a failed compare-and-set. */
export type UpdateReply = { record: Buffer } | { conflict: string | null } | null;

/**
 * Changes a message (update-9.lua), recording `event` in the same step; `ifState` (a state, or null for unset) makes it a
 * compare-and-set. When the indexes first need more than one call's catch-up, calls again.
 */
export async function updateRecord(
  client: RedisClient,
  k: PartitionKeys,
  id: string,
  patch: MessagePatch,
  event: 'message.update' | 'message.state',
  ifState?: string | null,
): Promise<UpdateReply> {
  const args: ScriptArg[] = [id, patch.ttl === undefined ? '' : patch.ttl, ifState === undefined ? '' : ifState === null ? '-' : `+${ifState}`, INDEX_CATCH_UP_MAX, event];
  if (patch.body !== undefined) args.push(...bodyArgs(patch.body));
  for (const f of PATCH_FIELDS) {
    const v = fieldOf(patch, f);
    if (v === null) args.push(f.tag, '-');
    else if (v !== undefined) {
      const { text, encoding } = fieldText(f, v);
      args.push(f.tag, encoding === 'utf8' ? `+${text}` : Buffer.concat([PLUS, Buffer.from(text, encoding)]));
    }
  }
  for (;;) {
    const reply = (await scriptCall(client, 'hlUpdate', true, [...indexedKeys(k), k.outbox], args)) as Buffer | null | Buffer[];
    if (reply === null) return null;
    if (!Array.isArray(reply)) return { record: reply };
    if (reply[0]?.toString() === 'c') {
      const current = reply[1]?.toString('utf8') ?? '';
      return { conflict: current === '' ? null : current };
    }
    // 'b': the indexes were behind the message; they moved on, nothing else changed.
  }
}

/**
 * A filtered read (read-filtered-8.lua): the records, and how many index entries the script
 * touched (RedisEngine.indexEntriesRead counts them). As readRecords: the script picks the ids
 * (index walk, conditions and expiry, atomically), HMGET fetches their records; should one be gone
 * in between, the read is made again with the records through Lua.
 */
export async function readFiltered(
  client: RedisClient,
  k: PartitionKeys,
  opts: ReadOptions & { filter: MessageFilter },
  beforeWrite?: () => void,
): Promise<{ records: Buffer[]; touched: number }> {
  const ascending = opts.order === 'ascending';
  let cursor = '';
  if (opts.since?.kind === 'id') cursor = opts.since.id;
  else if (opts.since?.kind === 'timestamp') cursor = ascending ? idLowerBoundForTimestamp(opts.since.seconds) : idUpperBoundForTimestamp(opts.since.seconds);
  const f = opts.filter;
  const head: ScriptArg[] = [ascending ? 'a' : 'd', cursor, opts.limit, INDEX_CATCH_UP_MAX, f.updatedSinceUs ?? '', f.updatedUntilUs ?? '', f.inReplyTo ?? ''];
  const states = (f.states ?? []).map((s) => s ?? '');
  let touched = 0;
  const call = async (mode: 'i' | 'r'): Promise<Array<string | Buffer>> => {
    for (;;) {
      beforeWrite?.();
      const reply = (await scriptCall(client, 'hlReadFiltered', mode === 'r', indexedKeys(k), [...head, mode, ...states])) as [number, number, ...Array<string | Buffer>];
      touched += Number(reply[0]);
      if (Number(reply[1]) === 0) return reply.slice(2) as Array<string | Buffer>;
    }
  };
  const ids = (await call('i')) as string[];
  if (ids.length === 0) return { records: [], touched };
  beforeWrite?.();
  const records = await client.hmgetBuffer(k.msg, ...ids);
  if (records.every((r): r is Buffer => r !== null)) return { records, touched };
  return { records: (await call('r')) as Buffer[], touched };
}

export async function deleteRecords(client: RedisClient, k: PartitionKeys, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return Number(await scriptCall(client, 'hlDelete', false, [...unlinkKeys(k), k.outbox, k.state], ids));
}

/** Where a partition stands (partition-probe.lua): what tail-cache.ts checks its tail against. */
export interface PartitionProbe {
  /** The last seq assigned (0: none). */
  seq: number;
  /** The change version (+1 per update or delete of a stored message). */
  version: number;
  /** The queue marker ('' when none). */
  marker: string;
  /** The Redis clock, ms. */
  nowMs: number;
  /** The timestampUs of the append that assigned `seq` (0: none). */
  ts: number;
}

function parseProbe(reply: unknown[]): PartitionProbe {
  return { seq: Number(String(reply[0])), version: Number(String(reply[1])), marker: String(reply[2]), nowMs: Number(String(reply[3])), ts: Number(String(reply[4])) };
}

export async function probePartition(client: RedisClient, k: PartitionKeys): Promise<PartitionProbe> {
  return parseProbe((await scriptCall(client, 'hlProbe', false, [k.state], [])) as unknown[]);
}

/** The newest `max` records (newest first) and the probe at the same instant (partition-tail.lua). */
export async function readTail(client: RedisClient, k: PartitionKeys, max: number): Promise<{ probe: PartitionProbe; records: Buffer[] }> {
  const reply = (await scriptCall(client, 'hlTail', true, [k.ids, k.msg, k.state], [max])) as Buffer[];
  return { probe: parseProbe(reply), records: reply.slice(5) };
}

export async function countLive(client: RedisClient, k: PartitionKeys): Promise<number> {
  return Number(await scriptCall(client, 'hlCount', false, [k.ids, k.exp], []));
}

/**
 * Looks at up to `max` expired messages and reclaims them; returns how many it reclaimed, the
 * earliest expiry left in the index (-1: empty), and whether due entries are left for another call.
 */
export async function sweepPartitionStep(client: RedisClient, k: PartitionKeys, max: number): Promise<{ reclaimed: number; earliestMs: number; more: boolean }> {
  const reply = (await scriptCall(client, 'hlSweep', false, unlinkKeys(k), [max])) as [number, number, number];
  return { reclaimed: Number(reply[0]), earliestMs: Number(reply[1]), more: Number(reply[2]) === 1 };
}

/** One sweep step without whether more is due: how many it reclaimed, the earliest expiry left (-1: empty). */
export async function sweepPartition(client: RedisClient, k: PartitionKeys, max: number): Promise<{ reclaimed: number; earliestMs: number }> {
  const { reclaimed, earliestMs } = await sweepPartitionStep(client, k, max);
  return { reclaimed, earliestMs };
}
