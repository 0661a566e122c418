/**
 * The callqueue.stats push (protocol/websocket.md 5.6) on two Holdline nodes sharing one Redis:
 * changes made through either node reach followers on both, each node pushing to its own sockets;
 * the figures are exact (equal to the REST wallboard read after the last change), in both wire
 * formats, valid against the frame's schema, and coalesced (never more pushes than changes); the
 * SDK's CallQueueView holds the last one. The one-second spacing itself is the pusher's timer
 * (src/server/ws/wallboard-push.ts), not asserted here: tests do not measure time.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { HoldlineClient } from '../../src/client/index.js';
import type { CallQueueStatsFrame, ServerFrame } from '../../src/codec/index.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { createWebSocketEndpoint } from '../../src/server/ws/index.js';
import { freshPrefix } from '../helpers/namespace.js';
import { call, startTestServer, type TestServer } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';

interface Node {
  engine: RedisEngine;
  calls: RedisCallStore;
  server: TestServer;
}

async function startNode(prefix: string, adminKey: string): Promise<Node> {
  const engine = new RedisEngine({ url: inject('redisUrl'), prefix });
  await engine.start();
  const calls = await RedisCallStore.open({ url: inject('redisUrl'), prefix });
  const ws = createWebSocketEndpoint({ limits: { heartbeatMs: 60_000 } });
  const server = await startTestServer(engine, { adminKey }, { mounts: [ws.mount], callStore: calls });
  return { engine, calls, server };
}

const ajv = new Ajv2020({ strict: false });
for (const f of ['common.json', 'server/callqueue.stats.json']) ajv.addSchema(JSON.parse(readFileSync(`protocol/schemas/ws/${f}`, 'utf8')) as object);
const validStats = ajv.getSchema('https://holdline.dev/schemas/ws/server/callqueue.stats.json')!;

const isStats = (f: ServerFrame): f is CallQueueStatsFrame => f.type === 'callqueue.stats';

describe('callqueue.stats: two nodes, one Redis', () => {
  let a: Node;
  let b: Node;
  let app: { name: string; key: string };
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    const prefix = freshPrefix('wbpush');
    a = await startNode(prefix, 'admin-key-for-both');
    b = await startNode(prefix, 'admin-key-for-both');
    app = await a.server.createApp();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const n of [b, a]) {
      await n.server.close();
      await n.calls.close();
      await n.engine.close();
    }
  });

  it('pushes exact windows to the followers on each node, at most once a second per queue', async () => {
    const q = (await call(a.server, app.key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const onA = await WsTestClient.open(a.server.url, { key: app.key, format: 'msgpack' });
    const onB = await WsTestClient.open(b.server.url, { key: app.key });
    clients.push(onA, onB);
    for (const c of [onA, onB]) expect((await c.request({ type: 'callqueue.subscribe', queue_id: q })).type).toBe('callqueue.subscribed');

    const callers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const node = i % 2 === 0 ? a : b;
      callers.push((await call(node.server, app.key, 'POST', `/v1/queues/${q}/callers`, { number: `10${i}` })).body.uuid as string);
    }
    expect((await call(b.server, app.key, 'DELETE', `/v1/queues/${q}/callers/${callers[0]}?reason=abandoned`)).status).toBe(204);
    expect((await call(a.server, app.key, 'DELETE', `/v1/queues/${q}/callers/${callers[1]}?reason=timeout`)).status).toBe(204);

    const done = (f: ServerFrame) => isStats(f) && f.windows[0]!.offered === 6 && f.windows[0]!.abandoned === 1 && f.windows[0]!.timed_out === 1;
    const last = (await onB.waitFor(done, 'final stats on B')) as CallQueueStatsFrame;
    await onA.waitFor(done, 'final stats on A');
    const rest = (await call(b.server, app.key, 'GET', `/v1/queues/${q}/stats?window=15m`)).body;
    expect(last.windows[0]).toEqual(rest.window);
    expect(last.windows.map((w) => w.window)).toEqual(['15m', '1h', 'today']);
    expect(last.members_by_state).toEqual(rest.members_by_state);
    expect(last.stats).toMatchObject({ callers_waiting: 4, abandoned: 1, timed_out: 1 });
    // No member: nobody can serve, so no estimate (routing.md section 9), in the frame and on REST.
    expect(last.estimates).toEqual(Object.fromEntries(callers.slice(2).map((c) => [c, null])));
    const listed = (await call(a.server, app.key, 'GET', `/v1/queues/${q}/callers`)).body as { uuid: string; estimated_wait: number | null }[];
    expect(listed.map((c) => [c.uuid, c.estimated_wait])).toEqual(callers.slice(2).map((c) => [c, null]));

    for (const c of [onA, onB]) {
      const pushes = c.frames.filter(isStats);
      for (const p of pushes) expect(validStats(p), JSON.stringify(validStats.errors)).toBe(true);
      expect(pushes.every((p) => p.queue_id === q)).toBe(true);
      // Pushes are coalesced: never more than one per change (8) plus the one on going live.
      expect(pushes.length).toBeLessThanOrEqual(9);
    }
  });

  it('the SDK view holds the last wallboard', async () => {
    const q = (await call(a.server, app.key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;
    const client = new HoldlineClient({ urls: `${b.server.url.replace(/^http/, 'ws')}/v1/ws`, key: app.key });
    try {
      const view = client.callQueue(q);
      await view.ready;
      await call(a.server, app.key, 'POST', `/v1/queues/${q}/callers`, { number: '100' });
      // A push comes at least a second after the one before (WALLBOARD_MIN_INTERVAL_MS), and a
      // change may land just after a push read: allow a few pushes, not expect.poll's 1 s default.
      await expect.poll(() => view.wallboard?.windows[0]?.offered, { timeout: 10_000 }).toBe(1);
      expect(view.wallboard?.queue_id).toBe(q);
      // An available member: the first caller is offered now, the second at the median of one call's
      // end (⅔ of the 180 s default handle time: routing.md section 9).
      const agent = (await call(a.server, app.key, 'POST', '/v1/agents', { name: 'Alice' })).body.uuid as string;
      await call(a.server, app.key, 'POST', `/v1/queues/${q}/members`, { agent_id: agent, number: '1001@example.org' });
      const second = (await call(b.server, app.key, 'POST', `/v1/queues/${q}/callers`, { number: '200' })).body.uuid as string;
      await expect.poll(() => view.wallboard?.estimates[second], { timeout: 10_000 }).toBe(120);
      expect(Object.values(view.wallboard!.estimates)).toEqual([0, 120]);
      expect((await call(b.server, app.key, 'GET', `/v1/queues/${q}/callers/${second}`)).body.estimated_wait).toBe(120);
    } finally {
      await client.close();
    }
  });
});
