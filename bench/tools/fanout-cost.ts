/**
 * Server CPU per delivered fan-out message, build against build, robust to a busy machine where
 * delivered/s is not: the fanout scenario's Holdline rows (bench/scenarios/fanout.ts: 1 publisher →
 * partition 1 of one queue → `SUBS` subscribers on the generator processes, 256-byte bodies), one
 * `holdline serve` per build, row and round, the SAME generator and publisher for every build. With
 * several builds (`DISTS=a,b`) the builds take turns per row and round, so load drifting over the
 * run hits each alike; the median round is printed.
 *
 *   npx tsx bench/tools/fanout-cost.ts                       # this tree's dist/, the four rows
 *   DISTS=/work/wt/base-636447c/dist,dist npx tsx bench/tools/fanout-cost.ts
 *   MODE=saturate DISTS=…,dist ROWS=redis-batched npx tsx bench/tools/fanout-cost.ts
 *
 * MODE=rate (default): the publisher sends `RATE` messages/s open loop (well below saturation, so
 * both builds do the same work and the figure is what that work costs); after `WARM_S` the server's
 * CPU (/proc/<pid>/stat), its redis-server's, the deliveries and the publishes are counted for
 * `SECONDS`. At this rate a batched subscriber's `messages` frame carries the few messages of one
 * flush, so batched rows cost about what per-message ones do: MODE=saturate shows batching.
 * MODE=saturate: the bench's own saturation phase (measureFanout: ≤ 64 in flight per subscriber) for
 * `SECONDS`, then a short latency phase; delivered/s is printed beside the CPU, but read the CPU.
 *
 * Per row and build: server µs per delivery (Holdline's process only) and per published message,
 * Redis µs per published message (Redis rows; in MODE=saturate from the bench's figure, rounded to
 * 0.01 core: read MODE=rate's), deliveries/s, messages per frame at one more subscriber (1 unless
 * batched), and deliveries missing after the drain (must be 0).
 * `BENCH_HOLDLINE_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"` profiles each server (bench/holdline/server.ts).
 */
import os from 'node:os';
import { GenPool } from '../lib/gen.js';
import { scanStamps, stampedBody } from '../lib/payload.js';
import { cpuSeconds } from '../lib/proc.js';
import { protocolFor } from '../lib/protocols.js';
import { startRedis, type RedisHandle } from '../lib/servers.js';
import { prepareFanout, startHoldline } from '../holdline/server.js';
import { Cleanup } from '../scenarios/common.js';
import { drain, measureFanout } from '../scenarios/fanout.js';

const DISTS = (process.env.DISTS ?? 'dist').split(',').filter(Boolean);
const ROWS = (process.env.ROWS ?? 'memory,memory-batched,redis,redis-batched').split(',').filter(Boolean);
const MODE = process.env.MODE ?? 'rate';
const SUBS = Number(process.env.SUBS ?? 1000);
const RATE = Number(process.env.RATE ?? 300);
const WARM_S = Number(process.env.WARM_S ?? 2);
const SECONDS = Number(process.env.SECONDS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const BODY_BYTES = 256;

interface Cost {
  /** Holdline's CPU per delivery, µs. */
  serverUs: number;
  /** Holdline's CPU per published message, µs (with few subscribers: the publish and feed path alone). */
  serverUsPerPub: number;
  /** Its redis-server's CPU per published message, µs (0 on memory). */
  redisUs: number;
  deliveredPerSec: number;
  /** Deliveries that had not arrived once nothing moved for 2 s. */
  lost: number;
  /**
   * Messages per frame at one more subscriber (in this process, the row's mode), over the whole run:
   * 1 on per-message rows; on batched rows how many messages a flush put in one `messages` frame,
   * which the CPU per delivery follows (every frame costs a write per socket).
   */
  perFrame: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(dist: string, row: string): Promise<Cost> {
  process.env.BENCH_HOLDLINE_DIST = dist;
  const engine = row.startsWith('redis') ? 'redis' : 'memory';
  const cleanup = new Cleanup();
  try {
    let redis: RedisHandle | undefined;
    if (engine === 'redis') {
      redis = await startRedis();
      cleanup.add(redis.stop);
    }
    const server = await startHoldline(engine, redis);
    cleanup.add(server.stop);
    if (row.endsWith('-batched')) server.endpoint.params.batch = 'true';
    const topic = await prepareFanout(server, 'bench-fanout');
    const pid = server.pids[0]!;
    const redisCpu = (): number => (redis ? cpuSeconds(redis.pid) : 0);
    const proto = protocolFor('holdline');
    const observer = await proto.open(server.endpoint);
    cleanup.add(async () => observer.destroy());
    await proto.subscribe(observer, topic, server.endpoint);
    let frames = 0;
    let messages = 0;
    observer.onMessage = (data) => {
      const n = scanStamps(data);
      if (n === 0) return; // heartbeats
      frames++;
      messages += n;
    };
    const perFrame = (): number => (frames === 0 ? Number.NaN : messages / frames);

    if (MODE === 'saturate') {
      const m = await measureFanout(server, topic, proto, {
        subscribers: SUBS,
        bodyBytes: BODY_BYTES,
        saturateMs: SECONDS * 1000 + 1000,
        latencyMs: 1000,
        genProcs: 2,
        window: 64,
      }, cleanup);
      const delivered = m.figures.delivered_per_s!.value;
      const d = m.details;
      const holdline = (d.holdline_cpu_cores ?? d.server_cpu_cores) as number;
      const redisCores = (d.redis_cpu_cores ?? 0) as number;
      const published = d.saturating_publish_per_s as number;
      return {
        serverUs: (holdline * 1e6) / delivered,
        serverUsPerPub: published > 0 ? (holdline * 1e6) / published : 0,
        redisUs: published > 0 ? (redisCores * 1e6) / published : 0,
        deliveredPerSec: delivered,
        lost: d.lost_in_saturation as number,
        perFrame: perFrame(),
      };
    }

    const pool = await GenPool.start(2);
    cleanup.add(() => pool.close());
    const opened = await pool.open(server.endpoint, SUBS, topic, [], 64);
    if (opened.ok < SUBS) throw new Error(`only ${opened.ok}/${SUBS} subscribers connected: ${opened.firstError ?? 'no error given'}`);
    const pubWs = await proto.open(server.endpoint);
    cleanup.add(async () => pubWs.destroy());
    const publish = await proto.publisher(pubWs, topic, server.endpoint);
    pool.measure(false, () => {});

    let sent = 0;
    const t0 = Date.now();
    const timer = setInterval(() => {
      const due = Math.floor((RATE * (Date.now() - t0)) / 1000) - sent;
      for (let i = 0; i < due && i < 10_000; i++) {
        publish(stampedBody(BODY_BYTES));
        sent++;
      }
    }, 1);
    try {
      await sleep(WARM_S * 1000);
      const mark = { t: Date.now(), received: pool.received(), sent, cpu: cpuSeconds(pid), redis: redisCpu() };
      await sleep(SECONDS * 1000);
      const end = { t: Date.now(), received: pool.received(), sent, cpu: cpuSeconds(pid), redis: redisCpu() };
      clearInterval(timer);
      if (pubWs.closed) throw new Error('the server closed the publisher connection');
      await drain(pool, sent * SUBS, 2000);
      const delivered = end.received - mark.received;
      return {
        serverUs: ((end.cpu - mark.cpu) * 1e6) / delivered,
        serverUsPerPub: ((end.cpu - mark.cpu) * 1e6) / Math.max(1, end.sent - mark.sent),
        redisUs: ((end.redis - mark.redis) * 1e6) / Math.max(1, end.sent - mark.sent),
        deliveredPerSec: delivered / ((end.t - mark.t) / 1000),
        lost: sent * SUBS - (await pool.report()).received,
        perFrame: perFrame(),
      };
    } finally {
      clearInterval(timer);
    }
  } finally {
    await cleanup.run();
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, digits = 2): string => x.toFixed(digits).padStart(8);

console.log(
  `fanout-cost: MODE=${MODE} SUBS=${SUBS}${MODE === 'rate' ? ` RATE=${RATE}/s` : ''} SECONDS=${SECONDS} ROUNDS=${ROUNDS}, ` +
    `load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
);
console.log('row             build                          server µs/delivery  µs/pub  redis µs/pub  delivered/s  msgs/frame  lost (median round)');
for (const row of ROWS) {
  const rounds = new Map<string, Cost[]>(DISTS.map((d) => [d, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate which build goes first, so neither always follows the other's tear-down.
    for (const dist of r % 2 === 0 ? DISTS : [...DISTS].reverse()) {
      // A failed round (e.g. the publisher closed for too many unanswered frames on an overloaded
      // machine) is reported and left out; the other rounds still count.
      try {
        rounds.get(dist)!.push(await measure(dist, row));
      } catch (err) {
        console.log(`${row.padEnd(15)} ${dist.padEnd(30)} round ${r + 1} failed: ${(err as Error).message}`);
      }
    }
  }
  for (const dist of DISTS) {
    const costs = rounds.get(dist)!;
    if (costs.length === 0) continue;
    console.log(
      `${row.padEnd(15)} ${dist.padEnd(30)} ${fmt(median(costs.map((c) => c.serverUs)), 3)}      ${fmt(median(costs.map((c) => c.serverUsPerPub)), 1)}  ${fmt(median(costs.map((c) => c.redisUs)), 1)}  ` +
        `${fmt(median(costs.map((c) => c.deliveredPerSec)), 0)}  ${fmt(median(costs.map((c) => c.perFrame)), 1)}    ${costs.map((c) => c.lost).join('/')}` +
        `   rounds: ${costs.map((c) => c.serverUs.toFixed(3)).join(' ')} (load ${os.loadavg()[0]!.toFixed(2)})`,
    );
  }
}
