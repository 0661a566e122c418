/**
 * callqueue.subscribe over real sockets (protocol/websocket.md 5), on both engines: the reply, then
 * a snapshot or the resumed updates, then every change once, in seq order, in both wire formats;
 * resume from since_seq and the snapshot when it is too old or too new; unsubscribe; the server
 * ending a subscription (queue deleted, agent removed); a slow reader getting a fresh snapshot.
 * Every update is applied with the SDK's call-queue state (test/helpers/call-follower.ts), which refuses a gap or a line move that
 * does not fit, and the result is compared with REST.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallQueueSnapshotFrame, CallQueueUpdateFrame, ServerFrame } from '../../src/codec/index.js';
import { CallQueueFollower } from '../helpers/call-follower.js';
import type { CallStore } from '../../src/engine/call-types.js';
import type { Engine } from '../../src/engine/types.js';
import { createWebSocketEndpoint, type WebSocketEndpoint, type WebSocketLimits } from '../../src/server/ws/index.js';
import { callStoreFactories } from '../helpers/call-stores.js';
import { engineFactories } from '../helpers/engines.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';

type Update = CallQueueUpdateFrame;
type Snapshot = CallQueueSnapshotFrame;

const isUpdate = (f: ServerFrame): f is Update => f.type === 'callqueue.update';
const isSnapshot = (f: ServerFrame): f is Snapshot => f.type === 'callqueue.snapshot';

describe.each(engineFactories.map((e, i) => ({ ...e, calls: callStoreFactories[i]! })))('call-queue subscriptions ($name)', (factory) => {
  let engine: Engine;
  let store: CallStore;
  let s: TestServer;
  let endpoint: WebSocketEndpoint;
  let app: { name: string; key: string };
  const clients: WsTestClient[] = [];

  async function start(opts: { retention?: number; limits?: Partial<WebSocketLimits> } = {}): Promise<void> {
    engine = await factory.create();
    store = await factory.calls.open(opts.retention === undefined ? {} : { changeRetention: opts.retention });
    endpoint = createWebSocketEndpoint({ limits: opts.limits ?? {} });
    s = await startTestServer(engine, {}, { mounts: [endpoint.mount], callStore: store });
    app = await s.createApp();
  }

  beforeEach(() => {
    clients.length = 0;
  });
  afterEach(async () => {
    for (const c of clients) await c.close();
    await s?.close();
    await store?.close();
    await engine?.close();
  });

  async function open(opts: { format?: 'json' | 'msgpack'; token?: string } = {}): Promise<WsTestClient> {
    const c = await WsTestClient.open(s.url, { format: opts.format ?? 'json', ...(opts.token === undefined ? { key: app.key } : { token: opts.token }) });
    clients.push(c);
    return c;
  }

  const rest = (method: string, path: string, body?: unknown) => call(s, app.key, method, path, body);

  async function newQueue(): Promise<string> {
    const r = await rest('POST', '/v1/queues', { name: 'support', description: 'd' });
    expect(r.status).toBe(201);
    return r.body.uuid as string;
  }

  async function join(q: string, priority = 0): Promise<string> {
    const r = await rest('POST', `/v1/queues/${q}/callers`, { name: 'c', number: '6135550000', priority });
    expect(r.status).toBe(201);
    return r.body.uuid as string;
  }

  async function agentMember(q: string): Promise<{ agent: string; token: string }> {
    const a = await rest('POST', '/v1/agents', { name: 'Alice' });
    expect(a.status).toBe(201);
    expect((await rest('POST', `/v1/queues/${q}/members`, { agent_id: a.body.uuid, number: '1001@example.org' })).status).toBe(201);
    const t = await rest('POST', `/v1/agents/${a.body.uuid}/tokens`, { ttl: 600 });
    expect(t.status).toBe(201);
    return { agent: a.body.uuid as string, token: t.body.token as string };
  }

  /** Waiting callers as REST lists them: [uuid, position]. */
  async function restLine(q: string): Promise<Array<[string, number | null]>> {
    const r = await rest('GET', `/v1/queues/${q}/callers`);
    expect(r.status).toBe(200);
    return (r.body as Array<{ uuid: string; position: number | null; status: string }>).filter((c) => c.status === 'waiting').map((c) => [c.uuid, c.position]);
  }

  /** The queue's current seq, straight from the store. */
  async function seqOf(q: string): Promise<number> {
    return (await store.snapshot(app.name, q)).seq;
  }

  /**
   * Rebuilds the view from the client's frames of queue `q` from index `from` on: the last
   * snapshot's state plus every update after it, each of which must apply exactly.
   */
  function viewFrom(c: WsTestClient, q: string, from = 0): CallQueueFollower {
    let view: CallQueueFollower | null = null;
    for (const f of c.frames.slice(from)) {
      if (isSnapshot(f) && f.queue_id === q) view = new CallQueueFollower(f);
      else if (isUpdate(f) && f.queue_id === q) {
        expect(view, `update ${f.seq} before any snapshot`).not.toBeNull();
        expect(view!.apply(f), `update ${f.seq} on a view at ${view!.seq}`).toMatch(/^(applied|deleted)$/);
      }
    }
    expect(view).not.toBeNull();
    return view!;
  }

  async function untilSeq(c: WsTestClient, q: string, seq: number): Promise<void> {
    await c.until(() => c.frames.some((f) => (isUpdate(f) || isSnapshot(f)) && f.queue_id === q && f.seq >= seq), `seq ${seq} of ${q}`);
  }

  /** A client subscribed to `q` (no resume point) and the seq of the snapshot it got. */
  async function follow(q: string): Promise<{ c: WsTestClient; s0: number }> {
    const c = await open();
    await c.request({ type: 'callqueue.subscribe', queue_id: q });
    return { c, s0: (await c.next('callqueue.snapshot')).seq };
  }

  const viewLine = (v: CallQueueFollower): Array<[string, number | null]> => v.waitingLine().map((u, i) => [u, i]);

  it('subscribed, then the snapshot, then every change once in seq order (JSON and MessagePack alike)', async () => {
    await start();
    const q = await newQueue();
    const a = await join(q);
    const b = await join(q);
    const { agent } = await agentMember(q);
    const s0 = await seqOf(q);
    const json = await open();
    const pack = await open({ format: 'msgpack' });
    for (const c of [json, pack]) {
      const reply = await c.request({ type: 'callqueue.subscribe', id: 'sub', queue_id: q });
      expect(reply).toEqual({ type: 'callqueue.subscribed', id: 'sub', queue_id: q, seq: s0, recovered: false });
      const snap = await c.next('callqueue.snapshot');
      expect(c.frames.indexOf(snap)).toBe(c.frames.indexOf(reply) + 1);
      expect(snap.seq).toBe(s0);
      expect(snap.callers.map((x) => x.uuid)).toEqual([a, b]);
      expect(snap.members.map((m) => m.uuid)).toEqual([agent]);
    }

    // Every kind a waiting line sees: a join in front, a priority change, ringing, back to waiting,
    // a pause, a leave from the middle.
    const vip = await join(q, 5);
    expect((await rest('PUT', `/v1/queues/${q}/callers/${b}`, { priority: 9 })).status).toBe(200);
    expect((await rest('PUT', `/v1/queues/${q}/callers/${vip}`, { status: 'ringing', member_uuid: agent })).status).toBe(200);
    expect((await rest('PUT', `/v1/queues/${q}/callers/${vip}`, { status: 'waiting' })).status).toBe(200);
    expect((await rest('PUT', `/v1/queues/${q}/members/${agent}`, { paused: true, pause_reason: 'lunch' })).status).toBe(200);
    expect((await rest('DELETE', `/v1/queues/${q}/callers/${vip}?reason=abandoned`)).status).toBe(204);
    const last = s0 + 6;
    expect(await seqOf(q)).toBe(last);

    for (const c of [json, pack]) {
      await untilSeq(c, q, last);
      const updates = c.frames.filter(isUpdate);
      expect(updates.map((u) => u.seq)).toEqual([1, 2, 3, 4, 5, 6].map((i) => s0 + i));
      expect(updates.map((u) => u.kind)).toEqual(['caller_joined', 'caller_updated', 'caller_updated', 'caller_updated', 'member_updated', 'caller_left']);
      const view = viewFrom(c, q);
      expect(viewLine(view)).toEqual(await restLine(q));
      expect(view.waitingLine()).toEqual([b, a]);
      expect(c.undecodable).toEqual([]);
    }
    // One change, one frame: both formats carry the same updates.
    expect(pack.frames.filter(isUpdate)).toEqual(json.frames.filter(isUpdate));
  });

  it('resumes from since_seq: the missed updates, then live ones, each once', async () => {
    await start();
    const q = await newQueue();
    await join(q);
    const { c, s0 } = await follow(q);
    const x = await join(q, 1);
    await untilSeq(c, q, s0 + 1);
    const gone = await c.request({ type: 'callqueue.unsubscribe', queue_id: q });
    expect(gone).toMatchObject({ type: 'callqueue.unsubscribed', queue_id: q, reason: 'requested' });

    // Missed while unsubscribed.
    const y = await join(q, 2);
    expect((await rest('PUT', `/v1/queues/${q}/callers/${x}`, { priority: 3 })).status).toBe(200);
    expect((await rest('DELETE', `/v1/queues/${q}/callers/${y}?reason=timeout`)).status).toBe(204);
    const mark = c.frames.length;
    const reply = await c.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: s0 + 1 });
    expect(reply).toMatchObject({ type: 'callqueue.subscribed', queue_id: q, seq: s0 + 1, recovered: true });
    await untilSeq(c, q, s0 + 4);
    await join(q); // live
    await untilSeq(c, q, s0 + 5);

    const after = c.frames.slice(mark);
    expect(after.filter(isSnapshot)).toEqual([]);
    expect(after.filter(isUpdate).map((u) => u.seq)).toEqual([s0 + 2, s0 + 3, s0 + 4, s0 + 5]);
    expect(after.findIndex(isUpdate)).toBeGreaterThan(after.indexOf(reply));
    expect(viewLine(viewFrom(c, q))).toEqual(await restLine(q));

    // since_seq equal to the queue's seq: recovered, and nothing until the next change.
    await c.request({ type: 'callqueue.unsubscribe', queue_id: q });
    const mark2 = c.frames.length;
    expect(await c.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: s0 + 5 })).toMatchObject({ seq: s0 + 5, recovered: true });
    await c.request({ type: 'ping' });
    expect(c.frames.slice(mark2).filter((f) => isUpdate(f) || isSnapshot(f))).toEqual([]);
    await join(q);
    await untilSeq(c, q, s0 + 6);
    expect(c.frames.slice(mark2).filter(isUpdate).map((u) => u.seq)).toEqual([s0 + 6]);
  });

  it('a since_seq older than the retained changes, or newer than the queue, gets a snapshot', async () => {
    await start({ retention: 3 });
    const q = await newQueue();
    for (let i = 0; i < 6; i++) await join(q, i % 2);
    const now = await seqOf(q);
    expect(now).toBe(6);
    const c = await open();
    for (const since of [1, 2, now + 1, now + 1000]) {
      const mark = c.frames.length;
      const reply = await c.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: since });
      expect(reply).toMatchObject({ type: 'callqueue.subscribed', queue_id: q, seq: now, recovered: false });
      const snap = await c.next('callqueue.snapshot', mark);
      expect(snap.seq).toBe(now);
      expect(snap.callers.map((x) => [x.uuid, x.position])).toEqual(await restLine(q));
      await c.request({ type: 'callqueue.unsubscribe', queue_id: q });
    }
    // Still retained: 3 is the oldest since_seq that 4, 5, 6 follow.
    const mark = c.frames.length;
    expect(await c.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: 3 })).toMatchObject({ seq: 3, recovered: true });
    await untilSeq(c, q, 6);
    expect(c.frames.slice(mark).filter(isUpdate).map((u) => u.seq)).toEqual([4, 5, 6]);
  });

  it('callqueue.refresh: the reply, then a fresh snapshot before any update, then every later change once', async () => {
    await start();
    const q = await newQueue();
    const { c, s0 } = await follow(q);
    await join(q);
    await untilSeq(c, q, s0 + 1);
    const mark = c.frames.length;
    // Changes race the refresh: each lands before the snapshot (in it) or after it (an update).
    const joins = Promise.all([join(q), join(q, 1), join(q)]);
    const reply = await c.request({ type: 'callqueue.refresh', queue_id: q });
    expect(reply).toEqual({ type: 'callqueue.refreshed', id: (reply as { id: string }).id, queue_id: q });
    await joins;
    await join(q);
    await untilSeq(c, q, s0 + 5);
    const after = c.frames.slice(mark).filter((f) => (isUpdate(f) || isSnapshot(f) || f.type === 'callqueue.refreshed') && ('queue_id' in f && f.queue_id === q));
    const at = after.findIndex((f) => f.type === 'callqueue.refreshed');
    expect(after[at + 1]?.type, 'a snapshot right after the reply').toBe('callqueue.snapshot');
    const snap = after[at + 1] as Snapshot;
    expect(after.slice(at + 2).filter(isSnapshot)).toEqual([]);
    expect(after.slice(at + 2).filter(isUpdate).map((u) => u.seq)).toEqual(Array.from({ length: s0 + 5 - snap.seq }, (_, i) => snap.seq + 1 + i));
    expect(viewLine(viewFrom(c, q, mark + c.frames.slice(mark).indexOf(snap)))).toEqual(await restLine(q));
  });

  it('unsubscribe is idempotent and no update follows its reply; already_subscribed changes nothing', async () => {
    await start();
    const q = await newQueue();
    const { c, s0 } = await follow(q);
    const again = await c.request({ type: 'callqueue.subscribe', id: 9, queue_id: q });
    expect(again).toMatchObject({ type: 'error', id: 9, op: 'callqueue.subscribe', error: { code: 'already_subscribed', field: 'queue_id' } });
    await join(q);
    await untilSeq(c, q, s0 + 1);

    const first = await c.request({ type: 'callqueue.unsubscribe', queue_id: q.toUpperCase() });
    expect(first).toMatchObject({ type: 'callqueue.unsubscribed', queue_id: q, reason: 'requested' });
    const at = c.frames.indexOf(first);
    for (const queue_id of [q, '11111111-2222-4333-8444-555555555555', 'not-a-queue']) {
      expect(await c.request({ type: 'callqueue.unsubscribe', queue_id })).toMatchObject({ type: 'callqueue.unsubscribed', queue_id, reason: 'requested' });
    }
    await join(q);
    await join(q);
    // A second connection sees those changes, so the first would have by the time its pong arrives.
    const other = await open();
    await other.request({ type: 'callqueue.subscribe', queue_id: q, since_seq: s0 });
    await untilSeq(other, q, s0 + 3);
    await c.request({ type: 'ping' });
    expect(c.frames.slice(at + 1).filter((f) => isUpdate(f) || isSnapshot(f))).toEqual([]);
    expect(c.frames.filter(isUpdate).map((u) => u.seq)).toEqual([s0 + 1]);
  });

  it('call queues count against max_subscriptions with message partitions', async () => {
    await start({ limits: { maxSubscriptions: 2 } });
    const [q1, q2] = [await newQueue(), await newQueue()];
    const mq = await rest('POST', `/${app.name}`, { queue_name: 'orders', consistency: 'weak' });
    expect(mq.status).toBe(201);
    const c = await open();
    expect((await c.request({ type: 'subscribe', application: app.name, queue: 'orders' })).type).toBe('subscribed');
    expect((await c.request({ type: 'callqueue.subscribe', queue_id: q1 })).type).toBe('callqueue.subscribed');
    expect(await c.request({ type: 'callqueue.subscribe', queue_id: q2 })).toMatchObject({ type: 'error', error: { code: 'too_many_subscriptions' } });
    await c.request({ type: 'callqueue.unsubscribe', queue_id: q1 });
    expect((await c.request({ type: 'callqueue.subscribe', queue_id: q2 })).type).toBe('callqueue.subscribed');
  });

  it('a deleted queue: the queue_deleted update, then callqueue.unsubscribed (queue_deleted)', async () => {
    await start();
    const q = await newQueue();
    await join(q);
    const { c, s0 } = await follow(q);
    expect((await rest('DELETE', `/v1/queues/${q}`)).status).toBe(204);
    const ended = await c.next('callqueue.unsubscribed');
    expect(ended).toEqual({ type: 'callqueue.unsubscribed', queue_id: q, reason: 'queue_deleted' });
    const updates = c.frames.filter(isUpdate);
    expect(updates.map((u) => [u.seq, u.kind])).toEqual([[s0 + 1, 'queue_deleted']]);
    expect(c.frames.indexOf(updates[0]!)).toBeLessThan(c.frames.indexOf(ended));
    // Gone: subscribing again is refused, and the connection goes on.
    expect(await c.request({ type: 'callqueue.subscribe', queue_id: q })).toMatchObject({ type: 'error', error: { code: 'call_queue_not_found' } });
    expect((await c.request({ type: 'ping' })).type).toBe('pong');
  });

  it('an agent removed from the queue: its subscription ends (access_revoked), the supervisor’s goes on', async () => {
    await start();
    const q = await newQueue();
    const { agent, token } = await agentMember(q);
    const desk = await open({ token });
    const boss = await open();
    for (const c of [desk, boss]) {
      expect(await c.request({ type: 'callqueue.subscribe', queue_id: q })).toMatchObject({ type: 'callqueue.subscribed', recovered: false });
      await c.next('callqueue.snapshot');
    }
    const s0 = await seqOf(q);
    expect((await rest('DELETE', `/v1/queues/${q}/members/${agent}`)).status).toBe(204);
    const ended = await desk.next('callqueue.unsubscribed');
    expect(ended).toEqual({ type: 'callqueue.unsubscribed', queue_id: q, reason: 'access_revoked' });
    // It sees its own removal first, then nothing more.
    expect(desk.frames.filter(isUpdate).map((u) => [u.seq, u.kind])).toEqual([[s0 + 1, 'member_removed']]);
    await join(q);
    await untilSeq(boss, q, s0 + 2);
    await desk.request({ type: 'ping' });
    expect(desk.frames.filter(isUpdate).length).toBe(1);
    // And it may not follow the queue again.
    expect(await desk.request({ type: 'callqueue.subscribe', queue_id: q })).toMatchObject({ type: 'error', error: { code: 'forbidden' } });
    expect(viewLine(viewFrom(boss, q))).toEqual(await restLine(q));
  });

  it('a reader that stops reading leaves live delivery, then gets a fresh snapshot and every later change', { timeout: 60_000 }, async () => {
    const limits = { bufferLimitBytes: 64 * 1024, sampleIntervalMs: 20, drainTimeoutMs: 60_000 };
    await start({ limits });
    const q = await newQueue();
    const keep = await join(q);
    const slow = await open();
    await slow.request({ type: 'callqueue.subscribe', queue_id: q });
    await slow.next('callqueue.snapshot');
    const buffered = (): number => endpoint.stats().connections.find((x) => x.id === connectionId(slow))?.buffered ?? 0;

    // Queue updates (the description is the largest field) until the socket's buffer is past the
    // soft limit and stops growing: the subscription left its topic.
    slow.socket.pause();
    let n = 0;
    const burst = async (): Promise<void> => {
      await Promise.all(Array.from({ length: 20 }, () => store.updateCallQueue(app.name, q, { description: `${n++}`.padEnd(1000, 'x') })));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    };
    let before = -1;
    for (;;) {
      expect(n, 'the subscription should have left live delivery').toBeLessThan(40_000);
      await burst();
      const now = buffered();
      if (now > limits.bufferLimitBytes && now === before) break;
      before = now;
    }
    await burst(); // missed while lagging
    const lastSeq = await seqOf(q);
    slow.socket.resume();

    await slow.until(() => slow.frames.filter(isSnapshot).length >= 2, 'a fresh snapshot', 30_000);
    expect((await rest('PUT', `/v1/queues/${q}/callers/${keep}`, { priority: 4 })).status).toBe(200);
    await untilSeq(slow, q, lastSeq + 1);
    // At least one fresh snapshot; a loaded machine may drain the socket slowly enough that the
    // lag sampler sees it behind once more and sends another, which is the same rule working again.
    // The view is built from the newest one.
    const snaps = slow.frames.filter(isSnapshot);
    expect(snaps.length).toBeGreaterThanOrEqual(2);
    const fresh = snaps[snaps.length - 1]!;
    expect(fresh.seq).toBeGreaterThanOrEqual(lastSeq);
    // Fewer updates than changes (some were skipped while lagging, covered by the snapshot), and
    // every update after the fresh snapshot applies exactly.
    expect(slow.frames.filter(isUpdate).length).toBeLessThan(lastSeq + 1);
    const view = viewFrom(slow, q, slow.frames.indexOf(fresh));
    expect(view.seq).toBe(lastSeq + 1);
    expect(view.queue.description).toBe((await store.getCallQueue(app.name, q))!.description);
    expect(viewLine(view)).toEqual(await restLine(q));
  });

  function connectionId(c: WsTestClient): string {
    const welcome = c.frames.find((f) => f.type === 'welcome');
    if (welcome?.type !== 'welcome') throw new Error('no welcome');
    return welcome.connection_id;
  }
});
