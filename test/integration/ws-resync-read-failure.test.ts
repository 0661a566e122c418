/**
 * An engine resync while storage reads still fail. On Redis the live feed and the command
 * connection reconnect on their own schedules: the feed can be back (and announce `resync`) while
 * every read still answers engine_unavailable. The partition's sockets must still get their
 * `resync` and every message once reads work again, not stay silent for good.
 *
 * Simulated on the memory engine (a real restart hits the window only by chance): the engine's live
 * feed is captured to announce the resync, and reads fail until the test lets them through.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import type { PartitionListener } from '../../src/engine/types.js';
import { HoldlineError } from '../../src/errors.js';
import { spyOnFeeds } from '../helpers/engines.js';
import { WsTestClient, appWithKey, queueOf, startWsServer } from '../helpers/ws-client.js';
import type { WsServer } from '../helpers/ws-client.js';
import { until } from '../helpers/wait.js';

describe('ws: an engine resync while storage reads fail', () => {
  let engine: MemoryEngine;
  let s: WsServer;
  let readsFail = false;
  let failedReads = 0;
  const feeds: PartitionListener[] = [];
  const clients: WsTestClient[] = [];

  beforeEach(async () => {
    engine = new MemoryEngine();
    await engine.start();
    readsFail = false;
    failedReads = 0;
    const spied = spyOnFeeds(engine, feeds, (...args) => {
      if (!readsFail) return engine.read(...args);
      failedReads++;
      return Promise.reject(new HoldlineError('engine_unavailable'));
    });
    s = await startWsServer(spied, { heartbeatMs: 60_000 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    feeds.splice(0);
    await s.close();
    await engine.close();
  });

  it('the sockets get resync, then every message once, then live ones', { timeout: 30_000 }, async () => {
    const app = await appWithKey(engine);
    const q = await queueOf(engine, app.name);
    const c = await WsTestClient.open(s.url, { key: app.key });
    clients.push(c);
    expect(await c.request({ type: 'subscribe', application: app.name, queue: q.name, partitions: [1] })).toMatchObject({ type: 'subscribed' });
    const bodies = (): string[] => c.messages().map((m) => String(m.body));
    await engine.append(q, [{ body: 'before', ttl: 600, partition: 1 }]);
    await c.until(() => bodies().length === 1, 'the first message');
    expect(feeds).toHaveLength(1);

    // The feed comes back and says so while reads still fail; a message is stored meanwhile (its
    // announcement is one of those the resync stands for, so it is not announced here).
    readsFail = true;
    feeds[0]!({ type: 'resync' });
    await engine.append(q, [{ body: 'missed', ttl: 600, partition: 1 }]);
    // Reads were tried and failed (and nothing reached the socket meanwhile)...
    await until(() => failedReads >= 2, { timeoutMs: 10_000, what: 'two failed reads' });
    expect(c.frames.some((f) => f.type === 'resync')).toBe(false);
    // ...then they work again: the resync arrives, then what was missed, then live messages.
    readsFail = false;
    await c.until(() => c.frames.some((f) => f.type === 'resync'), 'the resync', 20_000);
    expect(c.frames.find((f) => f.type === 'resync')).toEqual({ type: 'resync', application: app.name, queue: q.name, partition: 1, reason: 'engine', recovered: true });
    await c.until(() => bodies().includes('missed'), 'the missed message', 20_000);
    await engine.append(q, [{ body: 'live', ttl: 600, partition: 1 }]);
    await c.until(() => bodies().includes('live'), 'a live message after it', 20_000);
    expect(bodies()).toEqual(['before', 'missed', 'live']);
    expect(c.messages().map((m) => m.seq)).toEqual([1, 2, 3]);
  });
});
