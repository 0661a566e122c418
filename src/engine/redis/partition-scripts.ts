/**
 * One typed wrapper per partition script (lua/*.lua). Each script touches only the keys of one
 * partition (one hash tag, see keys.ts), so each call runs on one shard, atomically.
 */
import type { ChainableCommander } from 'ioredis';
import { idLowerBoundForTimestamp, idUpperBoundForTimestamp } from '../../domain/ids.js';
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
  const body = typeof m.body === 'string' ? Buffer.from(m.body, 'utf8') : Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  const contentType = m.contentType === undefined ? undefined : Buffer.from(m.contentType, 'utf8');
  const inReplyTo = m.inReplyTo === undefined ? undefined : Buffer.from(m.inReplyTo, 'latin1');
  const out = Buffer.allocUnsafe(5 + body.length + (contentType ? 5 + contentType.length : 0) + (inReplyTo ? 5 + inReplyTo.length : 0));
  let pos = 0;
  const field = (tag: string, bytes: Buffer): void => {
    out[pos] = tag.charCodeAt(0);
    out.writeUInt32BE(bytes.length, pos + 1);
    bytes.copy(out, pos + 5);
    pos += 5 + bytes.length;
  };
  field(typeof m.body === 'string' ? 't' : 'b', body);
  if (contentType) field('c', contentType);
  if (inReplyTo) field('r', inReplyTo);
  return out;
}

export interface AppendCall {
  keys: string[];
  args: ScriptArg[];
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
  for (const m of messages) args.push(random16(), m.ttl, recordTail(m));
  return { keys: [k.ids, k.msg, k.exp, k.state], args };
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
  stored: { id: string; expiresAtMs: number }[];
}

/** Parses append.lua's reply: what it stored, or the partition's marker when not the expected one (nothing stored). */
export function parseAppendReply(reply: unknown): AppendReply | { marker: string } {
  if (typeof reply === 'string') return { marker: reply };
  if (!Array.isArray(reply) || reply.length < 2 || reply.length % 2 !== 0) throw new Error('unexpected reply from append.lua');
  const stored: { id: string; expiresAtMs: number }[] = [];
  for (let i = 2; i < reply.length; i += 2) stored.push({ id: String(reply[i]), expiresAtMs: Number(reply[i + 1]) });
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
