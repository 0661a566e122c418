/**
 * Applications, their keys (stored only as sha256 hashes) and queue metadata, in the metadata keys
 * of keys.ts (one hash tag, so the scripts that change several of them are atomic, also in a
 * cluster). Partition data is not touched here; the engine deletes it around these calls.
 *
 * Each queue also has an incarnation number (queue-create.lua), kept beside its metadata: the
 * engine needs it only to mark and drop partitions (partition-mark.lua, partition-drop.lua).
 * Scripts that change cached metadata announce it on the metadata channel (meta-cache.ts).
 */
import { HoldlineError } from '../../errors.js';
import { keyIdOf, newKey } from '../app-keys.js';
import type { AppKeyRecord, AppRecord, ListQueuesOptions, NewAppKey, QueueMeta } from '../types.js';
import type { RedisKeys } from './keys.js';
import { encodeChange, type KeyOwner } from './meta-cache.js';
import { defineScripts, scriptCall, type RedisClient } from './scripts.js';

const SCRIPTS = {
  hlAppCreate: 'app-create-5',
  hlAppDelete: 'app-delete-9',
  hlAppKeyAdd: 'app-key-add-5',
  hlAppKeyRotate: 'app-key-rotate-6',
  hlAppKeyDelete: 'app-key-delete-6',
  hlQueueCreate: 'queue-create-6',
  hlQueueUpdate: 'queue-update-3',
  hlQueueDelete: 'queue-delete-5',
} as const;

export function defineCatalogScripts(client: RedisClient): void {
  defineScripts(client, SCRIPTS);
}

export { hashKey } from '../app-keys.js';

/** A keys-hash value: `app`, or `app <expiry epoch ms>` (app names have no spaces). */
function parseOwner(value: string): KeyOwner {
  const space = value.indexOf(' ');
  return space < 0 ? { app: value, expiresMs: null } : { app: value.slice(0, space), expiresMs: Number(value.slice(space + 1)) };
}

const KEY_ERRORS = { '-1': 'app_not_found', '-2': 'key_not_found', '-3': 'last_key' } as const;

/** Throws the catalogue error a key script's negative reply stands for. */
function keyScriptResult(reply: unknown): number {
  const n = Number(reply);
  const code = KEY_ERRORS[String(n) as keyof typeof KEY_ERRORS];
  if (code !== undefined) throw new HoldlineError(code);
  return n;
}

interface KeyInfo {
  created: number;
  expires: number | null;
}

/** A queue's metadata with its incarnation number (0: created before incarnations existed). */
export interface QueueRecord {
  meta: QueueMeta;
  inc: number;
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** How long a revocation waits for a replica of the registry's primary to confirm it, ms. */
const REVOCATION_WAIT_MS = 1000;

export class Catalog {
  /**
   * @param confirmBy how many replicas a revocation must reach before it is acknowledged (0: none;
   *   the engine answers 1 when the registry's primary has a replica, see revoke())
   * @param onUnconfirmed told when a revocation was stored but not confirmed in time
   */
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly confirmBy: () => number = () => 0,
    private readonly onUnconfirmed: (what: string) => void = () => undefined,
    /** The event log's relay: every write script here records into the metadata outbox (events.ts). */
    private readonly events?: { registerOutbox(outbox: string, app: string): Promise<void>; relaySoon(outbox: string, app: string): void },
  ) {}

  /** Runs a write that records its event into the metadata outbox: registered before, relayed after. */
  private async recording<T>(write: () => Promise<T>): Promise<T> {
    const outbox = this.keys.metaOutbox;
    await this.events?.registerOutbox(outbox, '');
    try {
      return await write();
    } finally {
      this.events?.relaySoon(outbox, '');
    }
  }

  /**
   * Runs a script that revokes credentials (a key, a rotation's old key, an application), then,
   * when the registry's primary has a replica, `WAIT 1` on the same connection: a revocation that
   * was acknowledged is on a replica too, so a failover right after it cannot bring the key back
   * (Redis replicates asynchronously). The script and WAIT go in one pipeline (one slot, so one
   * node also on a cluster); a cluster redirection is retried once after the slots are re-read, as
   * appends at `strong` are (index.ts appendAndWait). Not confirmed in time: the revocation stands
   * on the primary, and onUnconfirmed is told.
   */
  private revoke(command: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    return this.recording(() => this.revokeNow(command, keys, args));
  }

  private async revokeNow(command: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const replicas = this.confirmBy();
    if (replicas === 0) return scriptCall(this.client, command, false, keys, args);
    for (let attempt = 0; ; attempt++) {
      const pipeline = this.client.pipeline();
      void scriptCall(pipeline, command, false, keys, args);
      pipeline.wait(replicas, REVOCATION_WAIT_MS);
      const results = (await pipeline.exec()) ?? [];
      const [err, reply] = results[0] ?? [new Error('revocation: no reply'), null];
      if (err !== null && attempt === 0 && 'refreshSlotsCache' in this.client && err.name === 'ReplyError' && /^(MOVED|ASK) /.test(err.message)) {
        const cluster = this.client;
        await new Promise<void>((resolve) => cluster.refreshSlotsCache(() => resolve()));
        continue;
      }
      if (err !== null) throw err;
      const acked = results[1]?.[0] === null ? Number(results[1][1]) : 0;
      if (acked < replicas && Number(reply) >= 0) this.onUnconfirmed(command);
      return reply;
    }
  }

  async createApp(name: string): Promise<{ app: AppRecord; key: string; keyId: string } | null> {
    const app: AppRecord = { name, created: Math.floor(Date.now() / 1000) };
    const { key, hash, id } = newKey();
    const info: KeyInfo = { created: app.created, expires: null };
    const created = await this.recording(() =>
      scriptCall(this.client, 'hlAppCreate', false, [...this.keyKeys(name), this.keys.metaOutbox], [name, JSON.stringify(app), hash, JSON.stringify(info)]),
    );
    return Number(created) === 1 ? { app, key, keyId: id } : null;
  }

  /** Keys of one application's key scripts (app-create.lua). */
  private keyKeys(app: string): string[] {
    const k = this.keys;
    return [k.apps, k.keyHashes, k.appKeys(app), k.appKeyInfo(app)];
  }

  /** Unexpired keys, oldest first (keys from before key info existed count as made with the application). */
  async listKeys(app: string): Promise<AppKeyRecord[]> {
    const k = this.keys;
    const results = (await this.client.pipeline().hget(k.apps, app).smembers(k.appKeys(app)).hgetall(k.appKeyInfo(app)).exec()) ?? [];
    for (const [err] of results) if (err) throw err;
    const appJson = results[0]?.[1];
    if (typeof appJson !== 'string') throw new HoldlineError('app_not_found');
    const created = (JSON.parse(appJson) as AppRecord).created;
    const hashes = results[1]?.[1] as string[];
    const infos = results[2]?.[1] as Record<string, string>;
    const now = Date.now();
    return hashes
      .map((hash): AppKeyRecord => {
        const info = infos[hash] === undefined ? { created, expires: null } : (JSON.parse(infos[hash]) as KeyInfo);
        return { id: keyIdOf(hash), created: info.created, expires: info.expires ?? null };
      })
      .filter((r) => r.expires === null || r.expires * 1000 > now)
      .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async addKey(app: string): Promise<NewAppKey> {
    const { key, hash, id } = newKey();
    const now = Date.now();
    const info: KeyInfo = { created: Math.floor(now / 1000), expires: null };
    keyScriptResult(
      await this.recording(() => scriptCall(this.client, 'hlAppKeyAdd', false, [...this.keyKeys(app), this.keys.metaOutbox], [app, hash, JSON.stringify(info), now])),
    );
    return { key, record: { id, ...info } };
  }

  async rotateKey(app: string, keyId: string, graceSeconds: number): Promise<NewAppKey & { replaced: { id: string; expires: number } }> {
    const { key, hash, id } = newKey();
    const now = Date.now();
    const info: KeyInfo = { created: Math.floor(now / 1000), expires: null };
    const expires = keyScriptResult(
      await this.revoke('hlAppKeyRotate', [...this.keyKeys(app), this.keys.metaChannel, this.keys.metaOutbox], [app, keyId, hash, JSON.stringify(info), now, info.created + graceSeconds]),
    );
    return { key, record: { id, ...info }, replaced: { id: keyId, expires } };
  }

  /** Revokes one key at once (app-key-delete.lua). */
  async deleteKey(app: string, keyId: string): Promise<void> {
    keyScriptResult(await this.revoke('hlAppKeyDelete', [...this.keyKeys(app), this.keys.metaChannel, this.keys.metaOutbox], [app, keyId, Date.now()]));
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
    const deleted = await this.revoke(
      'hlAppDelete',
      [k.apps, k.keyHashes, k.appKeys(name), k.queues(name), k.queueNames(name), k.queueIncs(name), k.appKeyInfo(name), k.metaChannel, k.metaOutbox],
      [name, encodeChange({ app: name })],
    );
    return Number(deleted) === 1;
  }

  /** The application of a key and its expiry, by the key's sha256 hex (hashKey); expired keys are not filtered here. */
  async appForKeyHash(hash: string): Promise<KeyOwner | null> {
    const value = await this.client.hget(this.keys.keyHashes, hash);
    return value === null ? null : parseOwner(value);
  }

  async createQueue(meta: QueueMeta): Promise<boolean> {
    const k = this.keys;
    const app = meta.application;
    const result = Number(
      await this.recording(() =>
        scriptCall(this.client, 'hlQueueCreate', false, [k.apps, k.queues(app), k.queueNames(app), k.queueIncs(app), k.queueIncSeq, k.metaOutbox], [app, meta.name, JSON.stringify(meta)]),
      ),
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
    const updated = await this.recording(() =>
      scriptCall(this.client, 'hlQueueUpdate', false, [k.queues(meta.application), k.metaChannel, k.metaOutbox], [meta.name, JSON.stringify(meta), change]),
    );
    if (Number(updated) !== 1) throw new HoldlineError('queue_not_found');
  }

  /** Removes the queue from the catalogue, returning what it was (its partitions are the engine's to drop). */
  async deleteQueueMeta(app: string, name: string): Promise<QueueRecord | null> {
    const k = this.keys;
    const reply = await this.recording(() =>
      scriptCall(this.client, 'hlQueueDelete', false, [k.queues(app), k.queueNames(app), k.queueIncs(app), k.metaChannel, k.metaOutbox], [name, encodeChange({ app, queue: name, deleted: true })]),
    );
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
