/**
 * The webhook store on Redis (engine/webhook-types.ts; keys in keys.ts WebhookKeys, one slot per
 * application, so each script is atomic in a cluster too). Endpoints and their states are JSON
 * fields of two hashes; a lease is one string key with an expiry per endpoint. The applications
 * with endpoints are listed in one set in its own slot, which every node's dispatcher scans: it is
 * written before an endpoint is stored and cleaned after the last one is deleted, so an endpoint
 * is never stored without its application in the set (a stale member only costs an empty read).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Webhook, WebhookRef, WebhookState, WebhookStore } from '../webhook-types.js';
import { toCallError } from './calls-scripts.js';
import { createCommandClient, guarded, parseRedisUrl } from './connection.js';
import { RedisKeys } from './keys.js';
import { defineScripts, scriptCall, type RedisClient } from './scripts.js';

const SCRIPTS = {
  hlWebhookCreate: 'webhook-create-2',
  hlWebhookDelete: 'webhook-delete-3',
  hlWebhookAcquire: 'webhook-acquire-2',
  hlWebhookRelease: 'webhook-release-1',
  hlWebhookSave: 'webhook-save-3',
} as const;

type WebhookScript = keyof typeof SCRIPTS;

async function run(client: RedisClient, name: WebhookScript, keys: readonly string[], args: readonly (string | number)[]): Promise<number> {
  try {
    return (await scriptCall(client, name, false, keys, args)) as number;
  } catch (err) {
    throw toCallError(err);
  }
}

export interface RedisWebhookStoreOptions {
  prefix: string;
  url?: string;
  /** An existing connection (tests); not closed by close(). */
  client?: RedisClient;
  commandTimeoutMs?: number;
}

export class RedisWebhookStore implements WebhookStore {
  private readonly keys: RedisKeys;
  private readonly client: RedisClient;
  private readonly ownsClient: boolean;

  private constructor(opts: RedisWebhookStoreOptions) {
    this.keys = new RedisKeys(opts.prefix);
    if (opts.client !== undefined) {
      this.client = opts.client;
      this.ownsClient = false;
    } else if (opts.url !== undefined) {
      const client: Redis | Cluster = createCommandClient(parseRedisUrl(opts.url), { commandTimeoutMs: opts.commandTimeoutMs ?? 5000 }, 'holdline-webhooks');
      // Failures are reported by the commands that fail (engine_unavailable).
      client.on('error', () => undefined);
      this.client = client;
      this.ownsClient = true;
    } else {
      throw new Error('RedisWebhookStore needs a url or a client');
    }
    defineScripts(this.client, SCRIPTS);
  }

  static async open(opts: RedisWebhookStoreOptions): Promise<RedisWebhookStore> {
    const store = new RedisWebhookStore(opts);
    if (store.ownsClient) await guarded(() => store.client.connect());
    return store;
  }

  async close(): Promise<void> {
    if (this.ownsClient) this.client.disconnect();
  }

  async create(app: string, webhook: Webhook, cursor: number, max: number): Promise<void> {
    const k = this.keys.webhooks(app);
    await guarded(() => this.client.sadd(this.keys.webhookApps, app));
    const state: WebhookState = { cursor, last_success: null, last_error: null, attempts: 0 };
    await run(this.client, 'hlWebhookCreate', [k.hooks, k.state], [webhook.id, JSON.stringify(webhook), JSON.stringify(state), max]);
  }

  async list(app: string): Promise<Webhook[]> {
    const all = await guarded(() => this.client.hgetall(this.keys.webhooks(app).hooks));
    return Object.values(all)
      .map((json) => JSON.parse(json) as Webhook)
      .sort((a, b) => a.created - b.created || a.id.localeCompare(b.id));
  }

  async get(app: string, id: string): Promise<Webhook | null> {
    const json = await guarded(() => this.client.hget(this.keys.webhooks(app).hooks, id));
    return json === null ? null : (JSON.parse(json) as Webhook);
  }

  async state(app: string, id: string): Promise<WebhookState | null> {
    const json = await guarded(() => this.client.hget(this.keys.webhooks(app).state, id));
    return json === null ? null : (JSON.parse(json) as WebhookState);
  }

  async delete(app: string, id: string): Promise<boolean> {
    const k = this.keys.webhooks(app);
    const existed = (await run(this.client, 'hlWebhookDelete', [k.hooks, k.state, k.lease(id)], [id])) === 1;
    await this.forgetIfEmpty(app);
    return existed;
  }

  async deleteApplication(app: string): Promise<void> {
    const k = this.keys.webhooks(app);
    for (const id of await guarded(() => this.client.hkeys(k.hooks))) {
      await run(this.client, 'hlWebhookDelete', [k.hooks, k.state, k.lease(id)], [id]);
    }
    await this.forgetIfEmpty(app);
  }

  /** The application leaves the scanned set once it has no endpoint (a create racing this re-adds it first). */
  private async forgetIfEmpty(app: string): Promise<void> {
    if ((await guarded(() => this.client.hlen(this.keys.webhooks(app).hooks))) > 0) return;
    await guarded(() => this.client.srem(this.keys.webhookApps, app));
    // A create between the two reads stored its endpoint after adding the application: put it back.
    if ((await guarded(() => this.client.hlen(this.keys.webhooks(app).hooks))) > 0) await guarded(() => this.client.sadd(this.keys.webhookApps, app));
  }

  async scan(): Promise<WebhookRef[]> {
    const apps = await guarded(() => this.client.smembers(this.keys.webhookApps));
    const refs: WebhookRef[] = [];
    for (const app of apps.sort()) {
      for (const id of await guarded(() => this.client.hkeys(this.keys.webhooks(app).hooks))) refs.push({ app, id });
    }
    return refs;
  }

  async acquire(ref: WebhookRef, holder: string, ttlMs: number): Promise<boolean> {
    const k = this.keys.webhooks(ref.app);
    return (await run(this.client, 'hlWebhookAcquire', [k.lease(ref.id), k.hooks], [holder, Math.max(1, Math.round(ttlMs)), ref.id])) === 1;
  }

  async release(ref: WebhookRef, holder: string): Promise<void> {
    await run(this.client, 'hlWebhookRelease', [this.keys.webhooks(ref.app).lease(ref.id)], [holder]);
  }

  async save(ref: WebhookRef, holder: string, state: WebhookState): Promise<boolean> {
    const k = this.keys.webhooks(ref.app);
    return (await run(this.client, 'hlWebhookSave', [k.lease(ref.id), k.hooks, k.state], [holder, ref.id, JSON.stringify(state)])) === 1;
  }
}
