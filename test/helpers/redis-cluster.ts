/**
 * A real local Redis Cluster for tests (STYLE.md example 10, issue 6): `redis-server
 * --cluster-enabled yes` processes on free loopback ports (client and cluster-bus ports both chosen
 * free), joined with `redis-cli --cluster create --cluster-replicas N --cluster-yes`, awaited until
 * every node reports cluster_state:ok and every replica's link is up. Every process is stopped by
 * PID (test/helpers/redis-server.ts). Nodes run with `cluster-require-full-coverage no`, as the
 * README's "Running a cluster" recipe starts them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { keySlot } from '../../src/engine/redis/slot.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';

const run = promisify(execFile);

export interface RedisClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /** Milliseconds before a silent primary is failed over (cluster-node-timeout). */
  nodeTimeoutMs?: number;
}

export interface RedisClusterHandle {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... (every node, as the engine takes it). */
  url: string;
  nodes: RedisServerHandle[];
  /** The node listening on a port. */
  node(port: number): RedisServerHandle;
  /** The current primaries' ports, from the topology the cluster reports. */
  primaryPorts(): Promise<number[]>;
  /** The port of the primary that owns a key's slot now. */
  primaryOf(key: string): Promise<number>;
  /** The port of a replica of that primary (from the replicas' own INFO: gossip may lag behind). */
  replicaOf(key: string): Promise<number>;
  /**
   * Crashes (SIGKILL) the primary that owns a key's slot, waits until a replica took its slots
   * over and the cluster is healthy again; resolves with the dead primary's port.
   */
  failover(key: string): Promise<number>;
  /** Resolves once every live node agrees the cluster is ok and every live replica is linked. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every node by PID (idempotent). */
  stop(): Promise<void>;
}

async function topology(nodes: RedisServerHandle[]): Promise<[number, number, ...[string, number, ...unknown[]][]][]> {
  for (const n of nodes) {
    try {
      return await ask(n.port, (r) => r.cluster('SLOTS'));
    } catch {
      // That node is down: ask the next one.
    }
  }
  throw new Error('no cluster node answers');
}

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  // Bounded: a node that accepts connections but never answers (a test holding a dead node's port)
  // must not hang the helper.
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
    commandTimeout: 2000,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const primaries = opts.primaries ?? 3;
  const replicas = opts.replicasPerPrimary ?? 1;
  const nodeTimeout = opts.nodeTimeoutMs ?? 2000;
  const nodes: RedisServerHandle[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      nodes.push(
        await startRedisServer({
          clusterBus: true,
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(nodeTimeout),
            // Replicas may serve a failover at once, and their first sync is not delayed.
            '--cluster-replica-validity-factor', '0',
            '--repl-diskless-sync-delay', '0',
            // As the README's cluster recipe: with `yes`, every node refuses every command
            // (CLUSTERDOWN) from the moment a primary is marked failed until a replica took over.
            '--cluster-require-full-coverage', 'no',
          ],
        }),
      );
    }
    await run('redis-cli', [
      '--cluster', 'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas', String(replicas),
      '--cluster-yes',
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  const handle: RedisClusterHandle = {
    url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
    nodes,
    node(port) {
      const n = nodes.find((x) => x.port === port);
      if (n === undefined) throw new Error(`no cluster node on port ${port}`);
      return n;
    },
    async primaryPorts() {
      const slots = await topology(nodes);
      return [...new Set(slots.map((s) => s[2]![1]))].sort((a, b) => a - b);
    },
    async primaryOf(key) {
      const slot = keySlot(key);
      const range = (await topology(nodes)).find(([lo, hi]) => slot >= lo && slot <= hi);
      if (range === undefined) throw new Error(`no primary serves slot ${slot}`);
      return range[2]![1];
    },
    async replicaOf(key) {
      const primary = await handle.primaryOf(key);
      for (const n of nodes) {
        const info = await ask(n.port, (r) => r.info('replication')).catch(() => '');
        if (/role:slave/.test(info) && new RegExp(`master_port:${primary}\\b`).test(info)) return n.port;
      }
      throw new Error(`no replica of ${primary}`);
    },
    async failover(key) {
      const victim = await handle.primaryOf(key);
      await handle.node(victim).kill();
      const deadline = Date.now() + 30_000;
      while ((await handle.primaryPorts()).includes(victim)) {
        if (Date.now() > deadline) throw new Error(`no replica took over from ${victim}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.waitHealthy();
      return victim;
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          nodes.map((n) =>
            ask(n.port, async (r) => {
              const [info, repl] = await Promise.all([r.cluster('INFO') as Promise<string>, r.info('replication')]);
              const ok = /cluster_state:ok/.test(info);
              const linked = !/role:slave/.test(repl) || /master_link_status:up/.test(repl);
              return ok && linked;
            }).catch(() => null),
          ),
        );
        // Nodes that are down (null) do not vote; every live one must be healthy.
        if (states.some((s) => s === true) && states.every((s) => s !== false)) return;
        if (Date.now() > deadline) throw new Error('Redis Cluster did not become healthy in time');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
  };
  try {
    await handle.waitHealthy();
  } catch (err) {
    await stop();
    throw err;
  }
  return handle;
}
