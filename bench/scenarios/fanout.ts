/**
 * fanout: 1 publisher → 1 topic → N subscribers, fixed-size bodies.
 *
 * Phase 1 (saturation) finds the most the system delivers: the publisher keeps at most `window`
 * messages in flight per subscriber (published minus the average received, as the generator
 * processes report every 5 ms), so the rate settles where the server (or, if the ceiling run says
 * so, the generator) runs out of CPU, without piling up unbounded buffers. The feedback itself caps
 * the publish rate near window ÷ 5 ms (~13k/s for 64: 13M deliveries/s to 1,000 subscribers). A
 * small window keeps servers off their slow backpressure paths (buffering megabytes per socket).
 * Delivered messages/s is counted over the phase after a warm-up. Phase 2 publishes open-loop at
 * half that rate and records the publish-to-receive latency of every delivery.
 */
import { GenPool } from '../lib/gen.js';
import { stampedBody } from '../lib/payload.js';
import { cpuSeconds } from '../lib/proc.js';
import { log, timedBar } from '../lib/progress.js';
import { protocolFor, type WireProtocol } from '../lib/protocols.js';
import { figure, type Role, type TargetResult } from '../lib/results.js';
import { redisPidsOf, startRawUws, startRedis, startSocketIo, startSoketi, startNats, type RedisHandle, type RunningServer } from '../lib/servers.js';
import { clusterShape, startRedisCluster, type RedisClusterHandle } from '../lib/redis-cluster.js';
import { prepareFanout, startHoldline } from '../holdline/targets.js';
import { ms, runTarget, selected, type Cleanup, type Measured, type ScenarioContext } from './common.js';

export interface FanoutOptions {
  subscribers: number;
  bodyBytes: number;
  saturateMs: number;
  latencyMs: number;
  genProcs: number;
  /** Messages in flight per subscriber during saturation. */
  window: number;
  /**
   * After each phase, what was published still counts as delivered if it arrives before nothing
   * has moved for this long (default 2000 ms). The smoke test gives a loaded machine more.
   */
  drainStallMs?: number;
}

export function fanoutOptions(quick: boolean): FanoutOptions {
  return quick
    ? { subscribers: 100, bodyBytes: 256, saturateMs: 2000, latencyMs: 1500, genProcs: 2, window: 64 }
    : { subscribers: 1000, bodyBytes: 256, saturateMs: 10_000, latencyMs: 8000, genProcs: 2, window: 64 };
}

const cpuOf = (pids: number[]): number => pids.reduce((s, p) => s + cpuSeconds(p), 0);

/** Waits until every published message was delivered or nothing moved for `stallMs` (also bench/tools/fanout-cost.ts). */
export async function drain(pool: GenPool, expected: number, stallMs: number): Promise<void> {
  let last = -1;
  let lastMove = Date.now();
  while (pool.received() < expected) {
    const r = pool.received();
    if (r !== last) {
      last = r;
      lastMove = Date.now();
    } else if (Date.now() - lastMove > stallMs) return;
    await new Promise((res) => setTimeout(res, 10));
  }
}

export async function measureFanout(
  server: RunningServer,
  topic: string,
  proto: WireProtocol,
  o: FanoutOptions,
  cleanup: Cleanup,
): Promise<Measured> {
  const ep = server.endpoint;
  const pool = await GenPool.start(o.genProcs);
  cleanup.add(() => pool.close());
  const opened = await pool.open(ep, o.subscribers, topic, [], 64);
  if (opened.ok < o.subscribers) {
    throw new Error(`only ${opened.ok}/${o.subscribers} subscribers connected: ${opened.firstError ?? 'no error given'}`);
  }
  const pubWs = await proto.open(ep);
  cleanup.add(async () => pubWs.destroy());
  const publish = await proto.publisher(pubWs, topic, ep);
  const n = opened.ok;
  const redisPids = redisPidsOf(server);
  const serverPids = [...server.pids, ...redisPids];
  const cpuRedis = (): number[] => redisPids.map(cpuSeconds);

  // Phase 1: saturation, closed loop on delivery.
  let sent = 0;
  let waiting = false;
  let done = false;
  let pump: () => void = () => {};
  pool.measure(false, () => {
    if (waiting) {
      waiting = false;
      pump();
    }
  });
  const warmMs = Math.min(1000, o.saturateMs / 4);
  const bar = timedBar(`  saturate (${n} subscribers)`, o.saturateMs, () => `${sent} published`);
  let mark: { t: number; received: number; sent: number; cpuServer: number; cpuGen: number; cpuRedis: number[] } | undefined;
  await new Promise<void>((resolve) => {
    const finish = setTimeout(() => {
      done = true;
      resolve();
    }, o.saturateMs);
    const warm = setTimeout(() => {
      mark = { t: Date.now(), received: pool.received(), sent, cpuServer: cpuOf(serverPids), cpuGen: cpuOf(pool.pids), cpuRedis: cpuRedis() };
    }, warmMs);
    pump = () => {
      if (done) return;
      let k = 0;
      while (k < 128 && sent - pool.received() / n < o.window) {
        publish(stampedBody(o.bodyBytes));
        sent++;
        k++;
      }
      if (pubWs.closed) {
        clearTimeout(finish);
        clearTimeout(warm);
        done = true;
        resolve();
        return;
      }
      if (k < 128) waiting = true;
      else if (pubWs.socket.writableNeedDrain) pubWs.socket.once('drain', pump);
      else setImmediate(pump);
    };
    pump();
  });
  const endMark = { t: Date.now(), received: pool.received(), sent, cpuServer: cpuOf(serverPids), cpuGen: cpuOf(pool.pids), cpuRedis: cpuRedis() };
  await drain(pool, sent * n, o.drainStallMs ?? 2000);
  const sat = await pool.report();
  bar.stop(`${sent} published`);
  if (pubWs.closed) throw new Error('the server closed the publisher connection during saturation');
  if (!mark) throw new Error('saturation phase too short to measure');
  const secs = (endMark.t - mark.t) / 1000;
  const deliveredPerSec = (endMark.received - mark.received) / secs;
  const publishPerSec = (endMark.sent - mark.sent) / secs;
  const serverCpu = (endMark.cpuServer - mark.cpuServer) / secs;
  const genCpu = (endMark.cpuGen - mark.cpuGen) / secs;
  const redisPerNode = endMark.cpuRedis.map((c, i) => (c - mark!.cpuRedis[i]!) / secs);
  const satLost = sent * n - sat.received;

  // Phase 2: open loop at half the saturating publish rate, latency of every delivery.
  const rate = publishPerSec / 2;
  let sent2 = 0;
  pool.measure(true, () => {});
  const bar2 = timedBar(`  latency at ${Math.round(rate)} pub/s`, o.latencyMs, () => `${sent2} published`);
  const t2 = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Date.now() - t2;
      if (elapsed >= o.latencyMs || pubWs.closed) {
        clearInterval(timer);
        resolve();
        return;
      }
      const due = Math.floor((rate * elapsed) / 1000) - sent2;
      for (let i = 0; i < due && i < 10_000; i++) {
        publish(stampedBody(o.bodyBytes));
        sent2++;
      }
    }, 1);
  });
  await drain(pool, sent2 * n, o.drainStallMs ?? 2000);
  const lat = await pool.report();
  bar2.stop(`${sent2} published`);
  const lost2 = sent2 * n - lat.received;
  log(
    `  ${Math.round(deliveredPerSec)} delivered/s (server CPU ${serverCpu.toFixed(2)}, generator CPU ${genCpu.toFixed(2)} cores); ` +
      `p50 ${ms(lat.hist.percentile(50))} ms, p99 ${ms(lat.hist.percentile(99))} ms`,
  );
  return {
    figures: {
      delivered_per_s: figure(Math.round(deliveredPerSec), 'msg/s', 'higher', 'throughput'),
      p50_ms: figure(ms(lat.hist.percentile(50)), 'ms', 'lower', 'latency'),
      p99_ms: figure(ms(lat.hist.percentile(99)), 'ms', 'lower', 'latency'),
    },
    details: {
      subscribers: n,
      body_bytes: o.bodyBytes,
      saturating_publish_per_s: Math.round(publishPerSec),
      latency_publish_per_s: Math.round(rate),
      latency_samples: lat.hist.count,
      server_cpu_cores: Number(serverCpu.toFixed(2)),
      // server_cpu_cores is Holdline + Redis here; the split, for the Scale-out table.
      ...(redisPids.length
        ? {
            redis_cpu_cores: Number(redisPerNode.reduce((a, b) => a + b, 0).toFixed(2)),
            holdline_cpu_cores: Number((serverCpu - redisPerNode.reduce((a, b) => a + b, 0)).toFixed(2)),
          }
        : {}),
      ...(redisPids.length > 1 ? { redis_cpu_cores_per_node: redisPerNode.map((x) => x.toFixed(2)).join('/') } : {}),
      generator_cpu_cores: Number(genCpu.toFixed(2)),
      lost_in_saturation: satLost,
      lost_in_latency_phase: lost2,
      closed_unexpectedly: lat.closedUnexpectedly,
    },
  };
}

interface FanoutTarget {
  name: string;
  role: Role;
  start(cleanup: Cleanup): Promise<{ server: RunningServer; topic: string; details?: Measured['details'] }>;
}

async function withRedis(cleanup: Cleanup) {
  const redis = await startRedis();
  cleanup.add(redis.stop);
  return redis;
}

/**
 * Where a Holdline target keeps its data: in memory, one Redis, or a 3-primary Redis Cluster (no
 * replicas, like the single Redis; issue 6). On the cluster the one fanout partition lives in one
 * hash slot, so on one shard: the other two primaries stay idle, as they would for one hot queue.
 */
type Store = 'memory' | 'redis' | 'redis-cluster';

async function startStore(store: Store, cleanup: Cleanup): Promise<RedisHandle | RedisClusterHandle | undefined> {
  if (store === 'memory') return undefined;
  const redis = store === 'redis' ? await startRedis() : await startRedisCluster();
  cleanup.add(redis.stop);
  return redis;
}

/**
 * JSON is the protocol's default subprotocol (the targets are judged on it); msgpack is shown beside.
 * `batched`: subscribers ask for `batch: true` (websocket.md 4.2, `messages` frames), as the SDK does.
 */
function holdlineTarget(store: Store, format: 'json' | 'msgpack' = 'json', mode: 'per-message' | 'batched' = 'per-message'): FanoutTarget {
  return {
    name: `holdline-${store}${format === 'json' ? '' : `-${format}`}${mode === 'batched' ? '-batched' : ''}`,
    role: 'holdline',
    async start(cleanup) {
      protocolFor('holdline'); // not available until the adapter is filled in: fail before starting anything
      const redis = await startStore(store, cleanup);
      const server = await startHoldline(store === 'memory' ? 'memory' : 'redis', redis);
      cleanup.add(server.stop);
      if (format !== 'json') server.endpoint.params.format = format;
      if (mode === 'batched') server.endpoint.params.batch = 'true';
      const topic = await prepareFanout(server, 'bench-fanout');
      return { server, topic, ...(redis && 'primaries' in redis ? { details: { redis_cluster: clusterShape(redis) } } : {}) };
    },
  };
}

const simple = (name: string, role: Role, start: (cleanup: Cleanup) => Promise<RunningServer>): FanoutTarget => ({
  name,
  role,
  async start(cleanup) {
    const server = await start(cleanup);
    cleanup.add(server.stop);
    return { server, topic: 'bench-fanout' };
  },
});

export const fanoutTargets: FanoutTarget[] = [
  simple('raw-uws', 'ceiling', () => startRawUws()),
  // Listed after raw-uws: ratios use the first ceiling row. inline: publishing inside the handler
  // (what the ceiling did first; servers/raw-uws.ts says why it is no ceiling); batched: what one
  // frame per subscriber per loop turn is worth.
  simple('raw-uws-inline', 'ceiling', () => startRawUws('inline')),
  simple('raw-uws-batched', 'ceiling', () => startRawUws('batch')),
  holdlineTarget('memory'),
  holdlineTarget('memory', 'json', 'batched'),
  holdlineTarget('redis'),
  holdlineTarget('redis', 'json', 'batched'),
  holdlineTarget('redis-cluster'),
  holdlineTarget('memory', 'msgpack'),
  simple('soketi', 'peer', () => startSoketi()),
  simple('soketi-redis', 'peer', async (c) => startSoketi(await withRedis(c))),
  simple('socketio', 'peer', () => startSocketIo()),
  simple('socketio-redis', 'peer', async (c) => startSocketIo(await withRedis(c))),
  simple('nats-ws', 'peer', () => startNats()),
];

export async function runFanout(ctx: ScenarioContext, opts = fanoutOptions(ctx.quick)): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  for (const t of fanoutTargets) {
    if (!selected(ctx, t.name)) continue;
    out.push(
      await runTarget('fanout', t.name, t.role, async (cleanup) => {
        const { server, topic, details } = await t.start(cleanup);
        const m = await measureFanout(server, topic, protocolFor(server.endpoint.protocol), opts, cleanup);
        return details ? { ...m, details: { ...details, ...m.details } } : m;
      }),
    );
  }
  return out;
}
