/**
 * Holdline nodes whose changes are recorded in the event log the server reads (engine.events):
 * memory (the call store records into the engine's log), or Redis, where several nodes share one
 * key prefix on the run's redis-server (the call store relays through its own engine's log, the
 * webhook store holds endpoints, leases and cursors). For the webhook and event-tail tests.
 */
import { randomBytes } from 'node:crypto';
import type { EventTail, HoldlineClient } from '../../src/client/index.js';
import { inject } from 'vitest';
import { DEFAULTS, type HoldlineConfig } from '../../src/config.js';
import { beforeOldest } from '../../src/domain/event-tail.js';
import type { CallStore } from '../../src/engine/call-types.js';
import type { LoggedEvent } from '../../src/engine/events.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { MemoryEngine, type MemoryEngineOptions } from '../../src/engine/memory/index.js';
import { MemoryWebhookStore } from '../../src/engine/memory/webhooks.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisWebhookStore } from '../../src/engine/redis/webhooks.js';
import type { Engine } from '../../src/engine/types.js';
import type { WebhookStore } from '../../src/engine/webhook-types.js';
import type { HoldlineServer } from '../../src/server/index.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { freshPrefix } from './namespace.js';
import { startTestServer } from './server.js';

export interface EventNode {
  url: string;
  engine: Engine;
  server: HoldlineServer;
  adminKey: string;
  request(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  createApp(name?: string): Promise<{ name: string; key: string }>;
  /** Creates a tag (one `tag.create` event); answers its id. */
  tag(key: string, name: string): Promise<number>;
  /** The application's logged events, oldest first (after relaying what this node recorded). */
  events(app: string): Promise<LoggedEvent[]>;
  close(): Promise<void>;
}

export type EventNodeKind = 'memory' | 'redis';

/** One node; `shared.prefix` (Redis) puts several nodes on the same data. */
export async function startEventNode(
  kind: EventNodeKind,
  overrides: Partial<HoldlineConfig> = {},
  shared: { prefix?: string; adminKey?: string; memory?: MemoryEngineOptions } = {},
): Promise<EventNode> {
  const adminKey = shared.adminKey ?? randomBytes(12).toString('hex');
  const config: HoldlineConfig = { ...DEFAULTS, port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey, ...overrides };
  let engine: Engine;
  let calls: CallStore;
  let webhookStore: WebhookStore;
  if (kind === 'memory') {
    const memory = new MemoryEngine({ sweepIntervalMs: 60_000, recordEvents: config.events === 'on', ...shared.memory });
    engine = memory;
    calls = new MemoryCallStore({ events: memory.events });
    webhookStore = new MemoryWebhookStore();
  } else {
    const url = inject('redisUrl');
    const prefix = shared.prefix ?? freshPrefix('ev');
    const redis = new RedisEngine({ url, prefix, sweepIntervalMs: 60_000, recordEvents: config.events === 'on' });
    engine = redis;
    await redis.start();
    calls = await RedisCallStore.open({ url, prefix, feeds: redis.feeds, events: redis.events, recordEvents: config.events === 'on' });
    webhookStore = await RedisWebhookStore.open({ url, prefix });
  }
  if (kind === 'memory') await engine.start();
  const node = await startTestServer(engine, config, { mounts: [createWebSocketEndpoint().mount], callStore: calls, webhookStore });
  const { request } = node;
  return {
    url: node.url,
    engine,
    server: node.server,
    adminKey,
    request,
    async createApp(name) {
      const app = await node.createApp(name);
      // Its own events (application.create, ...) are in the log before the test registers anything.
      await engine.events.flush();
      return app;
    },
    async tag(key, name) {
      const res = await request('/v1/tags', { method: 'POST', key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tag: name }) });
      if (res.status !== 201) throw new Error(`creating tag ${name}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: number }).id;
    },
    async events(app) {
      await engine.events.flush();
      // From the oldest event held (retention may have reclaimed the first ones).
      return (await engine.events.readSince(app, await beforeOldest(engine.events, app), 100_000)) ?? [];
    },
    async close() {
      await node.close();
      await calls.close();
      await webhookStore.close();
      await engine.close();
    },
  };
}

/** A client's tail of `tag.create` events (what `EventNode.tag` records): the ids it got and each `subscribed`'s recovered flag. */
export function followTagCreates(client: HoldlineClient): { tail: EventTail; got: string[]; subscribed: boolean[] } {
  const tail = client.events({ q: [{ field: 'event_type', value: 'tag.create' }] });
  const got: string[] = [];
  const subscribed: boolean[] = [];
  tail.on('event', ({ event }) => got.push(event.message_id));
  tail.on('subscribed', ({ recovered }) => subscribed.push(recovered));
  return { tail, got, subscribed };
}
