/**
 * An agent's live view across lost connections (issue 4: "reconnect in the middle of a burst of
 * changes: the view converges, with no missing update"), on both engines. The SDK reaches the
 * server through a TCP proxy the test cuts (both sides destroyed, no close frame: what a network
 * loss looks like) while REST keeps changing the queue from several workers.
 *
 *   - within the retained changes, the view resumes with since_seq: it applies every update
 *     exactly once, in seq order, across the cuts, and never needs a second snapshot;
 *   - offline for longer than the retention, it gets a fresh snapshot and converges all the same.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HoldlineClient, type CallQueueView } from '../../src/client/index.js';
import type { CallStore } from '../../src/engine/call-types.js';
import type { Engine } from '../../src/engine/types.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { engineFactories } from '../helpers/engines.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';

/** A TCP proxy to `target` whose connections the test can cut, and which can refuse new ones. */
class CuttableProxy {
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private refusing = false;
  cuts = 0;

  private constructor(readonly server: net.Server) {}

  static async start(target: number): Promise<CuttableProxy> {
    const server = net.createServer();
    const proxy = new CuttableProxy(server);
    server.on('connection', (client) => {
      if (proxy.refusing) return void client.destroy();
      const upstream = net.connect(target, '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [client, upstream];
      proxy.pairs.add(pair);
      const drop = (): void => {
        proxy.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Destroys every open connection, both sides. */
  cut(): void {
    this.cuts++;
    for (const [a, b] of [...this.pairs]) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  refuse(on: boolean): void {
    this.refusing = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const WORKERS = 4;

describe.each(engineFactories.map((e, i) => ({ ...e, calls: callStoreFactories[i]! })))('an agent view across lost connections ($name)', (factory) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(retention?: number) {
    const engine: Engine = await factory.create();
    cleanup.push(() => engine.close());
    const store: CallStore = await factory.calls.open(retention === undefined ? {} : { changeRetention: retention });
    cleanup.push(() => store.close());
    const s: TestServer = await startTestServer(engine, {}, { mounts: [createWebSocketEndpoint().mount], callStore: store });
    cleanup.push(() => s.close());
    const { name, key } = await s.createApp();
    const rest = (method: string, path: string, body?: unknown) => call(s, key, method, path, body);
    const queue = (await rest('POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const agent = (await rest('POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
    expect((await rest('POST', `/v1/queues/${queue}/members`, { agent_id: agent, number: '1001' })).status).toBe(201);
    const token = (await rest('POST', `/v1/agents/${agent}/tokens`, { ttl: 600 })).body.token as string;
    const proxy = await CuttableProxy.start(s.port);
    cleanup.push(() => proxy.close());
    const client = new HoldlineClient({ urls: `ws://127.0.0.1:${proxy.port}/v1/ws`, token, backoff: { baseMs: 10, maxMs: 50 } });
    cleanup.push(() => client.close());
    const view = client.callQueue(queue);
    const log = { updates: [] as number[], snapshots: [] as number[], subscribed: [] as boolean[], resubscribing: [] as string[] };
    view.on('change', (c) => (c.kind === 'update' ? log.updates : log.snapshots).push(c.seq));
    view.on('subscribed', (sub) => log.subscribed.push(sub.recovered));
    view.on('resubscribing', (r) => log.resubscribing.push(r.detail));
    await view.ready;
    /** Some PUTs of a burst repeat a caller's priority, which is no change: ask the store. */
    const seqNow = async (): Promise<number> => (await store.snapshot(name, queue)).seq;
    return { s, rest, queue, proxy, client, view, log, seqNow };
  }

  /** `count` REST changes from WORKERS concurrent workers: joins, priority changes, leaves. */
  async function burst(rest: (m: string, p: string, b?: unknown) => Promise<{ status: number; body: any }>, queue: string, count: number): Promise<void> {
    const waiting: string[] = [];
    let left = count;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; left > 0; i++) {
        left--;
        const pick = waiting.length > 3 ? waiting.splice((i * 7 + w) % waiting.length, 1)[0] : undefined;
        if (pick === undefined || i % 3 === 0) {
          const r = await rest('POST', `/v1/queues/${queue}/callers`, { number: '6135550000', priority: (i + w) % 4 });
          expect(r.status).toBe(201);
          waiting.push(r.body.uuid as string);
          if (pick !== undefined) waiting.push(pick);
        } else if (i % 3 === 1) {
          expect((await rest('PUT', `/v1/queues/${queue}/callers/${pick}`, { priority: (i * 5 + w) % 7 })).status).toBe(200);
          waiting.push(pick);
        } else {
          expect((await rest('DELETE', `/v1/queues/${queue}/callers/${pick}?reason=abandoned`)).status).toBe(204);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  }

  function reach(view: CallQueueView, seq: number): Promise<void> {
    if ((view.seq ?? -1) >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`view stuck at seq ${view.seq}, expected ${seq}`));
      }, 20_000);
      const off = view.on('change', () => {
        if ((view.seq ?? -1) < seq) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** The view's callers (all statuses, in list order) are REST's. */
  async function expectSameAsRest(t: Awaited<ReturnType<typeof setup>>): Promise<void> {
    const listed = await t.rest('GET', `/v1/queues/${t.queue}/callers`);
    expect(listed.status).toBe(200);
    expect(t.view.callers.map((c) => [c.uuid, c.position, c.priority])).toEqual(
      (listed.body as Array<{ uuid: string; position: number | null; priority: number }>).map((c) => [c.uuid, c.position, c.priority]),
    );
  }

  it('cut twice during a burst: every update applied once, in order, no second snapshot', { timeout: 60_000 }, async () => {
    const t = await setup();
    const s0 = t.view.seq!;
    const N = 240;
    // Cut when the view has applied a third, then two thirds of the burst (from inside the
    // listener, so the cut comes while the burst goes on, not after it).
    const cutsAt = new Set([s0 + N / 3, s0 + (2 * N) / 3]);
    t.view.on('change', (c) => void (cutsAt.delete(c.seq) && t.proxy.cut()));
    const resumedTwice = new Promise<void>((resolve) => t.view.on('subscribed', () => void (t.log.subscribed.length === 3 && resolve())));
    await burst(t.rest, t.queue, N);
    const last = await t.seqNow();
    await resumedTwice;
    await reach(t.view, last);

    expect(t.proxy.cuts).toBe(2);
    expect(t.log.snapshots).toEqual([s0]);
    expect(t.log.updates).toEqual(Array.from({ length: last - s0 }, (_, i) => s0 + 1 + i));
    expect(t.log.subscribed).toEqual([false, true, true]);
    expect(t.log.resubscribing).toEqual([]);
    await expectSameAsRest(t);
  });

  it('offline for longer than the retention: a fresh snapshot, and the view converges', { timeout: 60_000 }, async () => {
    const t = await setup(10);
    const s0 = t.view.seq!;
    await burst(t.rest, t.queue, 20);
    const before = await t.seqNow();
    await reach(t.view, before);
    t.proxy.refuse(true);
    t.proxy.cut();
    await burst(t.rest, t.queue, 40); // while offline; the store keeps 10 changes
    const offline = await t.seqNow();
    expect(offline - before).toBeGreaterThan(10);
    const reconnected = new Promise<void>((resolve) => t.view.once('subscribed', () => resolve()));
    t.proxy.refuse(false);
    await reconnected;
    await burst(t.rest, t.queue, 20);
    const last = await t.seqNow();
    await reach(t.view, last);

    expect(t.log.subscribed).toEqual([false, false]);
    expect(t.log.snapshots).toEqual([s0, offline]);
    // Before the cut and after the snapshot: every update, in order.
    const run = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + 1 + i);
    expect(t.log.updates).toEqual([...run(s0, before), ...run(offline, last)]);
    await expectSameAsRest(t);
  });
});
