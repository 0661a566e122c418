/**
 * A seq reused by another message (protocol/websocket.md 4.3): after a Redis failover that lost a
 * write already delivered live (weak consistency), the promoted replica numbers the next message
 * with that seq. The hub must not skip it silently as old news: the partition's sockets get
 * `resync` (`recovered: false`, their last message is gone from storage) and then go on live.
 *
 * A real failover loses writes only by chance, so the engine event sequence is simulated on the
 * memory engine: the lost message is deleted from storage, and the engine's live feed announces a
 * different message with its seq.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import type { PartitionListener, StoredMessage } from '../../src/engine/types.js';
import { spyOnFeeds } from '../helpers/engines.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';

describe('ws hub: a seq reused by another message after a failover', () => {
  let engine: MemoryEngine;
  let s: WsServer;
  const feeds: PartitionListener[] = [];
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = new MemoryEngine();
    await engine.start();
    const spied = spyOnFeeds(engine, feeds);
    s = await startWsServer(spied, { heartbeatMs: 60_000 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    feeds.splice(0);
    await s.close();
    await engine.close();
  });

  it('resyncs the partition (recovered:false) instead of skipping the new message as old news', async () => {
    const app = await appWithKey(engine);
    const q = await queueOf(engine, app.name);
    const ref = { app: app.name, queue: q.name, partition: 1 };
    const batchConn = await WsTestClient.open(s.url, { key: app.key });
    const c = await WsTestClient.open(s.url, { key: app.key });
    clients.push(c, batchConn);
    expect(await c.request({ type: 'subscribe', application: app.name, queue: q.name, partitions: [1] })).toMatchObject({ type: 'subscribed' });
    expect(await batchConn.request({ type: 'subscribe', application: app.name, queue: q.name, partitions: [1], batch: true })).toMatchObject({ type: 'subscribed' });
    const sent: StoredMessage[] = [];
    for (const body of ['m1', 'm2', 'm3']) sent.push(...(await engine.append(q, [{ body, ttl: 600, partition: 1 }])));
    await c.until(() => c.messages().length === 3, 'three live messages');
    expect(feeds).toHaveLength(1);

    // The failover: m3 is lost from storage, and the feed announces another message with its seq.
    const lost = sent[2]!;
    expect(await engine.deleteMessages(ref, [lost.id])).toBe(1);
    const last = lost.id.slice(-1);
    const replacement: StoredMessage = { ...lost, id: lost.id.slice(0, -1) + (last === '0' ? '1' : '0'), body: 'replacement' };
    // A message the topic carried with that very id is old news, as before.
    feeds[0]!({ type: 'message', message: { ...sent[1]! } });
    feeds[0]!({ type: 'message', message: replacement });

    for (const conn of [c, batchConn]) {
      const resync = await conn.next('resync');
      expect(resync).toEqual({ type: 'resync', application: app.name, queue: q.name, partition: 1, reason: 'engine', recovered: false });
    }
    // And live delivery goes on after it.
    await engine.append(q, [{ body: 'm4', ttl: 600, partition: 1 }]);
    await c.until(() => c.messages().some((m) => m.body === 'm4'), 'm4 after the resync');
    expect(c.messages().map((m) => m.body)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect(c.frames.filter((f) => f.type === 'resync')).toHaveLength(1);
    const m4At = c.frames.findIndex((f) => f.type === 'message' && f.body === 'm4');
    expect(m4At).toBeGreaterThan(c.frames.findIndex((f) => f.type === 'resync'));
  });
});
