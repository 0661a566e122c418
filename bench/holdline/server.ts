/**
 * Starting Holdline for a target (SPEC.md §6: env configuration, POST /v1/apps with the operator
 * key) and the set-up calls every hook shares.
 *
 * BENCH_HOLDLINE_DIST may name another build's dist/ (e.g. of a clean worktree of HEAD), so a run
 * measures a known commit while the working tree is being edited.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NotAvailableError } from '../lib/not-available.js';
import { repoRoot } from '../lib/paths.js';
import { cpuSeconds, freePort, spawnServer } from '../lib/proc.js';
import { redisPidsOf, type RedisHandle, type RunningServer } from '../lib/servers.js';

export type Engine = 'memory' | 'redis';
export type Transport = 'ws' | 'rest';

export interface HoldlineServer extends RunningServer {
  engine: Engine;
  /** Base URL of the REST API, e.g. http://127.0.0.1:7701 */
  restUrl: string;
  /** Key of the application created for this run ('bench'). */
  appKey: string;
  /** The deployment's admin key (another node joining it needs the same one). */
  adminKey: string;
}

/** Results of the closed-loop scenarios; latencies in milliseconds. */
export interface ThroughputFigures {
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  details: Record<string, number | string | boolean>;
}

export interface LatencyFigures {
  p50Ms: number;
  p99Ms: number;
  details: Record<string, number | string | boolean>;
}

export const BENCH_APP = 'bench';

/** The dist/ whose CLI is measured (read when used: run.ts --head sets it after building HEAD). */
export function holdlineDist(): string {
  return process.env.BENCH_HOLDLINE_DIST ? path.resolve(process.env.BENCH_HOLDLINE_DIST) : path.join(repoRoot, 'dist');
}

/**
 * What is measured, for the report: the commit of a --head build (HOLDLINE_COMMIT beside its
 * dist/), else this tree's HEAD, flagged when src/ has uncommitted changes (built as they were).
 */
export function describeHoldlineBuild(): string {
  const dist = holdlineDist();
  const stamp = path.join(path.dirname(dist), 'HOLDLINE_COMMIT');
  if (existsSync(stamp)) return `commit ${readFileSync(stamp, 'utf8').trim()} (clean build of that commit)`;
  try {
    const head = execFileSync('git', ['-C', repoRoot, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', repoRoot, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return `commit ${head}${dirty ? ' plus uncommitted changes in src/ (working tree build)' : ''}`;
  } catch {
    return 'unknown build (no git)';
  }
}

/**
 * Starts one `holdline serve` on a free loopback port with the given engine and creates app 'bench'. `join` starts another node of an
 * existing deployment instead (same Redis, same prefix): the app exists there already, so the node
 * is handed its key rather than creating it. `redis` may be one server (redis://) or a Redis
 * Cluster (redis+cluster://, lib/redis-cluster.ts).
 */
export async function startHoldline(
  engine: Engine,
  redis?: RedisHandle,
  extraEnv: Record<string, string> = {},
  join?: { adminKey: string; appKey: string },
): Promise<HoldlineServer> {
  const cli = path.join(holdlineDist(), 'src', 'cli', 'main.js');
  if (!existsSync(cli)) throw new NotAvailableError(`Holdline not built (${path.relative(repoRoot, cli)} missing: npm run build)`);
  if (engine === 'redis' && !redis) throw new Error('the redis engine needs the run\'s redis-server');
  const port = await freePort();
  const adminKey = join?.adminKey ?? randomBytes(16).toString('hex');
  const s = await spawnServer({
    name: `holdline-${engine}`,
    cmd: process.execPath,
    args: [...(process.env.BENCH_HOLDLINE_NODE_ARGS ?? '').split(' ').filter(Boolean), cli, 'serve'],
    env: {
      ...process.env,
      HOLDLINE_HOST: '127.0.0.1',
      HOLDLINE_PORT: String(port),
      HOLDLINE_ENGINE: engine,
      HOLDLINE_ADMIN_KEY: adminKey,
      HOLDLINE_LOG_LEVEL: 'warn',
      ...(redis ? { HOLDLINE_REDIS_URL: redis.url } : {}),
      ...extraEnv,
    },
    waitPorts: [port],
  });
  const restUrl = `http://127.0.0.1:${port}`;
  try {
    const key = join ? join.appKey : await createBenchApp(restUrl, adminKey);
    return {
      name: `holdline-${engine}`,
      engine,
      pids: [s.pid],
      endpoint: { protocol: 'holdline', port, params: { key, app: BENCH_APP } },
      ...(redis ? { redisPid: redis.pid, redisPids: redis.pids ?? [redis.pid] } : {}),
      restUrl,
      adminKey,
      appKey: key,
      stop: s.stop,
    };
  } catch (e) {
    await s.stop();
    throw e;
  }
}

async function createBenchApp(restUrl: string, adminKey: string): Promise<string> {
  const res = await fetch(`${restUrl}/v1/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Admin ${adminKey}` },
    body: JSON.stringify({ name: BENCH_APP }),
  });
  if (res.status !== 201) throw new Error(`POST /v1/apps answered ${res.status}: ${await res.text()}`);
  const { key } = (await res.json()) as { key: string };
  return key;
}

/** One REST call for set-up (not on a measured path), JSON in and out; throws unless `expect`. */
export async function rest<T = unknown>(server: HoldlineServer, method: string, route: string, body?: unknown, expect = [200, 201, 204]): Promise<T> {
  const res = await fetch(`${server.restUrl}${route}`, {
    method,
    headers: { authorization: `Application ${server.appKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!expect.includes(res.status)) throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Creates a message queue of app 'bench'; weak consistency (acked once the engine stored it). */
export async function createQueue(server: HoldlineServer, name: string, partitions = 1, consistency = 'weak'): Promise<void> {
  await rest(server, 'POST', `/${BENCH_APP}`, { queue_name: name, partitions, consistency }, [201]);
}

/**
 * fanout: create the message queue the subscribers and the publisher use; returns the topic string
 * handed to the protocol adapter's subscribe()/publisher() (the queue name; the application is in
 * the endpoint's params).
 */
export async function prepareFanout(server: HoldlineServer, queueName: string): Promise<string> {
  await createQueue(server, queueName, 1);
  return queueName;
}

/**
 * CPU the server (and its Redis) uses from now on: call the result to read cores used meanwhile.
 * `redis` is summed over every Redis process (a cluster's nodes); `redisPerNode` lists each node's
 * share when there is more than one (how the load spread over the shards).
 */
export function serverCpuMeter(server: RunningServer): () => { holdline: number; redis: number; redisPerNode?: number[] } {
  const t0 = Date.now();
  const redisPids = redisPidsOf(server);
  const h0 = server.pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const r0 = redisPids.map(cpuSeconds);
  return () => {
    const secs = Math.max(0.001, (Date.now() - t0) / 1000);
    const h = server.pids.reduce((s, p) => s + cpuSeconds(p), 0) - h0;
    const perNode = redisPids.map((p, i) => (cpuSeconds(p) - r0[i]!) / secs);
    const r = perNode.reduce((s, x) => s + x, 0);
    return {
      holdline: Number((h / secs).toFixed(2)),
      redis: Number(r.toFixed(2)),
      ...(perNode.length > 1 ? { redisPerNode: perNode.map((x) => Number(x.toFixed(2))) } : {}),
    };
  };
}

/** The generator's own CPU (this process) from now on, in cores. */
export function selfCpuMeter(): () => number {
  const t0 = Date.now();
  const c0 = process.cpuUsage();
  return () => {
    const c = process.cpuUsage(c0);
    return Number(((c.user + c.system) / 1000 / Math.max(1, Date.now() - t0)).toFixed(2));
  };
}
