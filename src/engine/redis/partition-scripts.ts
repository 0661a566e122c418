/**
 * One typed wrapper per partition script (lua/*.lua). Each script touches only the keys of one
 * partition (one hash tag, see keys.ts), so each call runs on one shard, atomically.
 */
import type { ChainableCommander } from 'ioredis';
import { encodeMessageId, idLowerBoundForTimestamp, idUpperBoundForTimestamp } from '../../domain/ids.js';
import type { MessagePatch, NewMessage, ReadOptions } from '../types.js';
import type { PartitionKeys } from './keys.js';
import { defineScript, scriptCall, type RedisClient, type ScriptArg } from './scripts.js';

const SCRIPTS = {
  hlAppend: { file: 'append', keys: 4 },
  hlMark: { file: 'partition-mark', keys: 4 },
  hlDrop: { file: 'partition-drop', keys: 4 },
  hlRead: { file: 'read', keys: 3 },
  hlGet: { file: 'get', keys: 2 },
  hlUpdate: { file: 'update', keys: 2 },
  hlDelete: { file: 'delete', keys: 3 },
  hlCount: { file: 'count', keys: 1 },
  hlSweep: { file: 'sweep', keys: 3 },
} as const;

export function definePartitionScripts(client: RedisClient): void {
  for (const [command, spec] of Object.entries(SCRIPTS)) defineScript(client, command, spec.file, spec.keys);
}

/** update.lua's body pair: tag and value. */
function bodyArgs(body: string | Uint8Array): [string, ScriptArg] {
  return typeof body === 'string' ? ['t', body] : ['b', Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/**
 * The record fields that follow i, l and e (record.ts), encoded here so the script only prepends
 * what it decides (id, ttl, expiry): t or b (the body), then c and r when present.
 */
export function recordTail(m: NewMessage): Buffer {
  const text = typeof m.body === 'string' ? m.body : undefined;
  const binary = typeof m.body === 'string' ? undefined : m.body;
  const bodyLength = text !== undefined ? Buffer.byteLength(text, 'utf8') : binary!.byteLength;
  const contentLength = m.contentType === undefined ? -1 : Buffer.byteLength(m.contentType, 'utf8');
  const replyLength = m.inReplyTo === undefined ? -1 : m.inReplyTo.length;
  const out = Buffer.allocUnsafe(5 + bodyLength + (contentLength < 0 ? 0 : 5 + contentLength) + (replyLength < 0 ? 0 : 5 + replyLength));
  out[0] = text !== undefined ? 0x74 : 0x62; // t, b
  out.writeUInt32BE(bodyLength, 1);
  if (text !== undefined) out.write(text, 5, 'utf8');
  else out.set(binary!, 5);
  let pos = 5 + bodyLength;
  if (contentLength >= 0) {
    out[pos] = 0x63; // c
    out.writeUInt32BE(contentLength, pos + 1);
    out.write(m.contentType!, pos + 5, 'utf8');
    pos += 5 + contentLength;
  }
  if (replyLength >= 0) {
    out[pos] = 0x72; // r
    out.writeUInt32BE(replyLength, pos + 1);
    out.write(m.inReplyTo!, pos + 5, 'latin1');
  }
  return out;
}

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

export function appendArgs(k: PartitionKeys, partition: number, inc: number, messages: readonly NewMessage[], random16: () => number): AppendCall {
  const args: ScriptArg[] = [k.channel, partition, liveMarker(inc)];
  const randoms: number[] = [];
  const ttls: number[] = [];
  for (const m of messages) {
    const r = random16();
    randoms.push(r);
    ttls.push(m.ttl);
    // The id's random part as the id spells it (src/domain/ids.ts): 4 lowercase hex digits.
    args.push(r.toString(16).padStart(4, '0'), m.ttl, recordTail(m));
  }
  return { keys: [k.ids, k.msg, k.exp, k.state], args, partition, randoms, ttls };
}

/** Appends on a client, or queues the append on a pipeline (to follow it with WAIT on the same connection). */
export function appendCall(target: RedisClient | ChainableCommander, call: AppendCall): Promise<unknown> {
  return scriptCall(target as RedisClient, 'hlAppend', false, call.keys, call.args);
}

export interface AppendReply {
  /** The partition's earliest expiresAtMs after the append. */
  earliestMs: number;
  /** The append lowered the partition's earliest expiry (or filled an empty partition). */
  lowered: boolean;
  stored: { id: string; expiresAtMs: number; timestampUs: number; seq: number }[];
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
  const stored = call.randoms.map((random, j) => {
    const seq = firstSeq + j;
    return { id: encodeMessageId({ timestampUs, seq, partition: call.partition }, random), expiresAtMs: tsMs + call.ttls[j]! * 1000, timestampUs, seq };
  });
  return { earliestMs: Number(reply[0]), lowered: Number(reply[1]) === 1, stored };
}

/** partition-mark.lua: true when the partition is live for this incarnation (or a newer one). */
export async function markPartition(client: RedisClient, k: PartitionKeys, inc: number): Promise<boolean> {
  return Number(await scriptCall(client, 'hlMark', false, [k.ids, k.msg, k.exp, k.state], [inc])) === 1;
}

/** partition-drop.lua: false when a newer incarnation owns the partition (left alone). */
export async function dropPartition(client: RedisClient, k: PartitionKeys, inc: number, tombstoneMs: number): Promise<boolean> {
  return Number(await scriptCall(client, 'hlDrop', false, [k.ids, k.msg, k.exp, k.state], [inc, tombstoneMs])) === 1;
}

export async function readRecords(client: RedisClient, k: PartitionKeys, opts: ReadOptions): Promise<Buffer[]> {
  const ascending = opts.order === 'ascending';
  let start: string;
  if (opts.since === undefined) start = ascending ? '-' : '+';
  else if (opts.since.kind === 'id') start = `[${opts.since.id}`;
  else start = `[${ascending ? idLowerBoundForTimestamp(opts.since.seconds) : idUpperBoundForTimestamp(opts.since.seconds)}`;
  const reply = await scriptCall(client, 'hlRead', true, [k.ids, k.msg, k.exp], [ascending ? 'a' : 'd', start, ascending ? '+' : '-', opts.limit]);
  return reply as Buffer[];
}

export async function getRecord(client: RedisClient, k: PartitionKeys, id: string): Promise<Buffer | null> {
  return (await scriptCall(client, 'hlGet', true, [k.msg, k.exp], [id])) as Buffer | null;
}

export async function updateRecord(client: RedisClient, k: PartitionKeys, id: string, patch: MessagePatch): Promise<Buffer | null> {
  const args: ScriptArg[] = [id, patch.ttl === undefined ? '' : patch.ttl];
  if (patch.body !== undefined) args.push(...bodyArgs(patch.body));
  if (patch.contentType !== undefined) args.push('c', patch.contentType === null ? '-' : `+${patch.contentType}`);
  if (patch.clientState !== undefined) args.push('s', patch.clientState === null ? '-' : `+${patch.clientState}`);
  if (patch.clientJson !== undefined) args.push('j', patch.clientJson === null ? '-' : `+${JSON.stringify(patch.clientJson)}`);
  return (await scriptCall(client, 'hlUpdate', true, [k.msg, k.exp], args)) as Buffer | null;
}

export async function deleteRecords(client: RedisClient, k: PartitionKeys, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return Number(await scriptCall(client, 'hlDelete', false, [k.ids, k.msg, k.exp], ids));
}

export async function countLive(client: RedisClient, k: PartitionKeys): Promise<number> {
  return Number(await scriptCall(client, 'hlCount', false, [k.exp], []));
}

/** Reclaims up to `max` expired messages; returns how many, and the earliest expiry left (-1: empty). */
export async function sweepPartition(client: RedisClient, k: PartitionKeys, max: number): Promise<{ reclaimed: number; earliestMs: number }> {
  const reply = (await scriptCall(client, 'hlSweep', false, [k.ids, k.msg, k.exp], [max])) as [number, number];
  return { reclaimed: Number(reply[0]), earliestMs: Number(reply[1]) };
}
