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

function optional(value: string | undefined): string {
  return value === undefined ? '-' : `+${value}`;
}

function bodyArgs(body: string | Uint8Array): [string, ScriptArg] {
  return typeof body === 'string' ? ['t', body] : ['b', Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

export function appendArgs(k: PartitionKeys, partition: number, messages: readonly NewMessage[], random16: () => number): { keys: string[]; args: ScriptArg[] } {
  const args: ScriptArg[] = [k.channel, partition];
  for (const m of messages) {
    args.push(random16(), m.ttl, ...bodyArgs(m.body), optional(m.contentType), optional(m.inReplyTo));
  }
  return { keys: [k.ids, k.msg, k.exp, k.state], args };
}

/** Appends on a client, or queues the append on a pipeline (to follow it with WAIT on the same connection). */
export function appendCall(target: RedisClient | ChainableCommander, call: { keys: string[]; args: ScriptArg[] }): Promise<unknown> {
  return scriptCall(target as RedisClient, 'hlAppend', false, call.keys, call.args);
}

/** Parses append.lua's reply: id and expiresAtMs per message, in append order. */
export function parseAppendReply(reply: unknown): { id: string; expiresAtMs: number }[] {
  if (!Array.isArray(reply) || reply.length % 2 !== 0) throw new Error('unexpected reply from append.lua');
  const out: { id: string; expiresAtMs: number }[] = [];
  for (let i = 0; i < reply.length; i += 2) out.push({ id: String(reply[i]), expiresAtMs: Number(reply[i + 1]) });
  return out;
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
