/**
 * Redis frozen under a running node (README "When something fails", protocol/errors.md): the
 * redis-server process is stopped with SIGSTOP, so its connections stay open but nothing answers.
 * /readyz answers 503; a publish is not refused at once but answered `engine_unavailable` after the
 * command timeout, and its outcome is unknown: its script was sent, so when Redis resumes (SIGCONT)
 * the message is stored and delivered to the subscriber all the same. The connections were never
 * lost, so no `resync` is sent. A node stopped (SIGTERM) while such a publish waits answers it
 * before it closes the connection 1001, as it finishes HTTP requests in flight. What waits for the
 * frozen Redis is bounded (HOLDLINE_MAX_PENDING_MESSAGES): a post beyond it is refused at once and
 * stores nothing, the waiting ones complete when Redis resumes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../src/metrics/registry.js';
import { startHoldlineProcess } from '../helpers/holdline-process.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { JSON_CT, appWithQueue, errorCode } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';
import { eventually, startNode, type HoldlineNode } from '../cluster/nodes.js';

/** A refused request must be answered within this: the 5 s command timeout and margin, not a speed target. */
const ANSWER_BOUND_MS = 20_000;
/** The engine's command timeout (src/engine/redis/index.ts): a request answered sooner was not waiting for a command. */
const COMMAND_TIMEOUT_MS = 5000;

describe('Redis frozen (SIGSTOP) under a running node', () => {
  let redis: RedisServerHandle;
  let node: HoldlineNode;
  let frozen = false;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startNode(redis.url, freshPrefix('frozen'), { config: { logLevel: process.env.DBG_LOG ?? 'silent' } });
  });
  afterAll(async () => {
    if (frozen) process.kill(redis.pid, 'SIGCONT');
    for (const fn of cleanups.splice(0).reverse()) await fn();
    await node?.close();
    await redis?.stop();
  });

  it('answers engine_unavailable after the command timeout, and that write may be stored', { timeout: 60_000 }, async () => {
    const s = node.server;
    const { app, key, queue } = await appWithQueue(s);
    const raw = await WsTestClient.open(s.url, { key });
    cleanups.push(async () => void (await raw.close()));
    expect((await raw.request({ type: 'subscribe', application: app, queue, partitions: [1] })).type).toBe('subscribed');
    const post = (body: string): Promise<Response> =>
      s.request(`/${app}/${queue}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ body, partition: 1 }), signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
    // Before the freeze: the node knows the key and the queue, so the publish below sends its script.
    expect((await post('before')).status).toBe(201);

    process.kill(redis.pid, 'SIGSTOP');
    frozen = true;
    const ready = await s.request('/readyz', { signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
    expect([ready.status, await errorCode(ready)]).toEqual([503, 'engine_unavailable']);
    const refused = await post('while-frozen');
    expect([refused.status, await errorCode(refused)]).toEqual([503, 'engine_unavailable']);

    process.kill(redis.pid, 'SIGCONT');
    frozen = false;
    // The refused publish ran once Redis resumed: stored, and delivered live.
    await raw.until(() => raw.messages({ queue }).some((m) => m.body === 'while-frozen'), 'the refused message delivered');
    await eventually(async () => (await s.request('/readyz')).status === 200, '/readyz 200 again');
    const history = (await (await s.request(`/${app}/${queue}?limit=10`, { key })).json()) as { messages: { body: string }[] };
    expect(history.messages.map((m) => m.body)).toEqual(['before', 'while-frozen']);
    expect(raw.frames.filter((f) => f.type === 'resync')).toEqual([]);
  });

  it('answers a WebSocket publish in flight before closing 1001 when the node stops', { timeout: 60_000 }, async () => {
    const stopping = await startNode(redis.url, freshPrefix('frozen-stop'), { config: { logLevel: process.env.DBG_LOG ?? 'silent' } });
    let stopped = false;
    cleanups.push(async () => void (stopped || (await stopping.close())));
    const s = stopping.server;
    const { app, key, queue } = await appWithQueue(s);
    const producer = await WsTestClient.open(s.url, { key });
    cleanups.push(async () => void (await producer.close()));
    expect((await producer.request({ type: 'publish', application: app, queue, messages: [{ body: 'before', partition: 1 }] })).type).toBe('published');

    process.kill(redis.pid, 'SIGSTOP');
    frozen = true;
    const framesIn = (): number => metrics().wsFramesIn.get().values[0]!.value;
    const received = framesIn();
    producer.send({ type: 'publish', id: 'in-flight', application: app, queue, messages: [{ body: 'in flight', partition: 1 }] });
    // The node has the frame (the counter is bumped as it is handed to its handler), its answer waits for Redis.
    await eventually(() => framesIn() > received, 'the publish received');
    const closing = stopping.close();
    process.kill(redis.pid, 'SIGCONT');
    frozen = false;
    await closing;
    stopped = true;

    const closed = await producer.closed;
    expect(closed).toEqual({ code: 1001, reason: 'shutting_down' });
    const reply = producer.frames.find((f) => 'id' in f && f.id === 'in-flight');
    expect(reply?.type).toBe('published');
  });

  it('refuses at once, storing none of it, a post that would pass the pending bound; what waited completes once Redis answers', { timeout: 60_000 }, async () => {
    // The bound as an operator sets it: a setting of `holdline serve` (3 messages, for the test).
    const admin = 'frozen-bound-admin';
    const proc = await startHoldlineProcess({
      HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: redis.url, HOLDLINE_REDIS_PREFIX: freshPrefix('frozen-bound'),
      HOLDLINE_ADMIN_KEY: admin, HOLDLINE_MAX_PENDING_MESSAGES: '3',
    });
    cleanups.push(() => proc.kill('SIGTERM'));
    const created = await fetch(`${proc.url}/v1/apps`, { method: 'POST', headers: { authorization: `Admin ${admin}`, ...JSON_CT }, body: '{"name":"bound"}' });
    const { key } = (await created.json()) as { key: string };
    const auth = { authorization: `Application ${key}`, ...JSON_CT };
    const queueCreated = await fetch(`${proc.url}/bound`, { method: 'POST', headers: auth, body: JSON.stringify({ queue_name: 'q', partitions: 2, consistency: 'weak' }) });
    expect(queueCreated.status).toBe(201);
    const post = (body: unknown): Promise<Response> =>
      fetch(`${proc.url}/bound/q`, { method: 'POST', headers: auth, body: JSON.stringify(body), signal: AbortSignal.timeout(ANSWER_BOUND_MS) });
    const subscriber = await WsTestClient.open(proc.url, { key });
    const producer = await WsTestClient.open(proc.url, { key });
    cleanups.push(async () => void (await subscriber.close()), async () => void (await producer.close()));
    expect((await subscriber.request({ type: 'subscribe', application: 'bound', queue: 'q', partitions: [1, 2] })).type).toBe('subscribed');
    const publish = (id: string, messages: Array<{ body: string; partition: number }>) => ({ type: 'publish' as const, id, application: 'bound', queue: 'q', messages });
    // Before the freeze: the node knows the key and the queue, so the appends below reach the engine.
    expect((await producer.request(publish('before', [{ body: 'before', partition: 1 }]))).type).toBe('published');

    process.kill(redis.pid, 'SIGSTOP');
    frozen = true;
    const frozenAt = Date.now();
    // One connection's publishes reach the engine in frame order: 1 + 2 messages wait, the bound is reached.
    producer.send(publish('a', [{ body: 'a', partition: 1 }]));
    producer.send(publish('b', [{ body: 'b1', partition: 1 }, { body: 'b2', partition: 2 }]));
    const refusedWs = await producer.request(publish('c', [{ body: 'c', partition: 2 }]));
    expect(refusedWs).toMatchObject({ type: 'error', id: 'c', op: 'publish', error: { code: 'engine_unavailable' } });
    const refusedOne = await post({ body: 'd', partition: 1 });
    // A batch over both partitions is refused whole, not one partition's share stored.
    const refusedBatch = await post({ messages: [{ body: 'e1', partition: 1 }, { body: 'e2', partition: 2 }] });
    expect([refusedOne.status, await errorCode(refusedOne), refusedBatch.status, await errorCode(refusedBatch)]).toEqual([503, 'engine_unavailable', 503, 'engine_unavailable']);
    // Refused before any command could have timed out, while the waiting publishes still wait.
    expect(Date.now() - frozenAt).toBeLessThan(COMMAND_TIMEOUT_MS);
    expect(producer.frames.filter((f) => 'id' in f && (f.id === 'a' || f.id === 'b'))).toEqual([]);

    process.kill(redis.pid, 'SIGCONT');
    frozen = false;
    expect((await producer.waitFor((f) => 'id' in f && f.id === 'a', 'reply to a')).type).toBe('published');
    expect((await producer.waitFor((f) => 'id' in f && f.id === 'b', 'reply to b')).type).toBe('published');
    expect((await post({ body: 'after', partition: 2 })).status).toBe(201);
    expect((await producer.request(publish('after-ws', [{ body: 'after-ws', partition: 1 }]))).type).toBe('published');

    const stored = ['before', 'a', 'b1', 'b2', 'after', 'after-ws'];
    await subscriber.until(() => subscriber.messages({ queue: 'q' }).length >= stored.length, 'every stored message delivered');
    const history = (await (await fetch(`${proc.url}/bound/q?partitions=1,2&limit=100`, { headers: auth })).json()) as { messages: { body: string }[] };
    expect(history.messages.map((m) => m.body).sort()).toEqual([...stored].sort());
    expect(subscriber.messages({ queue: 'q' }).map((m) => m.body).sort()).toEqual([...stored].sort());
    expect([producer.closeEvent, subscriber.closeEvent]).toEqual([null, null]);
  });

  it('answers the publishes queued behind a timed-out one at once, unsent, instead of one command timeout each', { timeout: 60_000 }, async () => {
    const s = node.server;
    const { app, key, queue } = await appWithQueue(s);
    const producer = await WsTestClient.open(s.url, { key });
    cleanups.push(async () => void (await producer.close()));
    const publish = (id: string) => ({
      type: 'publish' as const, id, application: app, queue,
      messages: Array.from({ length: 1000 }, (_, i) => ({ body: `${id}${i}`, partition: 1 })),
    });
    expect((await producer.request({ type: 'publish', application: app, queue, messages: [{ body: 'before' }] })).type).toBe('published');

    process.kill(redis.pid, 'SIGSTOP');
    frozen = true;
    const frozenAt = Date.now();
    // Three appends too large to share a call (appender.ts: 1000 messages a call): a in flight, b and c behind it.
    for (const id of ['a', 'b', 'c']) producer.send(publish(id));
    const replies = await Promise.all(['a', 'b', 'c'].map((id) => producer.waitFor((f) => 'id' in f && f.id === id, `reply to ${id}`, 0, ANSWER_BOUND_MS)));
    // One command timeout for all three, not one each (5, 10, 15 s): "answered within about 10 s".
    expect(Date.now() - frozenAt).toBeLessThan(2 * COMMAND_TIMEOUT_MS);
    expect(replies.map((r) => (r.type === 'error' ? r.error.code : r.type))).toEqual(['engine_unavailable', 'engine_unavailable', 'engine_unavailable']);

    process.kill(redis.pid, 'SIGCONT');
    frozen = false;
    // a was sent: the resumed Redis stores it (outcome unknown, README). b and c never left the node.
    const ref = { app, queue, partition: 1 };
    await eventually(async () => (await node.engine.count(ref)) === 1001, "a's messages stored once Redis resumes");
    const after = await producer.request({ type: 'publish', application: app, queue, messages: [{ body: 'after' }] });
    expect(after).toMatchObject({ type: 'published', messages: [{ seq: 1002 }] });
  });
});
