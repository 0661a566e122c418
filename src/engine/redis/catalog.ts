/**
 * Applications, their keys (stored only as sha256 hashes) and queue metadata, in the metadata keys
 * of keys.ts (one hash tag, so the scripts that change several of them are atomic, also in a
 * cluster). Partition data is not touched here; the engine deletes it around these calls.
 *
 * Each queue also has an incarnation number (queue-create.lua), kept beside its metadata: the
 * engine needs it only to mark and drop partitions (partition-mark.lua, partition-drop.lua).
 * Scripts that change cached metadata announce it on the metadata channel (meta-cache.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { HoldlineError } from '../../errors.js';
import type { AppRecord, ListQueuesOptions, QueueMeta } from '../types.js';
import type { RedisKeys } from './keys.js';
import { encodeChange } from './meta-cache.js';
import { defineScript, scriptCall, type RedisClient } from './scripts.js';

const SCRIPTS = {
  hlAppCreate: { file: 'app-create', keys: 3 },
  hlAppDelete: { file: 'app-delete', keys: 6 },
  hlQueueCreate: { file: 'queue-create', keys: 5 },
  hlQueueUpdate: { file: 'queue-update', keys: 1 },
  hlQueueDelete: { file: 'queue-delete', keys: 3 },
} as const;

export function defineCatalogScripts(client: RedisClient): void {
  for (const [command, spec] of Object.entries(SCRIPTS)) defineScript(client, command, spec.file, spec.keys);
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A queue's metadata with its incarnation number (0: created before incarnations existed). */
export interface QueueRecord {
  meta: QueueMeta;
  inc: number;
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class Catalog {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async createApp(name: string): Promise<{ app: AppRecord; key: string } | null> {
    const app: AppRecord = { name, created: Math.floor(Date.now() / 1000) };
    const key = randomBytes(16).toString('hex');
    const k = this.keys;
    const created = await scriptCall(this.client, 'hlAppCreate', false, [k.apps, k.keyHashes, k.appKeys(name)], [name, JSON.stringify(app), hashKey(key)]);
    return Number(created) === 1 ? { app, key } : null;
  }

  async getApp(name: string): Promise<AppRecord | null> {
    const json = await this.client.hget(this.keys.apps, name);
    return json === null ? null : (JSON.parse(json) as AppRecord);
  }

  async listApps(): Promise<AppRecord[]> {
    const all = await this.client.hgetall(this.keys.apps);
    return Object.values(all)
      .map((json) => JSON.parse(json) as AppRecord)
      .sort(byName);
  }

  /** Removes the application's record, keys and queue catalogue (its queues' data must go first). */
  async deleteAppMeta(name: string): Promise<boolean> {
    const k = this.keys;
    const deleted = await scriptCall(
      this.client,
      'hlAppDelete',
      false,
      [k.apps, k.keyHashes, k.appKeys(name), k.queues(name), k.queueNames(name), k.queueIncs(name)],
      [name, k.metaChannel, encodeChange({ app: name })],
    );
    return Number(deleted) === 1;
  }

  /** The application of a key, by the key's sha256 hex (hashKey). */
  async appForKeyHash(hash: string): Promise<string | null> {
    return this.client.hget(this.keys.keyHashes, hash);
  }

  async createQueue(meta: QueueMeta): Promise<boolean> {
    const k = this.keys;
    const app = meta.application;
    const result = Number(
      await scriptCall(this.client, 'hlQueueCreate', false, [k.apps, k.queues(app), k.queueNames(app), k.queueIncs(app), k.queueIncSeq], [app, meta.name, JSON.stringify(meta)]),
    );
    if (result === -1) throw new HoldlineError('app_not_found');
    return result === 1;
  }

  async getQueue(app: string, name: string): Promise<QueueMeta | null> {
    const json = await this.client.hget(this.keys.queues(app), name);
    return json === null ? null : (JSON.parse(json) as QueueMeta);
  }

  /** Metadata and incarnation read together (one slot: one pipeline, one round trip). */
  async queueRecord(app: string, name: string): Promise<QueueRecord | null> {
    const results = (await this.client.pipeline().hget(this.keys.queues(app), name).hget(this.keys.queueIncs(app), name).exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const json = results[0]?.[1];
    if (typeof json !== 'string') return null;
    return { meta: JSON.parse(json) as QueueMeta, inc: Number(results[1]?.[1] ?? 0) };
  }

  async updateQueue(meta: QueueMeta): Promise<void> {
    const k = this.keys;
    const change = encodeChange({ app: meta.application, queue: meta.name });
    const updated = await scriptCall(this.client, 'hlQueueUpdate', false, [k.queues(meta.application)], [meta.name, JSON.stringify(meta), k.metaChannel, change]);
    if (Number(updated) !== 1) throw new HoldlineError('queue_not_found');
  }

  /** Removes the queue from the catalogue, returning what it was (its partitions are the engine's to drop). */
  async deleteQueueMeta(app: string, name: string): Promise<QueueRecord | null> {
    const k = this.keys;
    const reply = await scriptCall(this.client, 'hlQueueDelete', false, [k.queues(app), k.queueNames(app), k.queueIncs(app)], [name, k.metaChannel, encodeChange({ app, queue: name, deleted: true })]);
    if (!Array.isArray(reply)) return null;
    return { meta: JSON.parse(String(reply[0])) as QueueMeta, inc: Number(reply[1]) };
  }

  async listQueues(app: string, opts: ListQueuesOptions): Promise<QueueMeta[]> {
    const from = opts.offset === undefined ? '-' : `[${opts.offset}`;
    const names = await this.client.zrangebylex(this.keys.queueNames(app), from, '+', 'LIMIT', 0, opts.limit);
    if (names.length === 0) return [];
    const metas = await this.client.hmget(this.keys.queues(app), ...names);
    return metas.filter((json): json is string => json !== null).map((json) => JSON.parse(json) as QueueMeta);
  }

  /** Every queue of an application with its incarnation (for deleting them with the application). */
  async allQueues(app: string): Promise<QueueRecord[]> {
    const [all, incs] = await Promise.all([this.client.hgetall(this.keys.queues(app)), this.client.hgetall(this.keys.queueIncs(app))]);
    return Object.entries(all).map(([name, json]) => ({ meta: JSON.parse(json) as QueueMeta, inc: Number(incs[name] ?? 0) }));
  }
}
