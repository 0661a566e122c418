/**
 * Backpressure (protocol/websocket.md section 7) with real sockets: a stalled subscriber (raw TCP
 * that never reads) does not take anything from another subscriber of the same queue, the server's
 * buffer for it stays under the documented bound, and it gets the documented signal; a slow but
 * alive subscriber gets `resync` and then every message exactly once; the hard cap drops a socket
 * (1006) on the fan-out path and closes it with 4429 on the direct send path.
 *
 * Limits are scaled down (soft 128 KiB, hard 1 MiB, drain timeout 600 ms) so the tests are short.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import type { ConnectionStats, WebSocketLimits } from '../../src/server/ws/index.js';
import { engineFactories } from '../helpers/engines.js';
import { WsTestClient, appWithKey, queueOf, rawStalledClient, readServerFrames, startWsServer } from '../helpers/ws-client.js';
import type { StalledClient, WsServer } from '../helpers/ws-client.js';

const BODY = 'x'.repeat(8 * 1024);
/** One encoded message frame: the 8 KiB body plus its envelope. */
const FRAME_SLACK = BODY.length + 1024;

const LIMITS: Partial<WebSocketLimits> = {
  bufferLimitBytes: 128 * 1024,
  maxBufferBytes: 1024 * 1024,
  drainTimeoutMs: 600,
  sampleIntervalMs: 20,
};

const STALL_LIMITS: Partial<WebSocketLimits> = { ...LIMITS, maxBufferBytes: 4 * 1024 * 1024, drainTimeoutMs: 2000 };

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe.each(engineFactories)('ws backpressure ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let q: QueueMeta;
  const cleanup: Array<() => unknown> = [];

  async function start(limits: Partial<WebSocketLimits>): Promise<void> {
    s = await startWsServer(engine, limits);
  }

  beforeEach(async () => {
    engine = await factory.create();
    shop = await appWithKey(engine);
    q = await queueOf(engine, shop.name, { type: 'public' });
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0)) await fn();
    await s.close();
    await engine.close();
  });

  /** The anonymous connection (the stalled client's), if still open. */
  const stalledStats = (): ConnectionStats | undefined => s.endpoint.stats().connections.find((c) => c.principal.kind === 'anonymous');
  const stalledClose = () => s.endpoint.stats().closed.find((c) => c.principal.kind === 'anonymous');

  async function stalledSubscriber(): Promise<StalledClient> {
    const stalled = await rawStalledClient(s.server.port);
    cleanup.push(() => stalled.destroy());
    stalled.send({ type: 'subscribe', id: 1, application: shop.name, queue: q.name });
    // Subscribed once the server reports the partition live for it.
    for (let i = 0; i < 500 && stalledStats()?.subscriptions[0]?.state !== 'live'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stalledStats()?.subscriptions[0]?.state).toBe('live');
    return stalled;
  }

  /** Publishes `n` 8 KiB messages in batches, letting I/O run between them; returns the largest buffer seen for the stalled socket. */
  async function publish(n: number, observe: () => void = () => undefined): Promise<void> {
    for (let i = 0; i < n; i += 25) {
      await engine.append(q, Array.from({ length: Math.min(25, n - i) }, () => ({ body: BODY, ttl: 3600, partition: 1 })));
      observe();
      await turn();
    }
  }

  it('a stalled subscriber: lagging, bounded buffer, then 4429; the other subscriber gets everything', { timeout: 60_000 }, async () => {
    // More room than LIMITS for the healthy subscriber, which reads in this same process: on a
    // machine loaded by the rest of the suite it once fell 1 MiB / 600 ms behind and was dropped.
    await start(STALL_LIMITS);
    const healthy = await WsTestClient.open(s.url, { key: shop.key });
    cleanup.push(() => healthy.close());
    expect((await healthy.request({ type: 'subscribe', application: shop.name, queue: q.name })).type).toBe('subscribed');
    await stalledSubscriber();

    let maxBuffered = 0;
    let sawLagging = false;
    const observe = (): void => {
      const st = stalledStats();
      if (st === undefined) return;
      maxBuffered = Math.max(maxBuffered, st.buffered);
      sawLagging ||= st.lagging;
    };
    const N = 1500;
    await publish(N, observe);
    await healthy.until(() => healthy.messages().length >= N, 'every message at the healthy subscriber', 30_000);
    expect(healthy.messages().map((m) => m.seq)).toEqual(range(1, N));

    // The stalled one ends lagging-then-4429 (or, had the buffer reached the cap first, 1006).
    for (let i = 0; i < 500 && stalledClose() === undefined; i++) {
      observe();
      await new Promise((r) => setTimeout(r, 10));
    }
    const closed = stalledClose();
    expect(closed).toBeDefined();
    expect([4429, 1006]).toContain(closed!.code);
    if (closed!.code === 4429) {
      expect(closed!.reason).toBe('slow_consumer');
      expect(sawLagging).toBe(true);
    }
    expect(maxBuffered).toBeLessThanOrEqual(STALL_LIMITS.maxBufferBytes! + FRAME_SLACK);
    expect(healthy.closeEvent).toBeNull();
  });

  it('the hard cap on the fan-out path: uWS drops the socket (1006) rather than skip a message', { timeout: 60_000 }, async () => {
    // A soft limit above the hard cap: the sampler never intervenes, only uWS's maxBackpressure.
    await start({ ...LIMITS, bufferLimitBytes: 64 * 1024 * 1024 });
    const healthy = await WsTestClient.open(s.url, { key: shop.key });
    cleanup.push(() => healthy.close());
    await healthy.request({ type: 'subscribe', application: shop.name, queue: q.name });
    await stalledSubscriber();
    let maxBuffered = 0;
    const N = 1000;
    await publish(N, () => (maxBuffered = Math.max(maxBuffered, stalledStats()?.buffered ?? 0)));
    await healthy.until(() => healthy.messages().length >= N, 'every message at the healthy subscriber', 30_000);
    expect(healthy.messages().map((m) => m.seq)).toEqual(range(1, N));
    for (let i = 0; i < 500 && stalledClose() === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stalledClose()?.code).toBe(1006);
    expect(maxBuffered).toBeLessThanOrEqual(LIMITS.maxBufferBytes! + FRAME_SLACK);
  });

  it('the hard cap on the direct send path: a client that requests without reading is closed with 4429', { timeout: 60_000 }, async () => {
    await start(LIMITS);
    await engine.append(q, Array.from({ length: 50 }, () => ({ body: BODY, ttl: 3600, partition: 1 })));
    const stalled = await rawStalledClient(s.server.port);
    cleanup.push(() => stalled.destroy());
    for (let i = 0; i < 40; i++) stalled.send({ type: 'history', id: i, application: shop.name, queue: q.name, limit: 50 });
    let maxBuffered = 0;
    for (let i = 0; i < 1000 && stalledClose() === undefined; i++) {
      maxBuffered = Math.max(maxBuffered, stalledStats()?.buffered ?? 0);
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(stalledClose()).toMatchObject({ code: 4429, reason: 'slow_consumer' });
    expect(maxBuffered).toBeLessThanOrEqual(LIMITS.maxBufferBytes!);

    // What the client sees when it reads again (websocket.md 7): the server's close frame queued
    // behind the unsent data, which the transport discards when it closes: what the network held,
    // then the end of the connection — 1006 — unless everything had left the server (then 4429).
    const chunks: Buffer[] = [stalled.afterHead];
    const ended = new Promise<void>((resolve) => stalled.socket.once('close', () => resolve()));
    stalled.socket.on('data', (d: Buffer) => chunks.push(d));
    stalled.socket.on('error', () => {});
    stalled.socket.resume();
    await ended;
    const seen = readServerFrames(Buffer.concat(chunks), false);
    expect(seen.opcodes.length).toBeGreaterThan(0);
    if (seen.closeCode === null) expect(seen.opcodes).not.toContain(8);
    else expect(seen.closeCode).toBe(4429);
  });

  it('a slow but alive subscriber: resync (slow_consumer), then every message exactly once, in order', { timeout: 60_000 }, async () => {
    // A hard cap far above the soft limit: the sampler must see it lagging before uWS drops it.
    await start({ ...LIMITS, maxBufferBytes: 16 * 1024 * 1024, drainTimeoutMs: 30_000 });
    const slow = await WsTestClient.open(s.url, { key: shop.key });
    cleanup.push(() => slow.close());
    expect((await slow.request({ type: 'subscribe', application: shop.name, queue: q.name })).type).toBe('subscribed');
    const mine = () => s.endpoint.stats().connections.find((c) => c.subscriptions.length > 0);

    slow.socket.pause();
    let published = 0;
    while (!(mine()?.lagging ?? false)) {
      expect(mine(), 'the slow subscriber is still connected').toBeDefined();
      expect(published).toBeLessThan(5000);
      await publish(25);
      published += 25;
    }
    // More while it lags: these come from storage after the resync.
    await publish(100);
    published += 100;
    slow.socket.resume();

    await slow.until(() => slow.frames.some((f) => f.type === 'resync'), 'resync', 30_000);
    await publish(50);
    published += 50;
    await slow.until(() => slow.messages().length >= published, 'every message', 30_000);
    expect(slow.messages().map((m) => m.seq)).toEqual(range(1, published));
    const resync = slow.frames.find((f) => f.type === 'resync');
    expect(resync).toEqual({ type: 'resync', application: shop.name, queue: q.name, partition: 1, reason: 'slow_consumer', recovered: true });
    // The resync sits between what was buffered before lagging and what storage supplied after.
    const at = slow.frames.indexOf(resync!);
    const before = slow.frames.slice(0, at).filter((f) => f.type === 'message').length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(published);
    expect(mine()?.subscriptions[0]?.state).toBe('live');
  });
});
