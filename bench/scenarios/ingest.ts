/**
 * ingest: producers publish 256-byte messages with acks into queues × partitions with a TTL;
 * figures are persisted (acknowledged) messages/s and p99 ack latency.
 *
 * Baselines on their own fresh servers, same settings as Holdline's Redis:
 *  - redis-benchmark XADD, 50 clients, pipelining 16, over 40 stream keys (the store's ceiling);
 *  - NATS JetStream: file-backed stream with max_age = TTL, js.publish() awaiting each ack, over its
 *    TCP client protocol (the nats.js Node client has no WebSocket transport), the same number of
 *    producers and messages in flight as Holdline gets.
 */
import { spawn } from 'node:child_process';
import { NotAvailableError } from '../lib/not-available.js';
import { closedLoop } from '../lib/closed-loop.js';
import { loadPeer } from '../lib/paths.js';
import { cpuSeconds } from '../lib/proc.js';
import { stampedBody } from '../lib/payload.js';
import { figure, type TargetResult } from '../lib/results.js';
import { clusterShape, startRedisCluster } from '../lib/redis-cluster.js';
import { startNats, startRedis, type RedisHandle } from '../lib/servers.js';
import { ingest, startHoldline, type IngestOptions, type Transport } from '../holdline/targets.js';
import { ms, runTarget, selected, type Measured, type ScenarioContext } from './common.js';

export interface IngestRun extends Omit<IngestOptions, 'transport'> {
  /** redis-benchmark is bounded by a request count, not a time. */
  redisBenchmarkRequests: number;
}

/** Messages per frame of the ws-batched rows: a producer's 16 in-flight publishes of one turn, as the SDK coalesces them. */
const SDK_FRAME_MESSAGES = 16;

export function ingestOptions(quick: boolean): IngestRun {
  return {
    producers: 50,
    queues: 10,
    partitions: 4,
    ttlSeconds: 3600,
    bodyBytes: 256,
    durationMs: quick ? 1500 : 10_000,
    inflightPerProducer: 16,
    redisBenchmarkRequests: quick ? 100_000 : 2_000_000,
  };
}

interface CsvRow {
  rps: number;
  p50: number;
  p99: number;
}

export function parseRedisBenchmarkCsv(out: string): CsvRow {
  const lines = out.trim().split('\n').filter((l) => l.startsWith('"'));
  const header = lines.find((l) => l.startsWith('"test"'));
  const row = lines.find((l) => !l.startsWith('"test"'));
  if (!header || !row) throw new Error(`unexpected redis-benchmark output: ${out.slice(0, 300)}`);
  const cols = header.split(',').map((c) => c.replace(/"/g, ''));
  const vals = row.split(',').map((c) => c.replace(/"/g, ''));
  const get = (name: string): number => {
    const i = cols.indexOf(name);
    if (i === -1) throw new Error(`redis-benchmark CSV has no ${name} column`);
    return Number(vals[i]);
  };
  return { rps: get('rps'), p50: get('p50_latency_ms'), p99: get('p99_latency_ms') };
}

async function redisBenchmarkXadd(redis: RedisHandle, o: IngestRun): Promise<Measured> {
  const args = [
    '-h', '127.0.0.1', '-p', String(redis.port),
    '-c', String(o.producers), '-P', '16', '-n', String(o.redisBenchmarkRequests),
    '-r', String(o.queues * o.partitions), '--csv',
    'XADD', 'bench:ingest:__rand_int__', '*', 'body', 'x'.repeat(o.bodyBytes),
  ];
  const cpu0 = cpuSeconds(redis.pid);
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('error', (e) => reject((e as NodeJS.ErrnoException).code === 'ENOENT' ? new NotAvailableError('redis-benchmark not installed (Debian redis-tools)') : e));
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(stdout);
      else reject(new Error(`redis-benchmark exited ${code}: ${stderr.slice(0, 300)}`));
    });
  });
  const r = parseRedisBenchmarkCsv(out);
  const redisCpuS = cpuSeconds(redis.pid) - cpu0;
  return {
    figures: {
      persisted_per_s: figure(Math.round(r.rps), 'msg/s', 'higher', 'throughput'),
      p50_ack_ms: figure(r.p50, 'ms', 'lower', 'latency'),
      p99_ack_ms: figure(r.p99, 'ms', 'lower', 'latency'),
    },
    details: {
      clients: o.producers,
      pipeline: 16,
      requests: o.redisBenchmarkRequests,
      keys: o.queues * o.partitions,
      body_bytes: o.bodyBytes,
      // Redis CPU per persisted message (issue 18), from the redis-server's own CPU time.
      redis_cpu_us_per_msg: Number(((redisCpuS * 1e6) / o.redisBenchmarkRequests).toFixed(2)),
    },
  };
}

interface NatsConn {
  jetstream(): { publish(subject: string, data: Uint8Array): Promise<unknown> };
  jetstreamManager(): Promise<{ streams: { add(cfg: Record<string, unknown>): Promise<unknown> } }>;
  close(): Promise<void>;
}
interface NatsModule {
  connect(opts: Record<string, unknown>): Promise<NatsConn>;
  StorageType: { File: string };
  nanos(ms: number): number;
}

async function natsJetStream(o: IngestRun, cleanup: { add(f: () => Promise<void>): void }): Promise<Measured> {
  const nats = loadPeer<NatsModule>('nats');
  const server = await startNats();
  cleanup.add(server.stop);
  const conns: NatsConn[] = [];
  cleanup.add(async () => {
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
  });
  for (let i = 0; i < o.producers; i++) conns.push(await nats.connect({ servers: `127.0.0.1:${server.clientPort}` }));
  const jsm = await conns[0]!.jetstreamManager();
  await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], storage: nats.StorageType.File, max_age: nats.nanos(o.ttlSeconds * 1000) });
  const js = conns.map((c) => c.jetstream());
  const subjects = Array.from({ length: o.queues * o.partitions }, (_, i) => `bench.q${i % o.queues}.p${Math.floor(i / o.queues)}`);
  let n = 0;
  const r = await closedLoop(
    { label: '  jetstream publish', concurrency: o.producers * o.inflightPerProducer, durationMs: o.durationMs },
    (lane) => js[lane % o.producers]!.publish(subjects[n++ % subjects.length]!, Buffer.from(stampedBody(o.bodyBytes))),
  );
  if (r.ops === 0) throw new Error(`no publish acknowledged: ${r.firstError ?? 'no error given'}`);
  return {
    figures: {
      persisted_per_s: figure(Math.round(r.opsPerSec), 'msg/s', 'higher', 'throughput'),
      p50_ack_ms: figure(ms(r.hist.percentile(50)), 'ms', 'lower', 'latency'),
      p99_ack_ms: figure(ms(r.hist.percentile(99)), 'ms', 'lower', 'latency'),
    },
    details: { producers: o.producers, inflight_per_producer: o.inflightPerProducer, subjects: subjects.length, storage: 'file', errors: r.errors, body_bytes: o.bodyBytes },
  };
}

export async function runIngest(ctx: ScenarioContext, o = ingestOptions(ctx.quick)): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  const want = (name: string): boolean => selected(ctx, name);
  if (want('redis-benchmark-xadd')) {
    out.push(
      await runTarget('ingest', 'redis-benchmark-xadd', 'ceiling', async (cleanup) => {
        const redis = await startRedis();
        cleanup.add(redis.stop);
        return redisBenchmarkXadd(redis, o);
      }),
    );
  }
  // redis-cluster: a 3-primary Redis Cluster, no replicas (lib/redis-cluster.ts; issue 6): the
  // 10 queues × 4 partitions spread over the three primaries by hash slot.
  // ws: one message per publish frame; ws-batched: 16 to a frame, as the SDK coalesces a
  // producer's publishes of one turn (issue 18); rest: one message per POST.
  // -2workers: the same on `holdline serve --workers 2` (issue 18: every core), Redis only.
  const rows: Array<{ store: 'memory' | 'redis' | 'redis-cluster'; mode: 'ws' | 'ws-batched' | 'rest'; workers: number }> = [];
  for (const store of ['memory', 'redis', 'redis-cluster'] as const) {
    for (const mode of ['ws', 'ws-batched', 'rest'] as const) {
      if (mode === 'ws-batched' && store === 'redis-cluster') continue;
      rows.push({ store, mode, workers: 1 });
    }
  }
  rows.push({ store: 'redis', mode: 'ws', workers: 2 }, { store: 'redis', mode: 'ws-batched', workers: 2 });
  for (const { store, mode, workers } of rows) {
    const transport: Transport = mode === 'rest' ? 'rest' : 'ws';
    const name = `holdline-${store}-${mode}${workers > 1 ? `-${workers}workers` : ''}`;
    if (!want(name)) continue;
    out.push(
      await runTarget('ingest', name, 'holdline', async (cleanup) => {
        const cluster = store === 'redis-cluster' ? await startRedisCluster() : undefined;
        const redis = store === 'redis' ? await startRedis() : cluster;
        if (redis) cleanup.add(redis.stop);
        const server = await startHoldline(store === 'memory' ? 'memory' : 'redis', redis, workers > 1 ? { HOLDLINE_WORKERS: String(workers) } : {});
        cleanup.add(server.stop);
        const f = await ingest(server, { ...o, transport, frameMessages: mode === 'ws-batched' ? SDK_FRAME_MESSAGES : 1 });
        return {
          figures: {
            persisted_per_s: figure(Math.round(f.perSec), 'msg/s', 'higher', 'throughput'),
            p50_ack_ms: figure(f.p50Ms, 'ms', 'lower', 'latency'),
            p99_ack_ms: figure(f.p99Ms, 'ms', 'lower', 'latency'),
          },
          details: { ...(cluster ? { redis_cluster: clusterShape(cluster) } : {}), ...(workers > 1 ? { workers } : {}), ...f.details },
        };
      }),
    );
  }
  if (want('nats-jetstream')) out.push(await runTarget('ingest', 'nats-jetstream', 'peer', (cleanup) => natsJetStream(o, cleanup)));
  return out;
}
