/**
 * `GET /metrics` (SPEC.md 3.6, issue 11): scraped from a real server and read with a Prometheus
 * text-format parser (parse-prometheus-text-format, not prom-client), the counters move with real
 * REST and WebSocket traffic; who may read it (loopback, or the token once one is set).
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { PromFamily } from 'parse-prometheus-text-format';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { isLoopback } from '../../src/server/metrics.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { JSON_CT } from '../helpers/server.js';
import { WsTestClient, appWithKey, queueOf, rawStalledClient, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function server(config: { metricsToken?: string } = {}, limits: Parameters<typeof startWsServer>[1] = {}): Promise<WsServer> {
  const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
  await engine.start();
  const s = await startWsServer(engine, limits, config);
  cleanups.push(async () => {
    await s.close();
    await engine.close();
  });
  return s;
}

class Scrape {
  constructor(readonly families: PromFamily[]) {}

  family(name: string): PromFamily {
    const f = this.families.find((x) => x.name === name);
    if (f === undefined) throw new Error(`no metric ${name}`);
    return f;
  }

  /** A counter or gauge sample's value (0 when no sample has these labels). */
  value(name: string, labels: Record<string, string> = {}): number {
    const sample = this.family(name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return sample === undefined ? 0 : Number(sample.value);
  }

  /** A histogram's observation count. */
  count(name: string): number {
    return this.family(name).metrics.reduce((n, m) => n + Number(m.count ?? 0), 0);
  }
}

async function scrape(s: WsServer, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await fetch(`${s.url}/metrics`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Scrape(parsePrometheusTextFormat(await res.text()));
}

describe('/metrics', () => {
  it('parses as Prometheus text and its counters move with REST and WebSocket traffic', async () => {
    const s = await server();
    const { server: http } = s;
    const { name: app, key } = await http.createApp();
    expect((await http.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ queue_name: 'q' }) })).status).toBe(201);

    const before = await scrape(s);
    expect(before.family('holdline_http_requests_total').type).toBe('COUNTER');
    expect(before.family('nodejs_eventloop_lag_seconds').type).toBe('GAUGE');
    expect(before.family('process_cpu_user_seconds_total').type).toBe('COUNTER');
    expect(before.family('holdline_append_duration_seconds').type).toBe('HISTOGRAM');
    for (const name of ['holdline_redis_errors_total', 'holdline_redis_reconnects_total', 'holdline_ws_resyncs_total', 'holdline_ws_slow_consumer_closes_total']) {
      expect(before.family(name).type).toBe('COUNTER');
    }
    const postLabels = { method: 'POST', route: '/:app/:queue', status: '201' };

    // Traffic: a live subscriber, three REST posts, one WebSocket publish, a call queue with a waiting caller.
    const c = await WsTestClient.open(s.url, { key });
    cleanups.push(async () => void (await c.close()));
    expect((await c.request({ type: 'subscribe', application: app, queue: 'q' })).type).toBe('subscribed');
    for (let i = 0; i < 3; i++) {
      const res = await http.request(`/${app}/q`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ body: `m${i}`, partition: 1 }) });
      expect(res.status).toBe(201);
    }
    expect((await c.request({ type: 'publish', application: app, queue: 'q', messages: [{ body: 'ws', partition: 1 }] })).type).toBe('published');
    await vi.waitFor(() => expect(c.frames.filter((f) => f.type === 'message' || f.type === 'messages').length).toBeGreaterThan(0));
    const queue = (await (await http.request('/v1/queues', { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ name: 'support' }) })).json()) as { uuid: string };
    expect((await http.request(`/v1/queues/${queue.uuid}/callers`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ number: '6135551234' }) })).status).toBe(201);
    const agent = (await (await http.request('/v1/agents', { method: 'POST', key, headers: JSON_CT, body: '{}' })).json()) as { uuid: string };
    const member = { agent_id: agent.uuid, number: '1001', paused: true, pause_reason: 'lunch' };
    expect((await http.request(`/v1/queues/${queue.uuid}/members`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify(member) })).status).toBe(201);
    expect((await http.request('/nobody/q/x/y', { key })).status).toBe(404);

    // Delivered: the live pushes of the four messages reached the subscription.
    await vi.waitFor(async () => expect((await scrape(s)).value('holdline_messages_delivered_total')).toBeGreaterThanOrEqual(before.value('holdline_messages_delivered_total') + 4));
    const after = await scrape(s);
    expect(after.value('holdline_http_requests_total', postLabels) - before.value('holdline_http_requests_total', postLabels)).toBe(3);
    expect(after.value('holdline_http_requests_total', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(after.value('holdline_messages_appended_total') - before.value('holdline_messages_appended_total')).toBe(4);
    expect(after.count('holdline_append_duration_seconds') - before.count('holdline_append_duration_seconds')).toBe(4);
    expect(after.count('holdline_read_duration_seconds')).toBeGreaterThan(before.count('holdline_read_duration_seconds'));
    expect(after.count('holdline_publish_to_deliver_seconds')).toBeGreaterThanOrEqual(before.count('holdline_publish_to_deliver_seconds') + 4);
    // A labelled histogram: this parser folds its label sets together (it reads unlabelled histograms
    // only), so the family's presence is checked here and its samples through the request counter.
    expect(after.family('holdline_http_request_duration_seconds').type).toBe('HISTOGRAM');
    expect(after.value('holdline_ws_frames_in_total') - before.value('holdline_ws_frames_in_total')).toBe(2);
    expect(after.value('holdline_ws_frames_out_total')).toBeGreaterThanOrEqual(before.value('holdline_ws_frames_out_total') + 3);
    expect(after.value('holdline_ws_connections')).toBe(1);
    expect(after.value('holdline_ws_subscriptions')).toBe(1);
    expect(after.value('holdline_callqueues')).toBe(1);
    expect(after.value('holdline_callqueue_waiting_callers')).toBe(1);
    expect(after.value('holdline_callqueue_longest_wait_seconds')).toBeGreaterThanOrEqual(0);
    expect(after.value('holdline_callqueue_members', { state: 'total' })).toBe(1);
    expect(after.value('holdline_callqueue_members', { state: 'paused' })).toBe(1);
    expect(after.value('holdline_callqueue_members', { state: 'available' })).toBe(0);
    // No label carries an application, queue or path.
    const text = JSON.stringify(after.families);
    expect(text).not.toContain(app);
    expect(text).not.toContain(queue.uuid);

    await c.close();
    await vi.waitFor(async () => expect((await scrape(s)).value('holdline_ws_connections')).toBe(0));
  });

  it('with a token set, is served to that bearer token or the admin key only', async () => {
    const s = await server({ metricsToken: 'scrape-secret' });
    const status = async (authorization?: string): Promise<[number, string | undefined]> => {
      const res = await fetch(`${s.url}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
      if (res.status === 200) return [200, undefined];
      return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
    };
    expect(await status()).toEqual([401, 'auth_required']);
    expect(await status('Bearer wrong')).toEqual([401, 'auth_invalid']);
    expect(await status('Application scrape-secret')).toEqual([401, 'auth_malformed']);
    expect(await status('Admin wrong')).toEqual([401, 'auth_invalid']);
    expect(await status('Bearer scrape-secret')).toEqual([200, undefined]);
    expect(await status(`Admin ${s.server.adminKey}`)).toEqual([200, undefined]);
  });

  it('without a token, is served to loopback clients only', async () => {
    const s = await server();
    expect((await fetch(`${s.url}/metrics`)).status).toBe(200);
    for (const a of ['127.0.0.1', '127.8.9.1', '::1', '0000:0000:0000:0000:0000:0000:0000:0001', '::ffff:127.0.0.1', '0000:0000:0000:0000:0000:ffff:127.0.0.1']) {
      expect(isLoopback(a), a).toBe(true);
    }
    for (const a of ['10.0.0.1', '192.168.1.127', '::2', '::ffff:10.0.0.1', '', undefined]) expect(isLoopback(a), String(a)).toBe(false);
  });

  it('counts Redis connection errors and reconnects when Redis goes away', { timeout: 60_000 }, async () => {
    const s = await server();
    let redis = await startRedisServer();
    const engine = new RedisEngine({ url: redis.url, prefix: freshPrefix('metrics'), sweepIntervalMs: 60_000 });
    await engine.start();
    cleanups.push(async () => {
      await engine.close();
      await redis.stop();
    });
    const before = await scrape(s);
    const errors = (x: Scrape) => x.value('holdline_redis_errors_total', { connection: 'holdline' });
    const reconnects = (x: Scrape) => x.value('holdline_redis_reconnects_total', { connection: 'holdline' });
    await redis.kill();
    await vi.waitFor(async () => {
      const now = await scrape(s);
      expect(reconnects(now)).toBeGreaterThan(reconnects(before));
      expect(errors(now)).toBeGreaterThan(errors(before));
    }, { timeout: 30_000, interval: 100 });
    redis = await startRedisServer({ port: redis.port });
    await vi.waitFor(async () => expect(await engine.ready()).toBe(true), { timeout: 30_000, interval: 100 });
  });

  it('counts 4429 slow-consumer closes', { timeout: 60_000 }, async () => {
    const s = await server({}, { bufferLimitBytes: 128 * 1024, maxBufferBytes: 1024 * 1024, drainTimeoutMs: 600, sampleIntervalMs: 20 });
    const engine = s.server.engine;
    const shop = await appWithKey(engine);
    const q = await queueOf(engine, shop.name, { type: 'public' });
    await engine.append(q, Array.from({ length: 50 }, () => ({ body: 'x'.repeat(8 * 1024), ttl: 3600, partition: 1 })));
    const before = (await scrape(s)).value('holdline_ws_slow_consumer_closes_total');
    // Requests history without ever reading the replies: the direct send path passes the cap.
    const stalled = await rawStalledClient(s.server.port);
    cleanups.push(async () => stalled.destroy());
    for (let i = 0; i < 40; i++) stalled.send({ type: 'history', id: i, application: shop.name, queue: q.name, limit: 50 });
    await vi.waitFor(() => expect(s.endpoint.stats().closed.find((c) => c.principal.kind === 'anonymous')?.code).toBe(4429), { timeout: 30_000, interval: 20 });
    expect((await scrape(s)).value('holdline_ws_slow_consumer_closes_total')).toBe(before + 1);
  });

  it('counts slow-consumer resyncs', { timeout: 60_000 }, async () => {
    // The soft limit far below the hard cap: the subscriber lags, then resumes with a resync.
    const s = await server({}, { bufferLimitBytes: 128 * 1024, maxBufferBytes: 16 * 1024 * 1024, drainTimeoutMs: 30_000, sampleIntervalMs: 20 });
    const engine = s.server.engine;
    const shop = await appWithKey(engine);
    const q = await queueOf(engine, shop.name, { type: 'public' });
    const reason = { reason: 'slow_consumer' };
    const before = (await scrape(s)).value('holdline_ws_resyncs_total', reason);
    const slow = await WsTestClient.open(s.url, { key: shop.key });
    cleanups.push(async () => void (await slow.close()));
    expect((await slow.request({ type: 'subscribe', application: shop.name, queue: q.name })).type).toBe('subscribed');
    const lagging = () => s.endpoint.stats().connections.find((c) => c.subscriptions.length > 0)?.lagging ?? false;
    slow.socket.pause();
    for (let published = 0; !lagging(); published += 25) {
      expect(published).toBeLessThan(5000);
      await engine.append(q, Array.from({ length: 25 }, () => ({ body: 'x'.repeat(8 * 1024), ttl: 3600, partition: 1 })));
      await new Promise((resolve) => setImmediate(resolve));
    }
    slow.socket.resume();
    await slow.until(() => slow.frames.some((f) => f.type === 'resync'), 'resync', 30_000);
    expect((await scrape(s)).value('holdline_ws_resyncs_total', reason)).toBe(before + 1);
  });
});
