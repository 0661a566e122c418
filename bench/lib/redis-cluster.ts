/**
 * A real local Redis Cluster: the one cluster launcher of the tests (test/helpers/redis-cluster.ts
 * re-exports it with the tests' defaults) and of the bench's `holdline-redis-cluster` targets.
 *
 * `redis-server --cluster-enabled yes` nodes started by the shared launcher (redis-server.ts: free
 * client and cluster-bus ports, each in its own temp dir where its nodes.conf lands), joined with
 * `redis-cli --cluster create --cluster-replicas N --cluster-yes`, awaited until every live node
 * reports cluster_state:ok and every replica's link is up, every wait bounded. Every node is stopped
 * by its PID. Nodes run with `cluster-require-full-coverage no`, as the README's "Running a cluster"
 * recipe starts them: with `yes` every node refuses every command (CLUSTERDOWN) from the moment a
 * primary is marked failed until a replica took over.
 *
 * Bench default 3 primaries, no replicas (BENCH_CLUSTER): the fair counterpart of the single-Redis
 * rows (one Redis, no replica, no persistence).
 */
import { execFile } from 'node:child_process';
import { Redis } from 'ioredis';
import { keySlot } from '../../src/engine/redis/slot.js';
import { NotAvailableError } from './not-available.js';
import { startRedisServer, type RedisServerHandle } from './redis-server.js';
import { redisVersion, which, type RedisHandle } from './servers.js';

/** What the bench's holdline-redis-cluster targets run on (recorded in each row's details). */
export const BENCH_CLUSTER = { primaries: 3, replicasPerPrimary: 0 } as const;

/** The row detail naming the cluster's shape, e.g. '3 primaries, 0 replicas'. */
export function clusterShape(c: { primaries: number; replicasPerPrimary: number }): string {
  return `${c.primaries} primaries, ${c.replicasPerPrimary * c.primaries} replicas`;
}

export interface RedisClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /** Milliseconds before a silent primary is failed over (cluster-node-timeout); default 5000. */
  nodeTimeoutMs?: number;
  /** Longest the start (nodes, create, healthy) may take; default 60 s. */
  timeoutMs?: number;
}

export interface RedisClusterHandle extends RedisHandle {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... (every node, as Holdline's engine takes it). */
  url: string;
  nodes: RedisServerHandle[];
  /** Every node's PID (CPU and memory of the cluster are summed over these). */
  pids: number[];
  ports: number[];
  primaries: number;
  replicasPerPrimary: number;
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
}

type SlotRange = [number, number, ...[string, number, ...unknown[]][]];

async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  // Bounded: a node that accepts connections but never answers (a test holding a dead node's port)
  // must not hang the launcher.
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

async function topology(nodes: RedisServerHandle[]): Promise<SlotRange[]> {
  for (const n of nodes) {
    try {
      return await ask(n.port, (r) => r.cluster('SLOTS') as Promise<SlotRange[]>);
    } catch {
      // That node is down: ask the next one.
    }
  }
  throw new Error('no cluster node answers');
}

function cli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new NotAvailableError('redis-cli not installed (Debian redis-tools)'));
        else reject(new Error(`redis-cli ${args.slice(0, 3).join(' ')} failed: ${err.message}\n${stderr}${stdout}`.slice(0, 800)));
      } else resolve(stdout);
    });
  });
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const primaries = opts.primaries ?? BENCH_CLUSTER.primaries;
  const replicas = opts.replicasPerPrimary ?? BENCH_CLUSTER.replicasPerPrimary;
  if (primaries < 3) throw new Error('Redis Cluster needs at least 3 primaries');
  const bin = which('redis-server');
  if (!bin) throw new NotAvailableError('redis-server not installed (Debian package redis-server)');
  if (!which('redis-cli')) throw new NotAvailableError('redis-cli not installed (Debian redis-tools)');
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const nodes: RedisServerHandle[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.stop()));
  };

  const handle: RedisClusterHandle = {
    url: '',
    nodes,
    pids: [],
    ports: [],
    port: 0,
    pid: 0,
    primaries,
    replicasPerPrimary: replicas,
    version: redisVersion(bin),
    stop,
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
      const until = Date.now() + 30_000;
      while ((await handle.primaryPorts()).includes(victim)) {
        if (Date.now() > until) throw new Error(`no replica took over from ${victim}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.waitHealthy();
      return victim;
    },
    async waitHealthy(timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          nodes.map((n) =>
            ask(n.port, async (r) => {
              const [info, repl] = await Promise.all([r.cluster('INFO') as Promise<string>, r.info('replication')]);
              return /cluster_state:ok/.test(info) && (!/role:slave/.test(repl) || /master_link_status:up/.test(repl));
            }).catch(() => null),
          ),
        );
        // Nodes that are down (null) do not vote; every live one must be healthy.
        if (states.some((s) => s === true) && states.every((s) => s !== false)) return;
        if (Date.now() > until) throw new Error('Redis Cluster did not become healthy in time');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };

  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      nodes.push(
        await startRedisServer({
          clusterBus: true,
          args: [
            '--protected-mode', 'yes',
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 5000),
            // Replicas may serve a failover at once, and their first sync is not delayed.
            '--cluster-replica-validity-factor', '0',
            '--repl-diskless-sync-delay', '0',
            '--cluster-require-full-coverage', 'no',
          ],
        }),
      );
    }
    const ports = nodes.map((n) => n.port);
    const created = await cli(
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      Math.max(1000, deadline - Date.now()),
    );
    if (!/All 16384 slots covered/.test(created)) throw new Error(`redis-cli --cluster create did not cover every slot:\n${created.slice(-500)}`);
    Object.assign(handle, {
      url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
      pids: nodes.map((n) => n.pid),
      ports,
      port: ports[0]!,
      pid: nodes[0]!.pid,
    });
    await handle.waitHealthy(Math.max(1000, deadline - Date.now()));
    return handle;
  } catch (e) {
    await stop();
    throw e;
  }
}
