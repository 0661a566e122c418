/**
 * Redis goes away and comes back (issue 6, faults): a Holdline node on its own redis-server (AOF,
 * fsync always, in its own directory). While Redis is stopped: /readyz answers 503, publishes over
 * REST and WebSocket fail fast with engine_unavailable (bounded: an answer, not a hang), call-queue
 * routes too. When Redis is back on the same port, Holdline recovers by itself: /readyz turns 200,
 * subscribers are told (`resync`, reason engine) and end with every acknowledged message exactly
 * once, in order; the call-queue live feed resumes as well.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HoldlineClient, type MessageFrame } from '../../src/client/index.js';
import type { CallQueueEvent } from '../../src/engine/call-types.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { JSON_CT, appWithQueue, call, errorCode } from '../helpers/server.js';
import { WsTestClient } from '../helpers/ws-client.js';
import { eventually, startNode, type HoldlineNode } from '../cluster/nodes.js';

const AOF = ['--appendonly', 'yes', '--appendfsync', 'always'];
/** A refused request must be answered within this (it is a bound against hanging, not a speed target). */
const ANSWER_BOUND_MS = 10_000;

describe('Redis stopped and restarted under a running node', () => {
  let redis: RedisServerHandle;
  let node: HoldlineNode;
  const cleanups: Array<() => Promise<void>> = [];

  let dir: string;

  beforeAll(async () => {
    // Its own directory, kept across the restart so that the server reads the same AOF back.
    dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-faults-'));
    redis = await startRedisServer({ args: AOF, dir });
    node = await startNode(redis.url, freshPrefix('faults'), { config: { logLevel: process.env.DBG_LOG ?? 'silent' } });
  });
  afterAll(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn();
    await node?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails fast and tells while Redis is away, recovers by itself when it returns, loses nothing acknowledged', { timeout: 120_000 }, async () => {
    const s = node.server;
    const { app, key, queue } = await appWithQueue(s, 2);
    const callQueue = (await call(s, key, 'POST', '/v1/queues', { name: 'support' })).body.uuid as string;

    // An SDK subscriber (what applications use) and a raw one (to see every frame as sent).
    const client = new HoldlineClient({ urls: s.url.replace(/^http/, 'ws'), key, backoff: { baseMs: 50, maxMs: 200 } });
    cleanups.push(() => client.close());
    const got: MessageFrame[] = [];
    const sub = client.subscribe(app, queue, { partitions: [1, 2] }, (m) => got.push(m));
    await sub.ready;
    const raw = await WsTestClient.open(s.url, { key });
    cleanups.push(async () => void (await raw.close()));
    expect((await raw.request({ type: 'subscribe', application: app, queue, partitions: [1, 2] })).type).toBe('subscribed');
    const changes: CallQueueEvent[] = [];
    const unfollow = await node.calls.subscribeQueue(app, callQueue, (e) => changes.push(e));
    cleanups.push(unfollow);

    const acked: { partition: number; id: string }[] = [];
    const post = async (body: string, partition: number): Promise<Response> => {
      const res = await s.request(`/${app}/${queue}`, {
        method: 'POST', key, headers: JSON_CT, body: JSON.stringify({ body, partition }), signal: AbortSignal.timeout(ANSWER_BOUND_MS),
      });
      if (res.status === 201) acked.push({ partition, id: ((await res.clone().json()) as { messages: { key: string }[] }).messages[0]!.key });
      return res;
    };
    for (let i = 0; i < 6; i++) expect((await post(`before-${i}`, 1 + (i % 2))).status).toBe(201);
    expect((await s.request('/readyz')).status).toBe(200);

    await redis.stop();

    await eventually(async () => (await s.request('/readyz', { signal: AbortSignal.timeout(ANSWER_BOUND_MS) })).status === 503, '/readyz 503');
    const refused = await post('while-down', 1);
    expect([refused.status, await errorCode(refused)]).toEqual([503, 'engine_unavailable']);
    const wsRefused = await raw.request({ type: 'publish', application: app, queue, messages: [{ body: 'ws-while-down', partition: 2 }] });
    expect(wsRefused).toMatchObject({ type: 'error', error: { code: 'engine_unavailable' } });
    await expect(client.publish(app, queue, [{ body: 'sdk-while-down', partition: 1 }])).rejects.toMatchObject({ code: 'engine_unavailable' });
    const callRefused = await call(s, key, 'POST', `/v1/queues/${callQueue}/callers`, { number: '1' });
    expect([callRefused.status, callRefused.body.error.code]).toEqual([503, 'engine_unavailable']);

    redis = await startRedisServer({ args: AOF, dir, port: redis.port });

    // No restart of Holdline, no action from anyone: it notices by itself.
    await eventually(async () => (await s.request('/readyz')).status === 200, '/readyz 200 again');
    await eventually(async () => (await post('after-0', 1)).status === 201, 'publishing again');
    for (let i = 1; i < 6; i++) expect((await post(`after-${i}`, 1 + (i % 2))).status).toBe(201);

    // Subscribers were told, and catch up without loss or duplicate.
    await raw.until(() => raw.frames.some((f) => f.type === 'resync' && f.partition === 1 && f.reason === 'engine'), 'resync frame');
    const byPartition = (ms: { partition: number; message_id: string }[]): Record<number, string[]> => {
      const out: Record<number, string[]> = { 1: [], 2: [] };
      for (const m of ms) out[m.partition]!.push(m.message_id);
      return out;
    };
    const expected = byPartition(acked.map((a) => ({ partition: a.partition, message_id: a.id })));
    await raw.until(() => raw.messages({ queue }).length >= acked.length, 'raw subscriber caught up');
    expect(byPartition(raw.messages({ queue }))).toEqual(expected);
    await eventually(() => got.length >= acked.length, 'SDK subscriber caught up');
    expect(byPartition(got)).toEqual(expected);
    // The history (AOF) kept everything acknowledged before the stop, and nothing refused.
    const history = (await (await s.request(`/${app}/${queue}?partitions=1,2&limit=100`, { key })).json()) as { messages: { body: string }[] };
    expect(history.messages.map((m) => m.body).sort()).toEqual([...Array(6).keys()].flatMap((i) => [`before-${i}`, `after-${i}`]).sort());

    // The call store recovered too: its feed was resubscribed (resync) and is live.
    expect((await call(s, key, 'POST', `/v1/queues/${callQueue}/callers`, { number: '2' })).status).toBe(201);
    await eventually(() => changes.some((e) => e.type === 'change'), 'a live call-queue change');
    expect(changes.filter((e) => e.type === 'resync')).toHaveLength(1);
  });
});
