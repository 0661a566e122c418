/**
 * Issue 10 §1: the primary that holds the application registry (keys, queue metadata, their
 * announcement channel) dies on a 3+3 Redis Cluster while producers post to partitions on the
 * other shards. Those posts must keep succeeding: the nodes answer from the keys and queue
 * metadata they already know (meta-cache.ts "Registry outage") instead of asking the dead primary
 * (before the fix every one of them answered 503 engine_unavailable until a replica was promoted),
 * and promptly (none slower than SLOW_MS: before the fix, posts whose expiry-index update went to
 * the dead primary waited for it, up to seconds). A key revoked just before the outage is never
 * accepted, and is refused once the registry is back.
 */
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/engine/app-keys.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import type { QueueMeta } from '../../src/engine/types.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { JSON_CT } from '../helpers/server.js';
import { appWithKey, queueOf } from '../helpers/ws-client.js';
import { eventually, startNodes, stopNodes, type HoldlineNode } from './nodes.js';

const PARTITIONS = 9;
/** A post slower than this was held up by the dead primary (normally they take milliseconds). */
const SLOW_MS = 1500;

describe('registry primary killed on Redis Cluster', () => {
  let cluster: RedisClusterHandle;
  let nodes: HoldlineNode[] = [];
  let prefix = '';

  beforeAll(async () => {
    cluster = await startRedisCluster();
    // A deployment whose expiry index (written by appends that lower a partition's earliest
    // expiry, and every second per partition) lives on the registry's shard too: the dead primary
    // then holds both, and neither may hold up posts to the other shards.
    for (;;) {
      prefix = freshPrefix('clreg');
      const k = new RedisKeys(prefix);
      if ((await cluster.primaryOf(k.apps)) === (await cluster.primaryOf(k.expiryIndex))) break;
    }
    nodes = await startNodes(2, cluster.url, prefix, { config: { logLevel: process.env.DBG_LOG ?? 'silent' } });
  }, 60_000);
  afterAll(async () => {
    await stopNodes(nodes);
    await cluster?.stop();
  });

  it('posts to partitions on other shards keep succeeding; a key revoked before the outage stays refused', { timeout: 120_000 }, async () => {
    const engine = nodes[0]!.engine;
    const shop = await appWithKey(engine);
    const revoked = await engine.addKey(shop.name);
    const q: QueueMeta = await queueOf(engine, shop.name, { partitions: PARTITIONS });
    const keys = new RedisKeys(prefix);
    const registry = await cluster.primaryOf(keys.apps);
    const elsewhere: number[] = [];
    for (let p = 1; p <= PARTITIONS; p++) {
      if ((await cluster.primaryOf(keys.partition({ app: shop.name, queue: q.name, partition: p }).ids)) !== registry) elsewhere.push(p);
    }
    expect(elsewhere.length).toBeGreaterThan(0);

    const post = (node: HoldlineNode, key: string, partition: number, body: string): Promise<Response> =>
      node.server.request(`/${shop.name}/${q.name}`, {
        method: 'POST',
        key,
        headers: JSON_CT,
        body: JSON.stringify({ body, partition }),
        signal: AbortSignal.timeout(15_000),
      });

    // Both nodes have used both keys and the queue (what they know when the registry dies).
    for (const node of nodes) {
      for (const p of elsewhere) expect((await post(node, shop.key, p, 'warm')).status).toBe(201);
      expect((await post(node, revoked.key, elsewhere[0]!, 'warm')).status).toBe(201);
    }
    // Revoked just before the outage: every node refuses it, and the registry's replica has it.
    const res = await nodes[0]!.server.request(`/v1/apps/${shop.name}/keys/${revoked.record.id}`, {
      method: 'DELETE',
      headers: { authorization: `Admin ${nodes[0]!.server.adminKey}` },
    });
    expect(res.status).toBe(204);
    for (const node of nodes) expect((await post(node, revoked.key, elsewhere[0]!, 'revoked')).status).toBe(401);
    // Acknowledged only once the registry's replica has it (Catalog.revoke: WAIT 1), so the
    // failover below cannot bring the key back.
    const replica = new Redis({ port: await cluster.replicaOf(keys.apps), host: '127.0.0.1', lazyConnect: true });
    await replica.connect();
    try {
      await replica.readonly();
      expect(await replica.hexists(keys.keyHashes, hashKey(revoked.key))).toBe(0);
    } finally {
      replica.disconnect();
    }

    // Load: one producer per node, posting to the partitions on the healthy shards.
    const answers: { status: number; at: number; ms: number; code?: string }[] = [];
    const revokedAnswers: number[] = [];
    let producing = true;
    const produce = async (node: HoldlineNode, n: number): Promise<void> => {
      for (let i = 0; producing; i++) {
        const sent = Date.now();
        const r = await post(node, shop.key, elsewhere[i % elsewhere.length]!, `n${n}-${i}`);
        const body = (await r.json()) as { error?: { code: string; message: string } };
        const at = Date.now();
        answers.push({ status: r.status, at, ms: at - sent, ...(body.error ? { code: `node ${n}: ${body.error.code}` } : {}) });
      }
    };
    // And the revoked key, tried all along on every node (while the registry is down each try
    // waits for the dead primary: on its own loop, so the producers are not slowed).
    const probe = async (node: HoldlineNode): Promise<void> => {
      while (producing) revokedAnswers.push((await post(node, revoked.key, elsewhere[0]!, 'revoked')).status);
    };
    const producers = [...nodes.map((node, n) => produce(node, n)), ...nodes.map((node) => probe(node))];
    await eventually(() => answers.length >= 20, 'load running');

    const killedAt = Date.now();
    await cluster.node(registry).kill();
    // Hold the dead primary's port, as a host that stopped answering does: connections are
    // accepted and never answered (the harder case: nothing fails fast). Also, another process on
    // this machine taking the freed port would otherwise answer for it, empty.
    const held = new Set<net.Socket>();
    const holder = net.createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve, reject) => holder.once('error', reject).listen(registry, '127.0.0.1', resolve));
    await eventually(async () => !(await cluster.primaryPorts()).includes(registry), 'a replica took over the registry', 30_000);
    const promotedAt = Date.now();
    await cluster.waitHealthy();
    // The channel is back on both nodes (they resubscribed to the new primary).
    await eventually(() => nodes.every((n) => !n.engine.registryOutage()), 'registry channel back');
    const count = answers.length;
    await eventually(() => answers.length >= count + 20, 'load after the failover');
    producing = false;
    await Promise.all(producers);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => holder.close(resolve));

    const during = answers.filter((a) => a.at > killedAt && a.at < promotedAt);
    // The failover took seconds, and posts went on meanwhile (not one slow answer each).
    expect(promotedAt - killedAt).toBeGreaterThan(1000);
    expect(during.length).toBeGreaterThan(20);
    // Nor held up by the dead primary: a call to it costs a connect timeout (2 s), and appends
    // whose expiry-index update went there waited for it (sweeper.ts INDEX_WAIT_MS).
    expect(answers.filter((a) => a.ms > SLOW_MS)).toEqual([]);
    const failed = answers.filter((a) => a.status !== 201);
    expect(failed.map((f) => ({ ...f, sinceKill: f.at - killedAt, sincePromotion: f.at - promotedAt }))).toEqual([]);
    // The revoked key was never accepted, during the outage (401, or 503 while the registry could
    // not be asked) nor after it.
    expect(revokedAnswers.filter((s) => s === 201)).toEqual([]);
    for (const node of nodes) {
      expect((await post(node, revoked.key, elsewhere[0]!, 'after')).status).toBe(401);
      expect((await post(node, shop.key, elsewhere[0]!, 'after')).status).toBe(201);
    }
  });
});
