/**
 * A real Holdline server on a free port (config.port 0) over a given engine, for REST and WebSocket
 * tests: real sockets, real HTTP via fetch. The engine stays the test's: it is closed by close()
 * only when the helper created it. So does a call store the test passes; without one, the helper
 * opens a call store of the engine's kind (Redis: the run's server, a fresh prefix) and close()
 * closes it.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { DEFAULTS, type HoldlineConfig } from '../../src/config.js';
import type { CallStore } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import type { Engine } from '../../src/engine/types.js';
import { MemoryWebhookStore } from '../../src/engine/memory/webhooks.js';
import { RedisWebhookStore } from '../../src/engine/redis/webhooks.js';
import type { WebhookStore } from '../../src/engine/webhook-types.js';
import { createLogger } from '../../src/logger.js';
import { createHoldlineServer, type HoldlineServer, type HoldlineServerOptions } from '../../src/server/index.js';
import type { EngineFactory } from './engines.js';
import { freshPrefix } from './namespace.js';

export interface TestServer {
  url: string;
  port: number;
  engine: Engine;
  /** The call store behind /v1/agents, /v1/queues, /v1/tags. */
  calls: CallStore;
  server: HoldlineServer;
  adminKey: string;
  config: HoldlineConfig;
  /** fetch relative to the server, with optional `Authorization: Application <key>`. */
  request(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  /** Creates an application through the admin route; returns its key. */
  createApp(name?: string): Promise<{ name: string; key: string }>;
  close(): Promise<void>;
}

export async function startTestServer(
  engine: Engine,
  overrides: Partial<HoldlineConfig> = {},
  extra: Pick<HoldlineServerOptions, 'mounts' | 'callStore' | 'webhookStore' | 'consoleDir'> = {},
): Promise<TestServer> {
  const adminKey = overrides.adminKey ?? randomBytes(12).toString('hex');
  const config: HoldlineConfig = { ...DEFAULTS, port: 0, host: '127.0.0.1', logLevel: 'silent', adminKey, ...overrides };
  const ownCalls = extra.callStore === undefined ? await openCallStore(engine, config.callQueueResumeWindow) : null;
  const calls = extra.callStore ?? ownCalls!;
  const ownWebhooks = extra.webhookStore === undefined ? await openWebhookStore(engine) : null;
  const webhookStore = extra.webhookStore ?? ownWebhooks!;
  const server = createHoldlineServer({ config, engine, logger: createLogger(config.logLevel), ...extra, callStore: calls, webhookStore });
  const port = await server.listen();
  const url = `http://127.0.0.1:${port}`;
  const request = (path: string, init: RequestInit & { key?: string } = {}): Promise<Response> => {
    const { key, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== undefined) headers.set('authorization', `Application ${key}`);
    return fetch(url + path, { ...rest, headers });
  };
  return {
    url,
    port,
    engine,
    calls,
    server,
    adminKey,
    config,
    request,
    async createApp(name = `app-${randomBytes(4).toString('hex')}`) {
      const res = await request('/v1/apps', {
        method: 'POST',
        headers: { authorization: `Admin ${adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
      });
      if (res.status !== 201) throw new Error(`creating app ${name}: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { key: string };
      return { name, key: body.key };
    },
    close: async () => {
      await server.close();
      await ownCalls?.close();
      await ownWebhooks?.close();
    },
  };
}

/** A webhook store of the engine's kind: memory, or Redis on the run's redis-server under a fresh prefix. */
export async function openWebhookStore(engine: Engine): Promise<WebhookStore> {
  if (engine.kind === 'memory') return new MemoryWebhookStore();
  return RedisWebhookStore.open({ url: inject('redisUrl'), prefix: freshPrefix('wh') });
}

/** A call store of the engine's kind: memory, or Redis on the run's redis-server under a fresh prefix. */
/**
 * A call store of the engine's kind sharing its event log, as `holdline serve` builds it
 * (calls-factory.ts): memory, or Redis on the run's redis-server under the engine's prefix (a fresh
 * prefix for an engine that is not a RedisEngine).
 */
export async function openCallStore(engine: Engine, changeRetention?: number): Promise<CallStore> {
  const retention = changeRetention === undefined ? {} : { changeRetention };
  if (engine instanceof MemoryEngine) return new MemoryCallStore({ ...retention, events: engine.events });
  if (engine.kind === 'memory') return new MemoryCallStore(retention);
  if (engine instanceof RedisEngine) {
    return RedisCallStore.open({ url: inject('redisUrl'), prefix: engine.prefix, events: engine.events, feeds: engine.feeds, ...retention });
  }
  return RedisCallStore.open({ url: inject('redisUrl'), prefix: freshPrefix('calls'), ...retention });
}

/** A fresh engine (from the factory) and server for each test of the enclosing describe. */
export function useServer(factory: EngineFactory, overrides: Partial<HoldlineConfig> = {}): () => TestServer {
  return serverHooks(beforeEach, afterEach, factory, overrides);
}

/**
 * One engine and server (from the factory) for all the tests of the enclosing describe, for tests
 * that each work in their own applications (or check that they changed nothing): the start-up is
 * then paid once per describe instead of once per test.
 */
export function useSharedServer(factory: EngineFactory, overrides: Partial<HoldlineConfig> = {}): () => TestServer {
  return serverHooks(beforeAll, afterAll, factory, overrides);
}

function serverHooks(
  before: typeof beforeEach, after: typeof afterEach, factory: EngineFactory, overrides: Partial<HoldlineConfig>,
): () => TestServer {
  let current: TestServer | undefined;
  before(async () => {
    current = await startTestServer(await factory.create(), overrides);
  });
  after(async () => {
    await current?.close();
    await current?.engine.close();
    current = undefined;
  });
  return () => {
    if (current === undefined) throw new Error('server used outside a test');
    return current;
  };
}

/**
 * Everything stored for these applications (metadata, every partition's messages), to compare before
 * and after a rejected request: "nothing stored changed" is then one toEqual.
 */
export async function snapshot(engine: Engine, apps: string[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const name of apps) {
    const app = await engine.getApp(name);
    const queues = app === null ? [] : await engine.listQueues(name, { limit: 1000 });
    const detail = [];
    for (const q of queues) {
      const partitions = [];
      for (let p = 1; p <= q.partitions; p++) {
        const messages = await engine.read({ app: name, queue: q.name, partition: p }, { limit: 1000, order: 'ascending' });
        partitions.push(messages.map((m) => ({ ...m, body: typeof m.body === 'string' ? m.body : Buffer.from(m.body).toString() })));
      }
      detail.push({ meta: q, partitions });
    }
    out[name] = { app, queues: detail };
  }
  return out;
}

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const JSON_CT = { 'content-type': 'application/json' };

/** The error code of a JSON error response, checking its shape on the way. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { status: string; error: { code: string; message: string } };
  if (body.status !== 'error' || typeof body.error?.message !== 'string') throw new Error(`not an error body: ${JSON.stringify(body)}`);
  return body.error.code;
}

/**
 * Everything the call store holds for these applications (agents, tags, queues with their seq,
 * callers in order and members), to compare before and after a rejected request. Stats are kept
 * without the figures that move with the clock (`at`, `longest_wait`).
 */
export async function callSnapshot(store: CallStore, apps: string[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const app of apps) {
    const queues = [];
    for (const q of await store.listCallQueues(app)) {
      const { stats, ...snap } = await store.snapshot(app, q.uuid);
      const { at: _at, longest_wait: _lw, ...steady } = stats;
      queues.push({ ...snap, stats: steady });
    }
    out[app] = { agents: await store.listAgents(app), tags: await store.listTags(app), queues };
  }
  return out;
}

export interface JsonReply {
  status: number;
  /** The parsed JSON body; null for an empty one (204). */
  body: any;
}

/** A JSON request as an application (key) or an agent (`{ token }`); the reply parsed. */
export async function call(
  s: TestServer,
  as: string | { token: string } | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<JsonReply> {
  const headers: Record<string, string> = {};
  if (typeof as === 'string') headers.authorization = `Application ${as}`;
  else if (as !== null) headers.authorization = `Agent ${as.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await s.request(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}

/** An application and one message queue of it (`partitions`, weak consistency), made over REST. */
export async function appWithQueue(s: Pick<TestServer, 'createApp' | 'request'>, partitions = 1): Promise<{ app: string; key: string; queue: string }> {
  const { name: app, key } = await s.createApp();
  const created = await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions, consistency: 'weak' }) });
  if (created.status !== 201) throw new Error(`queue create answered ${created.status}: ${await created.text()}`);
  return { app, key, queue: ((await created.json()) as { queue_name: string }).queue_name };
}
