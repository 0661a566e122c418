/**
 * The interleavings of a call-queue join that ordinary timing rarely produces (protocol/websocket.md
 * 5.1-5.2; src/server/ws/callqueue-subscription.ts), forced on both engines by a call store whose
 * reads and live feed the test can hold back:
 *   - changes made after a subscriber's storage read but before its reply: they reach it from its
 *     recovery buffer, once, in order, before anything live;
 *   - changes already in a subscriber's snapshot but announced to the node only later: they are
 *     not delivered to it a second time;
 *   - the feed's `resync`, and an announcement that skips a seq (a lost one): every follower gets
 *     a fresh snapshot, and updates continue after it with no gap.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerFrame } from '../../src/codec/index.js';
import { CallQueueFollower } from '../helpers/call-follower.js';
import type { CallQueueEvent, CallQueueListener, CallStore } from '../../src/engine/call-types.js';
import type { Engine } from '../../src/engine/types.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { engineFactories } from '../helpers/engines.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Controls over a store's subscriber reads (snapshot, changesSince) and live feed. */
interface Gates {
  /** Armed: the next read is performed, then its answer held until `release`. */
  read: { held: Deferred; release: Deferred } | null;
  /** True: live events are kept in `events` instead of being delivered. */
  holdEvents: boolean;
  events: Array<{ event: CallQueueEvent; deliver: () => void }>;
  /** Resolves once `n` events are held (the Redis feed announces asynchronously). */
  held(n: number): Promise<void>;
  /** The live listeners the node registered (the call-queue hub's). */
  listeners: CallQueueListener[];
}

function gatedStore(store: CallStore): { store: CallStore; gates: Gates } {
  const waiters: Array<() => void> = [];
  const gates: Gates = {
    read: null,
    holdEvents: false,
    events: [],
    listeners: [],
    held: (n) =>
      new Promise((resolve) => {
        const check = (): void => (gates.events.length >= n ? resolve() : void waiters.push(check));
        check();
      }),
  };
  const target = store as unknown as Record<string | symbol, unknown>;
  const proxy = new Proxy(target, {
    get(t, prop) {
      const value = t[prop];
      if (typeof value !== 'function') return value;
      if (prop === 'snapshot' || prop === 'changesSince') {
        return async (...args: unknown[]) => {
          const answer: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(t, args);
          const gate = gates.read;
          if (gate !== null) {
            gates.read = null;
            gate.held.resolve();
            await gate.release.promise;
          }
          return answer;
        };
      }
      if (prop === 'subscribeQueue') {
        return (app: string, queueId: string, listener: CallQueueListener) => {
          const wrapped: CallQueueListener = (event) => {
            if (!gates.holdEvents) return listener(event);
            gates.events.push({ event, deliver: () => listener(event) });
            for (const wake of waiters.splice(0)) wake();
          };
          gates.listeners.push(wrapped);
          return (value as CallStore['subscribeQueue']).call(store, app, queueId, wrapped);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(t);
    },
  });
  return { store: proxy as unknown as CallStore, gates };
}

const updates = (c: WsTestClient, from = 0) => c.frames.slice(from).filter((f): f is Extract<ServerFrame, { type: 'callqueue.update' }> => f.type === 'callqueue.update');
const snapshots = (c: WsTestClient, from = 0) => c.frames.slice(from).filter((f): f is Extract<ServerFrame, { type: 'callqueue.snapshot' }> => f.type === 'callqueue.snapshot');

describe.each(engineFactories.map((e, i) => ({ ...e, calls: callStoreFactories[i]! })))('call-queue joins under forced interleavings ($name)', (factory) => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup() {
    const engine: Engine = await factory.create();
    cleanup.push(() => engine.close());
    const real = await factory.calls.open();
    cleanup.push(() => real.close());
    const { store, gates } = gatedStore(real);
    const s: TestServer = await startTestServer(engine, {}, { mounts: [createWebSocketEndpoint().mount], callStore: store });
    cleanup.push(() => s.close());
    const { name, key } = await s.createApp();
    const queue = (await call(s, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const join = async (priority = 0): Promise<string> => (await real.joinCaller(name, queue, { name: 'c', number: '6135550000', priority })).value.uuid;
    const seq = async (): Promise<number> => (await real.snapshot(name, queue)).seq;
    const open = async (): Promise<WsTestClient> => {
      const c = await WsTestClient.open(s.url, { key });
      cleanup.push(() => c.close());
      return c;
    };
    /** A first follower: the node's feed of the queue is up (the gates then see only later reads). */
    const first = await open();
    await first.request({ type: 'callqueue.subscribe', queue_id: queue });
    await first.next('callqueue.snapshot');
    const reached = (c: WsTestClient, n: number) => c.until(() => [...updates(c), ...snapshots(c)].some((f) => f.seq >= n), `seq ${n}`);
    /** The view rebuilt from c's last snapshot and the updates after it, which must all apply. */
    const viewOf = (c: WsTestClient): CallQueueFollower => {
      const snaps = snapshots(c);
      const last = snaps[snaps.length - 1]!;
      const view = new CallQueueFollower(last);
      for (const u of updates(c, c.frames.indexOf(last))) expect(view.apply(u), `update ${u.seq} on ${view.seq}`).toBe('applied');
      return view;
    };
    const restLine = async (): Promise<string[]> =>
      ((await call(s, key, 'GET', `/v1/queues/${queue}/callers`)).body as Array<{ uuid: string; status: string }>).filter((c) => c.status === 'waiting').map((c) => c.uuid);
    return { s, gates, queue, join, seq, open, first, reached, viewOf, restLine };
  }

  for (const resume of [false, true]) {
    it(`changes between a subscriber's read and its reply come from its buffer (${resume ? 'since_seq' : 'snapshot'})`, async () => {
      const t = await setup();
      await t.join();
      const s0 = await t.seq();
      const b = await t.open();
      const gate = { held: deferred(), release: deferred() };
      t.gates.read = gate;
      const reply = b.request(resume ? { type: 'callqueue.subscribe', queue_id: t.queue, since_seq: s0 } : { type: 'callqueue.subscribe', queue_id: t.queue });
      await gate.held.promise; // b's read is done: s0
      await t.join(3);
      await t.join();
      await t.reached(t.first, s0 + 2); // published on this node, so captured for b
      gate.release.resolve();
      expect(await reply).toMatchObject({ type: 'callqueue.subscribed', seq: s0, recovered: resume });
      await t.join(1);
      await t.reached(b, s0 + 3);
      expect(updates(b).map((u) => u.seq)).toEqual([s0 + 1, s0 + 2, s0 + 3]);
      expect(snapshots(b).map((f) => f.seq)).toEqual(resume ? [] : [s0]);
      if (!resume) expect(t.viewOf(b).waitingLine()).toEqual(await t.restLine());
    });
  }

  /** Two callers join while announcements are held: both changes are stored, neither announced yet. Returns the seq before them. */
  async function twoHeldJoins(t: Awaited<ReturnType<typeof setup>>): Promise<number> {
    const s0 = await t.seq();
    t.gates.holdEvents = true;
    await t.join();
    await t.join(2);
    await t.gates.held(2);
    return s0;
  }

  it('changes already in a snapshot but announced later are not delivered twice', async () => {
    const t = await setup();
    const s0 = await twoHeldJoins(t);
    const b = await t.open();
    expect(await b.request({ type: 'callqueue.subscribe', queue_id: t.queue })).toMatchObject({ seq: s0 + 2, recovered: false });
    await b.next('callqueue.snapshot');
    // The two announcements arrive now, after b's snapshot already holds them.
    t.gates.holdEvents = false;
    for (const e of t.gates.events.splice(0)) e.deliver();
    await t.join(1);
    await t.reached(b, s0 + 3);
    await t.reached(t.first, s0 + 3);
    expect(updates(b).map((u) => u.seq)).toEqual([s0 + 3]);
    expect(updates(t.first).map((u) => u.seq)).toEqual([s0 + 1, s0 + 2, s0 + 3]);
    expect(t.viewOf(b).waitingLine()).toEqual(await t.restLine());
  });

  it('the feed’s resync: every follower gets a fresh snapshot, then updates without a gap', async () => {
    const t = await setup();
    const b = await t.open();
    await b.request({ type: 'callqueue.subscribe', queue_id: t.queue });
    await b.next('callqueue.snapshot');
    await t.join();
    const s1 = await t.seq();
    for (const c of [t.first, b]) await t.reached(c, s1);
    const marks = [t.first.frames.length, b.frames.length];
    for (const l of t.gates.listeners) l({ type: 'resync' });
    await t.join(4);
    for (const [i, c] of [t.first, b].entries()) {
      await t.reached(c, s1 + 1);
      expect(snapshots(c, marks[i]).map((f) => f.seq)).toEqual([s1]);
      expect(updates(c, marks[i]).map((u) => u.seq)).toEqual([s1 + 1]);
      expect(t.viewOf(c).waitingLine()).toEqual(await t.restLine());
    }
  });

  it('an announcement that skips a seq (a lost one) is handled as a resync', async () => {
    const t = await setup();
    const s0 = await twoHeldJoins(t);
    t.gates.holdEvents = false;
    const [lost, next] = t.gates.events.splice(0);
    expect([lost!.event, next!.event].map((e) => (e.type === 'change' ? e.change.seq : -1))).toEqual([s0 + 1, s0 + 2]);
    const mark = t.first.frames.length;
    next!.deliver(); // s0 + 2 without s0 + 1
    await t.reached(t.first, s0 + 2);
    expect(snapshots(t.first, mark).map((f) => f.seq)).toEqual([s0 + 2]);
    lost!.deliver(); // late: old news now
    await t.join();
    await t.reached(t.first, s0 + 3);
    expect(updates(t.first, mark).map((u) => u.seq)).toEqual([s0 + 3]);
    expect(t.viewOf(t.first).waitingLine()).toEqual(await t.restLine());
  });
});
