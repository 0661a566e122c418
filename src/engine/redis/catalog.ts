/**
 * Applications, their keys (stored only as sha256 hashes) and queue metadata, in the metadata keys
 * of keys.ts (one hash tag, so the scripts that change several of them are atomic, also in a
 * cluster). Partition data is not touched here; the engine deletes it around these calls.
 */
import { createHash, randomBytes } from 'node:crypto';
import { HoldlineError } from '../../errors.js';
import type { AppRecord, ListQueuesOptions, QueueMeta } from '../types.js';
import type { RedisKeys } from './keys.js';
import { defineScript, scriptCall, type RedisClient } from './scripts.js';

const SCRIPTS = {
  hlAppCreate: { file: 'app-create', keys: 3 },
  hlAppDelete: { file: 'app-delete', keys: 5 },
  hlQueueCreate: { file: 'queue-create', keys: 3 },
  hlQueueUpdate: { file: 'queue-update', keys: 1 },
  hlQueueDelete: { file: 'queue-delete', keys: 2 },
} as const;

export function defineCatalogScripts(client: RedisClient): void {
  for (const [command, spec] of Object.entries(SCRIPTS)) defineScript(client, command, spec.file, spec.keys);
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
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
    const deleted = await scriptCall(this.client, 'hlAppDelete', false, [k.apps, k.keyHashes, k.appKeys(name), k.queues(name), k.queueNames(name)], [name]);
    return Number(deleted) === 1;
  }

  async appForKey(key: string): Promise<string | null> {
    return this.client.hget(this.keys.keyHashes, hashKey(key));
  }

  async createQueue(meta: QueueMeta): Promise<boolean> {
    const k = this.keys;
    const app = meta.application;
    const result = Number(await scriptCall(this.client, 'hlQueueCreate', false, [k.apps, k.queues(app), k.queueNames(app)], [app, meta.name, JSON.stringify(meta)]));
    if (result === -1) throw new HoldlineError('app_not_found');
    return result === 1;
  }

  async getQueue(app: string, name: string): Promise<QueueMeta | null> {
    const json = await this.client.hget(this.keys.queues(app), name);
    return json === null ? null : (JSON.parse(json) as QueueMeta);
  }

  async queueExists(app: string, name: string): Promise<boolean> {
    return (await this.client.hexists(this.keys.queues(app), name)) === 1;
  }

  async updateQueue(meta: QueueMeta): Promise<void> {
    const updated = await scriptCall(this.client, 'hlQueueUpdate', false, [this.keys.queues(meta.application)], [meta.name, JSON.stringify(meta)]);
    if (Number(updated) !== 1) throw new HoldlineError('queue_not_found');
  }

  /** Removes the queue from the catalogue (its partitions' data is the engine's to delete). */
  async deleteQueueMeta(app: string, name: string): Promise<boolean> {
    const deleted = await scriptCall(this.client, 'hlQueueDelete', false, [this.keys.queues(app), this.keys.queueNames(app)], [name]);
    return Number(deleted) === 1;
  }

  async listQueues(app: string, opts: ListQueuesOptions): Promise<QueueMeta[]> {
    const from = opts.offset === undefined ? '-' : `[${opts.offset}`;
    const names = await this.client.zrangebylex(this.keys.queueNames(app), from, '+', 'LIMIT', 0, opts.limit);
    if (names.length === 0) return [];
    const metas = await this.client.hmget(this.keys.queues(app), ...names);
    return metas.filter((json): json is string => json !== null).map((json) => JSON.parse(json) as QueueMeta);
  }

  /** Every queue of an application (for deleting them with the application). */
  async allQueues(app: string): Promise<QueueMeta[]> {
    const all = await this.client.hgetall(this.keys.queues(app));
    return Object.values(all).map((json) => JSON.parse(json) as QueueMeta);
  }
}
