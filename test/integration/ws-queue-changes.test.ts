/**
 * What queue changes do to live subscriptions (protocol/websocket.md 4.4), over real sockets on both
 * engines: a deleted queue ends every subscription to it with an unsolicited `unsubscribed`
 * (`queue_deleted`), a change of `type`/`principles` ends those of connections that may no longer
 * read it (`access_revoked`), and no `message` frame of those partitions follows. A queue deleted
 * and created again under the same name while sockets followed it delivers to new subscriptions,
 * gaplessly (its hub state is dropped on deletion).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import type { Engine, QueueMeta } from '../../src/engine/types.js';
import { engineFactories } from '../helpers/engines.js';
import { FORM } from '../helpers/server.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

type Unsubscribed = Extract<ServerFrame, { type: 'unsubscribed' }>;

describe.each(engineFactories)('ws: queue changes end subscriptions ($name engine)', (factory) => {
  let engine: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  let other: { name: string; key: string };
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = await factory.create();
    s = await startWsServer(engine, { heartbeatMs: 60_000 });
    shop = await appWithKey(engine);
    other = await appWithKey(engine);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await s.close();
    await engine.close();
  });

  async function open(key?: string): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, key === undefined ? {} : { key });
    clients.push(c);
    return c;
  }

  const subscribe = (q: QueueMeta, partitions: number[], extra: { since?: number } = {}) =>
    ({ type: 'subscribe' as const, application: q.application, queue: q.name, partitions, ...extra });

  async function publish(q: QueueMeta, bodies: string[], partition = 1): Promise<void> {
    const res = await s.server.request(`/${q.application}/${q.name}`, {
      method: 'POST',
      key: shop.key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: bodies.map((body) => ({ body, partition })) }),
    });
    expect(res.status).toBe(201);
  }

  async function rest(method: string, path: string, form?: Record<string, string>): Promise<number> {
    const res = await s.server.request(path, { method, key: shop.key, ...(form === undefined ? {} : { headers: FORM, body: new URLSearchParams(form).toString() }) });
    await res.arrayBuffer();
    return res.status;
  }

  /** The unsolicited `unsubscribed` of that queue, and what the client got of it before and after. */
  async function ending(c: WsTestClient, q: QueueMeta): Promise<{ frame: Unsubscribed; before: string[]; after: ServerFrame[] }> {
    const frame = (await c.waitFor((f) => f.type === 'unsubscribed' && f.queue === q.name && f.id === undefined, `unsubscribed of ${q.name}`)) as Unsubscribed;
    const at = c.frames.indexOf(frame);
    const bodies = (frames: ServerFrame[]) => frames.flatMap((f) => (f.type === 'message' && f.queue === q.name ? [String(f.body)] : []));
    return { frame, before: bodies(c.frames.slice(0, at)), after: c.frames.slice(at + 1).filter((f) => f.type === 'message' && f.queue === q.name) };
  }

  it('deleting a queue ends every subscription to it with queue_deleted; nothing of it follows; other queues go on', async () => {
    const q = await queueOf(engine, shop.name, { partitions: 3, type: 'public' });
    const kept = await queueOf(engine, shop.name);
    const owner = await open(shop.key);
    const anonymous = await open();
    expect(await owner.request(subscribe(q, [1, 3]))).toMatchObject({ type: 'subscribed' });
    expect(await owner.request(subscribe(kept, [1]))).toMatchObject({ type: 'subscribed' });
    expect(await anonymous.request(subscribe(q, [2]))).toMatchObject({ type: 'subscribed' });
    await publish(q, ['a', 'b']);
    await owner.until(() => owner.messages({ queue: q.name }).length === 2, 'two messages');

    // Publishes racing the deletion: each either arrives before the `unsubscribed`, or not at all.
    const producer = await open(shop.key);
    for (let i = 0; i < 20; i++) producer.send({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: `r${i}`, partition: 1 }] });
    expect(await rest('DELETE', `/${shop.name}/${q.name}`)).toBe(200);

    const o = await ending(owner, q);
    expect(o.frame).toEqual({ type: 'unsubscribed', application: shop.name, queue: q.name, partitions: [1, 3], reason: 'queue_deleted' });
    const a = await ending(anonymous, q);
    expect(a.frame).toEqual({ type: 'unsubscribed', application: shop.name, queue: q.name, partitions: [2], reason: 'queue_deleted' });
    // Every racing publish is answered (published, or queue_not_found once the queue is gone).
    await producer.until(() => producer.frames.filter((f) => f.type === 'published' || f.type === 'error').length === 20, 'publish replies');
    // Whatever arrived, arrived in order and before the end.
    expect(o.before.slice(0, 2)).toEqual(['a', 'b']);
    expect(o.before.slice(2)).toEqual(o.before.slice(2).sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));

    await publish(kept, ['still']);
    await owner.until(() => owner.messages({ queue: kept.name }).length === 1, 'the other queue goes on');
    await s.endpoint.settled();
    expect(o.after).toEqual([]);
    expect(owner.frames.slice(owner.frames.indexOf(o.frame) + 1).filter((f) => f.type === 'message' && f.queue === q.name)).toEqual([]);
    // Nothing is left of the deleted queue's subscriptions.
    const stats = s.endpoint.stats();
    expect(stats.connections.flatMap((c) => c.subscriptions).filter((x) => x.queue === q.name)).toEqual([]);
    // Unsubscribing it now is a no-op, as for any partition not followed.
    expect(await owner.request({ type: 'unsubscribe', application: shop.name, queue: q.name })).toMatchObject({ type: 'unsubscribed', partitions: [] });
  });

  it('a batch subscription (messages frames) ends the same way: nothing of the queue after unsubscribed', async () => {
    const q = await queueOf(engine, shop.name, { partitions: 2 });
    const c = await open(shop.key);
    expect(await c.request({ ...subscribe(q, [1, 2]), batch: true })).toMatchObject({ type: 'subscribed' });
    await publish(q, ['a', 'b', 'c']);
    const batched = () => c.frames.flatMap((f) => (f.type === 'messages' && f.queue === q.name ? f.messages.map((m) => String(m.body)) : []));
    await c.until(() => batched().length === 3, 'three batched messages');
    const producer = await open(shop.key);
    for (let i = 0; i < 20; i++) producer.send({ type: 'publish', application: shop.name, queue: q.name, messages: [{ body: `r${i}`, partition: 2 }] });
    expect(await rest('DELETE', `/${shop.name}/${q.name}`)).toBe(200);
    const end = (await c.next('unsubscribed')) as Unsubscribed;
    expect(end).toEqual({ type: 'unsubscribed', application: shop.name, queue: q.name, partitions: [1, 2], reason: 'queue_deleted' });
    await producer.until(() => producer.frames.filter((f) => f.type === 'published' || f.type === 'error').length === 20, 'publish replies');
    await s.endpoint.settled();
    expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(c.frames.slice(c.frames.indexOf(end) + 1).filter((f) => (f.type === 'messages' || f.type === 'message') && f.queue === q.name)).toEqual([]);
    expect(batched().slice(0, 3)).toEqual(['a', 'b', 'c']);
  });

  it('a change of type or principles ends the subscriptions of connections that may no longer read: access_revoked', async () => {
    const q = await queueOf(engine, shop.name, { type: 'public', principles: [`app:${other.name}`] });
    const owner = await open(shop.key);
    const listed = await open(other.key);
    const anonymous = await open();
    for (const c of [owner, listed, anonymous]) expect(await c.request(subscribe(q, [1]))).toMatchObject({ type: 'subscribed' });
    await publish(q, ['m1']);
    for (const c of [owner, listed, anonymous]) await c.until(() => c.messages({ queue: q.name }).length === 1, 'm1');

    // Public → user: anonymous readers lose it; the listed application still reads it.
    expect(await rest('PUT', `/${shop.name}/${q.name}`, { type: 'user' })).toBe(200);
    const anon = await ending(anonymous, q);
    expect(anon.frame).toEqual({ type: 'unsubscribed', application: shop.name, queue: q.name, partitions: [1], reason: 'access_revoked' });
    await s.endpoint.settled();
    await publish(q, ['m2']);
    for (const c of [owner, listed]) await c.until(() => c.messages({ queue: q.name }).length === 2, 'm2');

    // The application is no longer listed: it loses it too; the owner never does.
    expect(await rest('PUT', `/${shop.name}/${q.name}`, { principles: '' })).toBe(200);
    const lst = await ending(listed, q);
    expect(lst.frame).toMatchObject({ partitions: [1], reason: 'access_revoked' });
    await s.endpoint.settled();
    await publish(q, ['m3']);
    await owner.until(() => owner.messages({ queue: q.name }).length === 3, 'm3');
    expect(owner.messages({ queue: q.name }).map((m) => m.body)).toEqual(['m1', 'm2', 'm3']);
    expect(owner.frames.some((f) => f.type === 'unsubscribed')).toBe(false);
    // Still nothing after the end for the others, and they are refused now.
    await s.endpoint.settled();
    expect(anon.after).toEqual([]);
    expect(anonymous.messages({ queue: q.name }).map((m) => m.body)).toEqual(['m1']);
    expect(listed.messages({ queue: q.name }).map((m) => m.body)).toEqual(['m1', 'm2']);
    expect(await listed.request(subscribe(q, [1]))).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
    // An update that changes nothing of who may read leaves every subscription alone.
    expect(await rest('PUT', `/${shop.name}/${q.name}`, { partitions: '2' })).toBe(200);
    await s.endpoint.settled();
    await publish(q, ['m4']);
    await owner.until(() => owner.messages({ queue: q.name }).length === 4, 'm4');
    expect(owner.frames.some((f) => f.type === 'unsubscribed')).toBe(false);
  });

  it('a queue deleted and created again while sockets follow it: new subscriptions get every new message, in order', async () => {
    const q = await queueOf(engine, shop.name, { partitions: 2 });
    const a = await open(shop.key);
    const b = await open(shop.key);
    expect(await a.request(subscribe(q, [1, 2]))).toMatchObject({ type: 'subscribed' });
    expect(await b.request(subscribe(q, [1]))).toMatchObject({ type: 'subscribed' });
    await publish(q, ['o1', 'o2', 'o3', 'o4', 'o5']);
    await a.until(() => a.messages({ queue: q.name }).length === 5, 'old messages');

    expect(await rest('DELETE', `/${shop.name}/${q.name}`)).toBe(200);
    expect(await rest('POST', `/${shop.name}`, { queue_name: q.name, partitions: '2', consistency: 'weak' })).toBe(201);
    await ending(a, q);
    await ending(b, q);
    await s.endpoint.settled();

    // Only new, on a connection that followed it and on a fresh one; and `since` from the start.
    const c = await open(shop.key);
    const from = { a: a.frames.length, b: b.frames.length, c: c.frames.length };
    expect(await a.request(subscribe(q, [1, 2]))).toMatchObject({ type: 'subscribed' });
    expect(await c.request(subscribe(q, [1]))).toMatchObject({ type: 'subscribed' });
    await publish(q, ['n1', 'n2']);
    expect(await b.request(subscribe(q, [1], { since: 0 }))).toMatchObject({ type: 'subscribed' });
    await publish(q, ['n3', 'n4', 'n5']);
    await publish(q, ['p2'], 2);
    const newOf = (x: WsTestClient, at: number, partition = 1) =>
      x.frames.slice(at).flatMap((f) => (f.type === 'message' && f.queue === q.name && f.partition === partition ? [f] : []));
    for (const [x, at] of [[a, from.a], [b, from.b], [c, from.c]] as const) {
      await x.until(() => newOf(x, at).length === 5, 'the recreated queue delivers');
      const got = newOf(x, at);
      expect(got.map((m) => m.body)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
      // Gapless: consecutive seqs (the new queue's, whether they start over or not).
      for (let i = 1; i < got.length; i++) expect(got[i]!.seq).toBe(got[i - 1]!.seq + 1);
    }
    await a.until(() => newOf(a, from.a, 2).length === 1, 'partition 2');
    expect(newOf(a, from.a, 2).map((m) => m.body)).toEqual(['p2']);
  });

  it('a subscribe racing the deletion either fails with queue_not_found or is subscribed then unsubscribed; the connection goes on', async () => {
    const c = await open(shop.key);
    for (let round = 0; round < 10; round++) {
      const q = await queueOf(engine, shop.name, { partitions: 2 });
      await engine.append(q, [{ body: 'x', ttl: 60, partition: 1 }]);
      const id = `race-${round}`;
      c.send({ ...subscribe(q, [1, 2], { since: 0 }), id });
      // Let the frame reach the server for some rounds, not for others.
      for (let i = 0; i < round; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(await engine.deleteQueue(shop.name, q.name)).toBe(true);
      const reply = await c.waitFor((f) => 'id' in f && f.id === id, 'subscribe reply');
      if (reply.type === 'error') {
        expect(reply.error.code).toBe('queue_not_found');
      } else {
        expect(reply.type).toBe('subscribed');
        const end = await ending(c, q);
        expect(c.frames.indexOf(end.frame)).toBeGreaterThan(c.frames.indexOf(reply));
        expect(end.frame).toMatchObject({ partitions: [1, 2], reason: 'queue_deleted' });
      }
      expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    }
    await s.endpoint.settled();
    expect(s.endpoint.stats().connections.flatMap((x) => x.subscriptions)).toEqual([]);
  });
});

/**
 * The deletion at exact points of a subscribe, through an engine whose `subscribe` (the hub
 * acquiring the partition) or `read` (the first catch-up read, before the `subscribed` reply) runs
 * a hook first. The hook returns once this node's WebSocket endpoint has heard of the change.
 */
describe.each(engineFactories)('ws: a queue deleted in the middle of a subscribe ($name engine)', (factory) => {
  let base: Engine;
  let s: WsServer;
  let shop: { name: string; key: string };
  /** Runs before the `skip`+1-th call of `on` from now. */
  let hook: { on: 'subscribe' | 'read'; skip?: number; run: () => Promise<void> } | null = null;
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    base = await factory.create();
    const hooked = new Proxy(base, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        const fn = value as (...args: unknown[]) => unknown;
        if (prop === 'subscribe' || prop === 'read') {
          return async (...args: unknown[]) => {
            const h = hook;
            if (h !== null && h.on === prop && (h.skip ?? 0) > 0) h.skip! -= 1;
            else if (h !== null && h.on === prop) {
              hook = null;
              await h.run();
            }
            return fn.apply(target, args);
          };
        }
        return fn.bind(target);
      },
    });
    s = await startWsServer(hooked, { heartbeatMs: 60_000 });
    shop = await appWithKey(base);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await s.close();
    await base.close();
  });

  /** Runs `change`, and resolves once the engine announced the queue's deletion here. */
  async function heard(q: QueueMeta, change: () => Promise<void>): Promise<void> {
    let stop = (): void => undefined;
    const deleted = new Promise<void>((resolve) => {
      stop = base.watchMeta((e) => {
        if (e.kind === 'queue' && e.queue === q.name && e.deleted) resolve();
      });
    });
    await change();
    await deleted;
    stop();
  }

  async function setup(): Promise<{ c: WsTestClient; q: QueueMeta }> {
    const c = await WsTestClient.open(s.url, { key: shop.key });
    clients.push(c);
    const q = await queueOf(base, shop.name, { partitions: 2 });
    await base.append(q, [{ body: 'old', ttl: 60, partition: 1 }]);
    return { c, q };
  }

  const sub = (q: QueueMeta) => ({ type: 'subscribe' as const, application: q.application, queue: q.name, partitions: [1, 2], since: 0 });

  it('deleted while the hub acquires the partitions: queue_not_found, nothing left behind', async () => {
    const { c, q } = await setup();
    hook = { on: 'subscribe', run: () => heard(q, async () => void (await base.deleteQueue(shop.name, q.name))) };
    expect(await c.request(sub(q))).toMatchObject({ type: 'error', error: { code: 'queue_not_found' } });
    expect(hook).toBeNull();
    await s.endpoint.settled();
    expect(s.endpoint.stats()).toMatchObject({ livePartitions: 0 });
    expect(s.endpoint.stats().connections.flatMap((x) => x.subscriptions)).toEqual([]);
  });

  it('deleted and created again while the hub acquires: the subscribe starts over on the new queue', async () => {
    const { c, q } = await setup();
    hook = {
      on: 'subscribe',
      run: () =>
        heard(q, async () => {
          await base.deleteQueue(shop.name, q.name);
          expect(await base.createQueue(q)).toBe(true);
        }),
    };
    expect(await c.request(sub(q))).toMatchObject({ type: 'subscribed' });
    expect(hook).toBeNull();
    await base.append(q, [{ body: 'new1', ttl: 60, partition: 1 }, { body: 'new2', ttl: 60, partition: 1 }]);
    await c.until(() => c.messages({ queue: q.name }).length === 2, 'the new queue delivers');
    expect(c.messages({ queue: q.name }).map((m) => m.body)).toEqual(['new1', 'new2']);
    expect(c.frames.some((f) => f.type === 'unsubscribed')).toBe(false);
  });

  it('deleted before the subscribed reply is out: subscribed, then unsubscribed (queue_deleted), no message', async () => {
    const { c, q } = await setup();
    // Skipped: the hub's two base reads (one per partition), while acquiring.
    hook = { on: 'read', skip: 2, run: () => heard(q, async () => void (await base.deleteQueue(shop.name, q.name))) };
    const reply = await c.request(sub(q));
    expect(reply).toMatchObject({ type: 'subscribed' });
    expect(hook).toBeNull();
    const end = await c.next('unsubscribed');
    expect(end).toEqual({ type: 'unsubscribed', application: shop.name, queue: q.name, partitions: [1, 2], reason: 'queue_deleted' });
    expect(c.frames.indexOf(end)).toBeGreaterThan(c.frames.indexOf(reply));
    expect(await c.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(c.messages({ queue: q.name })).toEqual([]);
    await s.endpoint.settled();
    expect(s.endpoint.stats().connections.flatMap((x) => x.subscriptions)).toEqual([]);
  });
});
