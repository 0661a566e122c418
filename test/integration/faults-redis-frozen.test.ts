/**
 * Redis frozen under a running node (README "When something fails", protocol/errors.md): the
 * redis-server process is stopped with SIGSTOP, so its connections stay open but nothing answers.
 * /readyz answers 503; a publish is not refused at once but answered `engine_unavailable` after the
 * command timeout, and its outcome is unknown: its script was sent, so when Redis resumes (SIGCONT)
 * the message is stored and delivered to the subscriber all the same. The connections were never
 * lost, so no `resync` is sent. A node stopped (SIGTERM) while such a publish waits answers it
 * before it closes the connection 1001, as it finishes HTTP requests in flight.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metrics } from '../../src/metrics/registry.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { JSON_CT, errorCode } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';
import { eventually, startNode, type HoldlineNode } from '../cluster/nodes.js';

/** A refused request must be answered within this: the 5 s command timeout and margin, not a speed target. */
const ANSWER_BOUND_MS = 20_000;

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
    const { name: app, key } = await s.createApp();
    const created = await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions: 1, consistency: 'weak' }) });
    expect(created.status).toBe(201);
    const queue = ((await created.json()) as { queue_name: string }).queue_name;
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
    const { name: app, key } = await s.createApp();
    const created = await s.request(`/${app}`, { method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ partitions: 1, consistency: 'weak' }) });
    const queue = ((await created.json()) as { queue_name: string }).queue_name;
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
});
