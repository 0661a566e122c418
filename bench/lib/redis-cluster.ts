/**
 * A local Redis Cluster for the bench's `holdline-redis-cluster` targets (issue 6: the same
 * scenario on a 3-primary cluster beside one Redis on the same machine).
 *
 * `redis-server --cluster-enabled yes` nodes started by the launcher the tests share
 * (bench/lib/redis-server.ts: free client and cluster-bus ports, each in its own temp dir where its
 * nodes.conf lands), joined with `redis-cli --cluster create --cluster-replicas N --cluster-yes`,
 * awaited until every node reports cluster_state:ok, every wait bounded. Every node is stopped by its
 * PID, its dir removed.
 *
 * Default 3 primaries, no replicas: the fair counterpart of the single-Redis rows (one Redis, no
 * replica, no persistence); the nodes get the same settings as startRedis() gives that one.
 */
import { execFile } from 'node:child_process';
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
  /** Longest the start (nodes, create, cluster_state:ok) may take. */
  timeoutMs?: number;
}

export interface RedisClusterHandle extends RedisHandle {
  /** redis+cluster://127.0.0.1:p1,127.0.0.1:p2,... (every node, as Holdline's engine takes it). */
  url: string;
  /** Every node's PID (CPU and memory of the cluster are summed over these). */
  pids: number[];
  ports: number[];
  primaries: number;
  replicasPerPrimary: number;
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
  const left = (): number => Math.max(1000, deadline - Date.now());
  const nodes: Array<{ port: number; s: RedisServerHandle }> = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((n) => n.s.stop()));
  };
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++) {
      const s = await startRedisServer({
        clusterBus: true,
        args: ['--protected-mode', 'yes', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
      });
      nodes.push({ port: s.port, s });
    }
    const ports = nodes.map((n) => n.port);
    const created = await cli(
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'],
      left(),
    );
    if (!/All 16384 slots covered/.test(created)) throw new Error(`redis-cli --cluster create did not cover every slot:\n${created.slice(-500)}`);
    // Every node must agree the cluster is ok (slots known, gossip settled) before Holdline reads
    // the topology; a replica must also be linked to its primary.
    for (;;) {
      const states = await Promise.all(
        ports.map(async (p) => {
          try {
            const [info, repl] = await Promise.all([cli(['-p', String(p), 'cluster', 'info'], 5000), cli(['-p', String(p), 'info', 'replication'], 5000)]);
            return /cluster_state:ok/.test(info) && (!/role:slave/.test(repl) || /master_link_status:up/.test(repl));
          } catch {
            return false; // asked again until the deadline
          }
        }),
      );
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error('Redis Cluster did not report cluster_state:ok in time');
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
      port: ports[0]!,
      pid: nodes[0]!.s.pid,
      pids: nodes.map((n) => n.s.pid),
      ports,
      primaries,
      replicasPerPrimary: replicas,
      version: redisVersion(bin),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
