/**
 * The SDK's reconnect loop against real failures: a Holdline process killed with SIGKILL and
 * restarted on the same port (Redis engine, a second node publishing meanwhile), a link that goes
 * silent (a real TCP proxy that stops forwarding), credentials Redis cannot check for a while (a
 * stopped redis-server: retried, not final), and close() while reconnecting.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { HoldlineClient, type ClientEvents, type PartitionRecovery } from '../../src/client/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { startHoldlineProcess, type HoldlineProcess } from '../helpers/holdline-process.js';
import { freshPrefix } from '../helpers/namespace.js';
import { freePort, startRedisServer } from '../helpers/redis-server.js';
import { byPartition, record } from '../helpers/sdk.js';
import { engineFactories } from '../helpers/engines.js';
import { JSON_CT, type TestServer } from '../helpers/server.js';
import { appWithKey, startWsServer, type WsServer } from '../helpers/ws-client.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function track(c: HoldlineClient): HoldlineClient {
  cleanups.push(() => c.close());
  return c;
}

/** The next `event` whose payload satisfies `pred`. */
function next<K extends keyof ClientEvents>(c: HoldlineClient, event: K, pred: (p: ClientEvents[K]) => boolean = () => true): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const off = c.on(event, (p) => {
      if (!pred(p)) return;
      off();
      resolve(p);
    });
  });
}

/** Connected, or a clear failure when the first attempt is refused (e.g. no /v1/ws on that server). */
function firstConnection(c: HoldlineClient): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const offs = [
      c.on('connectFailed', (f) => {
        for (const off of offs) off();
        reject(new Error(`${f.url} refused the WebSocket connection (${String(f.code)} ${f.reason}): does \`holdline serve\` mount /v1/ws?`));
      }),
      c.on('connected', () => {
        for (const off of offs) off();
        resolve();
      }),
    ];
    c.connect().catch(reject);
  });
}

/** An in-process server with /v1/ws on a fresh memory engine, both closed after the test. */
async function memoryWsServer(): Promise<WsServer> {
  const engine = await engineFactories.find((f) => f.name === 'memory')!.create();
  const ws = await startWsServer(engine);
  cleanups.push(async () => {
    await ws.close();
    await engine.close();
  });
  return ws;
}

// ---------- a Holdline process ----------

/** `holdline serve` in its own process (test/helpers/holdline-process.ts), killed after the test. */
async function startHoldline(port: number, env: Record<string, string>): Promise<HoldlineProcess> {
  const handle = await startHoldlineProcess(env, port);
  cleanups.push(() => handle.kill('SIGKILL'));
  return handle;
}

// ---------- a TCP proxy that can go silent ----------

interface Proxy {
  port: number;
  /** Existing connections stop forwarding in both directions but stay open: a dead link. */
  freeze(): void;
  close(): Promise<void>;
}

async function startProxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [down, up];
    pairs.add(pair);
    down.pipe(up);
    up.pipe(down);
    const end = (): void => {
      pairs.delete(pair);
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      for (const [down, up] of pairs) {
        down.unpipe(up);
        up.unpipe(down);
        down.pause();
        up.pause();
      }
    },
    async close() {
      for (const [down, up] of pairs) {
        down.destroy();
        up.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Every setTimeout created from now on that has neither fired nor been cleared. */
function watchTimers(): { created: number; outstanding(): number; restore(): void } {
  const realSet = globalThis.setTimeout;
  const realClear = globalThis.clearTimeout;
  const live = new Set<unknown>();
  let created = 0;
  const patchedSet = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): ReturnType<typeof realSet> => {
    const handle = realSet(() => {
      live.delete(handle);
      fn(...args);
    }, ms);
    live.add(handle);
    created++;
    return handle;
  };
  globalThis.setTimeout = patchedSet as unknown as typeof setTimeout;
  globalThis.clearTimeout = ((handle: Parameters<typeof realClear>[0]) => {
    live.delete(handle);
    realClear(handle);
  }) as typeof clearTimeout;
  return {
    get created() {
      return created;
    },
    outstanding: () => live.size,
    restore() {
      globalThis.setTimeout = realSet;
      globalThis.clearTimeout = realClear;
    },
  };
}

async function rest(port: number, path: string, init: RequestInit & { key?: string; admin?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.key !== undefined) headers.set('authorization', `Application ${init.key}`);
  if (init.admin !== undefined) headers.set('authorization', `Admin ${init.admin}`);
  return fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers });
}

describe('SDK reconnect against a killed and restarted server (Redis engine)', () => {
  it.each(['json', 'msgpack'] as const)('resumes every partition with no gap and no duplicate (%s)', async (format) => {
    const adminKey = randomBytes(12).toString('hex');
    const env = { HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: inject('redisUrl'), HOLDLINE_REDIS_PREFIX: freshPrefix('sdk'), HOLDLINE_ADMIN_KEY: adminKey };
    const port = await freePort();
    const portB = await freePort();
    // Both nodes start at once: neither needs the other to start.
    let [nodeA, nodeB] = await Promise.all([startHoldline(port, env), startHoldline(portB, env)]);

    const app = `sdk-${randomBytes(4).toString('hex')}`;
    const created = await rest(port, '/v1/apps', { method: 'POST', admin: adminKey, headers: JSON_CT, body: JSON.stringify({ name: app }) });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };
    const q = await rest(port, `/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions: 3 }) });
    expect(q.status).toBe(201);
    const queue = ((await q.json()) as { queue_name: string }).queue_name;

    const subscriber = track(new HoldlineClient({ urls: `ws://127.0.0.1:${port}/v1/ws`, key, format, backoff: { baseMs: 50, maxMs: 400 } }));
    const publisher = track(new HoldlineClient({ urls: `ws://127.0.0.1:${nodeB.port}`, key, format }));
    await firstConnection(subscriber);
    const sub = subscriber.subscribe(app, queue, { partitions: [1, 2, 3] });
    const got = record(sub);
    await sub.ready;

    const published: Array<{ partition: number; message_id: string }> = [];
    const batch = async (label: string, n: number): Promise<void> => {
      const acks = await publisher.publish(app, queue, Array.from({ length: n }, (_, i) => ({ body: `${label}${i}`, partition: (i % 3) + 1 })));
      published.push(...acks);
    };

    await batch('a', 30);
    await got.until(30);

    const lost = next(subscriber, 'disconnected');
    await nodeA.kill('SIGKILL');
    expect(await lost).toMatchObject({ code: 1006, byClient: false, willReconnect: true });

    // Published through the other node while the subscriber cannot connect anywhere.
    await batch('b', 30);

    const recoveries: PartitionRecovery[] = [];
    const allRecovered = new Promise<void>((resolve) =>
      sub.on('recovery', (r) => {
        recoveries.push(r);
        if (recoveries.length === 3) resolve();
      }),
    );
    nodeA = await startHoldline(port, env);
    await allRecovered;
    expect(recoveries.map((r) => [r.partition, r.recovered, r.cause]).sort()).toEqual([
      [1, true, 'reconnect'],
      [2, true, 'reconnect'],
      [3, true, 'reconnect'],
    ]);

    await batch('c', 30);
    await got.until(90);
    expect(byPartition(got.messages)).toEqual(byPartition(published));
    expect(got.messages).toHaveLength(90);
  });
});

describe('SDK while Redis cannot check its credentials', () => {
  it('retries an auth answered engine_unavailable (1013) instead of stopping for good, and connects once Redis is back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-authdown-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const aof = ['--appendonly', 'yes', '--appendfsync', 'always'];
    let redis = await startRedisServer({ args: aof, dir });
    let running = true;
    cleanups.push(() => (running ? redis.stop() : undefined));
    const engine = new RedisEngine({ url: redis.url, prefix: freshPrefix('authdown') });
    await engine.start();
    // registryOutageMs 0: no key is answered from the node's memory while Redis is down.
    const ws = await startWsServer(engine, {}, { registryOutageMs: 0 });
    cleanups.push(async () => {
      await ws.close();
      await engine.close();
    });
    const { key } = await appWithKey(engine);

    await redis.stop();
    running = false;
    const c = track(new HoldlineClient({ urls: `${ws.url.replace(/^http/, 'ws')}/v1/ws`, key, backoff: { baseMs: 20, maxMs: 200 } }));
    const refused = next(c, 'connectFailed', (f) => f.code === 1013);
    const connected = c.connect();
    connected.catch(() => {});
    expect(await refused).toMatchObject({ code: 1013, reason: 'engine_unavailable' });
    expect(c.state.status).not.toBe('closed');

    redis = await startRedisServer({ args: aof, dir, port: redis.port });
    running = true;
    await connected;
    expect(c.state.status).toBe('connected');
  });
});

describe('SDK dead-link detection', () => {
  it('a silent link is closed after heartbeatTimeoutMs; the client reconnects and resumes', async () => {
    const ws = await memoryWsServer();
    const s: TestServer = ws.server;
    const { name, key } = await s.createApp();
    const q = await s.request(`/${name}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions: 1 }) });
    const queue = ((await q.json()) as { queue_name: string }).queue_name;
    const proxy = await startProxy(s.port);
    cleanups.push(() => proxy.close());

    const viaProxy = track(new HoldlineClient({ urls: `ws://127.0.0.1:${proxy.port}/v1/ws`, key, heartbeatTimeoutMs: 600, backoff: { baseMs: 20, maxMs: 100 } }));
    const direct = track(new HoldlineClient({ urls: `ws://127.0.0.1:${s.port}/v1/ws`, key }));
    const sub = viaProxy.subscribe(name, queue, {});
    const got = record(sub);
    await sub.ready;
    const first = await direct.publish(name, queue, [{ body: 'before' }]);
    await got.until(1);

    const dead = next(viaProxy, 'disconnected');
    const back = next(viaProxy, 'connected');
    proxy.freeze();
    const during = await direct.publish(name, queue, [{ body: 'during-1' }, { body: 'during-2' }]);
    expect(await dead).toMatchObject({ byClient: true, reason: 'dead_link', willReconnect: true });
    await back;
    await got.until(3);
    const after = await direct.publish(name, queue, [{ body: 'after' }]);
    await got.until(4);
    expect(got.messages.map((m) => m.message_id)).toEqual([...first, ...during, ...after].map((a) => a.message_id));
  });
});

describe('SDK with several URLs', () => {
  it('moves on from a node that refuses connections to the next one, and requests made meanwhile are sent there', async () => {
    const ws = await memoryWsServer();
    const { name, key } = await ws.server.createApp();
    const dead = await freePort();
    const c = track(new HoldlineClient({ urls: [`ws://127.0.0.1:${dead}/v1/ws`, `ws://127.0.0.1:${ws.server.port}`], key, backoff: { baseMs: 10, maxMs: 50 } }));
    const failed = next(c, 'connectFailed');
    const pong = c.ping(); // before any connection: waits for one
    expect(new URL((await failed).url).port).toBe(String(dead));
    expect((await pong).roundTripMs).toBeGreaterThanOrEqual(0);
    expect(c.state).toMatchObject({ status: 'connected', url: `ws://127.0.0.1:${ws.server.port}/v1/ws`, principal: { application: name } });
  });
});

describe('SDK close() while reconnecting', () => {
  it('rotates through the URLs with backoff, and close() stops everything, leaving no timer', async () => {
    const refused = [await freePort(), await freePort()];
    const timers = watchTimers();
    cleanups.push(() => timers.restore());
    const c = new HoldlineClient({ urls: refused.map((p) => `ws://127.0.0.1:${p}/v1/ws`), backoff: { baseMs: 10, maxMs: 40 } });
    const failures: Array<{ url: string; delayMs: number }> = [];
    const threeFailures = new Promise<void>((resolve) =>
      c.on('connectFailed', (f) => {
        failures.push(f);
        if (failures.length === 3) resolve();
      }),
    );
    const pending = c.ping();
    pending.catch(() => {});
    await threeFailures;
    expect(failures.map((f) => new URL(f.url).port)).toEqual([refused[0], refused[1], refused[0]].map(String));
    expect(failures.every((f) => f.delayMs >= 0 && f.delayMs < 40)).toBe(true);
    await c.close();
    await expect(pending).rejects.toMatchObject({ kind: 'closed' });
    expect(c.state).toEqual({ status: 'closed', reason: { by: 'client' } });
    await expect(c.connect()).rejects.toMatchObject({ kind: 'closed' });
    expect(timers.created).toBeGreaterThan(3); // the watch saw the client's timers at all
    expect(timers.outstanding()).toBe(0);
  });

  it('close() during a handshake that never completes ends it at once', async () => {
    // Accepts TCP and never answers the upgrade: without an abort, close() would wait for connectTimeoutMs.
    const silent = net.createServer(() => {});
    const held = new Set<net.Socket>();
    silent.on('connection', (sock) => held.add(sock));
    const accepted = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    silent.listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    cleanups.push(async () => {
      for (const sock of held) sock.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const timers = watchTimers();
    cleanups.push(() => timers.restore());
    const c = new HoldlineClient({ urls: `ws://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, connectTimeoutMs: 120_000 });
    const connected = c.connect();
    connected.catch(() => {});
    await accepted;
    await c.close();
    await expect(connected).rejects.toMatchObject({ kind: 'closed' });
    expect(timers.outstanding()).toBe(0);
  });
});
