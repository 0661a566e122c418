/**
 * Holdline's side of each scenario. The harness calls these; until a part of Holdline exists, its
 * function throws NotAvailableError and the report says "not available" for it — never a figure.
 * startHoldline() follows SPEC.md §6 (env configuration, POST /v1/apps with the operator key) and
 * works as soon as `holdline serve` does; the scenario hooks below are TO FILL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { NotAvailableError } from '../lib/not-available.js';
import { repoRoot } from '../lib/paths.js';
import { freePort, spawnServer } from '../lib/proc.js';
import type { RedisHandle, RunningServer } from '../lib/servers.js';

export type Engine = 'memory' | 'redis';
export type Transport = 'ws' | 'rest';

export interface HoldlineServer extends RunningServer {
  engine: Engine;
  /** Base URL of the REST API, e.g. http://127.0.0.1:7701 */
  restUrl: string;
  /** Key of the application created for this run ('bench'). */
  appKey: string;
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

const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** Starts `holdline serve` on a free loopback port with the given engine and creates app 'bench'. */
export async function startHoldline(engine: Engine, redis?: RedisHandle): Promise<HoldlineServer> {
  if (!existsSync(cli)) throw new NotAvailableError(`Holdline not built (${path.relative(repoRoot, cli)} missing: npm run build)`);
  if (engine === 'redis' && !redis) throw new Error('the redis engine needs the run\'s redis-server');
  const port = await freePort();
  const adminKey = randomBytes(16).toString('hex');
  const s = await spawnServer({
    name: `holdline-${engine}`,
    cmd: process.execPath,
    args: [cli, 'serve'],
    env: {
      ...process.env,
      HOLDLINE_HOST: '127.0.0.1',
      HOLDLINE_PORT: String(port),
      HOLDLINE_ENGINE: engine,
      HOLDLINE_ADMIN_KEY: adminKey,
      HOLDLINE_LOG_LEVEL: 'warn',
      ...(redis ? { HOLDLINE_REDIS_URL: redis.url } : {}),
    },
    waitPorts: [port],
  });
  const restUrl = `http://127.0.0.1:${port}`;
  try {
    const res = await fetch(`${restUrl}/v1/apps`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Admin ${adminKey}` },
      body: JSON.stringify({ name: 'bench' }),
    });
    if (res.status !== 201) throw new Error(`POST /v1/apps answered ${res.status}: ${await res.text()}`);
    const { key } = (await res.json()) as { key: string };
    return {
      name: `holdline-${engine}`,
      engine,
      pids: [s.pid],
      endpoint: { protocol: 'holdline', port, params: { key } },
      ...(redis ? { redisPid: redis.pid } : {}),
      restUrl,
      appKey: key,
      stop: s.stop,
    };
  } catch (e) {
    await s.stop();
    throw e;
  }
}

/**
 * fanout: create the message queue the subscribers and the publisher use; returns the topic string
 * handed to the protocol adapter's subscribe()/publisher(). TO FILL.
 */
export async function prepareFanout(server: HoldlineServer, queueName: string): Promise<string> {
  throw new NotAvailableError('Holdline fanout hook not filled in yet (bench/holdline/targets.ts prepareFanout)');
}

export interface IngestOptions {
  transport: Transport;
  producers: number;
  queues: number;
  partitions: number;
  ttlSeconds: number;
  bodyBytes: number;
  /** Messages each producer keeps in flight awaiting their ack (the peers get the same). */
  inflightPerProducer: number;
  durationMs: number;
}

/** ingest: `producers` clients publish with acks into queues × partitions with a TTL. TO FILL. */
export async function ingest(server: HoldlineServer, o: IngestOptions): Promise<ThroughputFigures> {
  throw new NotAvailableError('Holdline ingest hook not filled in yet (bench/holdline/targets.ts ingest)');
}

export interface HistoryOptions {
  transport: Transport;
  /** The queue holds exactly this many messages; every read is since=<start>, limit=<messages>. */
  messages: number;
  bodyBytes: number;
  concurrency: number;
  durationMs: number;
}

/** history: since/limit reads of the same `messages` messages, back to back. TO FILL. */
export async function history(server: HoldlineServer, o: HistoryOptions): Promise<ThroughputFigures> {
  throw new NotAvailableError('Holdline history hook not filled in yet (bench/holdline/targets.ts history)');
}

export interface PositionsOptions {
  callers: number;
  agents: number;
  /** Joins + leaves per second, half each, keeping the queue near `callers`. */
  changesPerSec: number;
  durationMs: number;
}

/** positions: time from each caller change to every subscribed agent's view updated. TO FILL. */
export async function positions(server: HoldlineServer, o: PositionsOptions): Promise<LatencyFigures> {
  throw new NotAvailableError('Holdline positions hook not filled in yet (bench/holdline/targets.ts positions)');
}
