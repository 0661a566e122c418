/**
 * contact-centre (issues 15 and 16): a compressed busy hour of routing — 300 agents, 10 queues
 * with skills and tiers, Poisson arrivals, exponential handle times, abandons and rejects — driven
 * through the domain (holdline/centre/sim.ts: CallService + Router on the engine's stores, no
 * HTTP; offer latency is measured to the moment the deciding node sends the agent's `offer`
 * frame). Rows: memory (one node), Redis (two nodes sharing one redis-server) and the Redis
 * Cluster (two nodes on BENCH_CLUSTER). Per row: offer latency, decisions/s in the busy hour,
 * offers/s at saturation, the invariant counters, the estimated wait's accuracy beside Asterisk's
 * method (issue 16) — over every measured caller, and for the callers that joined in the surge and
 * its drain (surge_*; the steady stretch's in the details, steady_*) — and the wallboard push on a
 * real `holdline serve` of the same engine (holdline/centre/wallboard.ts).
 */
import type { CallStore } from '../../src/engine/call-types.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { RedisCallStore } from '../../src/engine/redis/calls.js';
import { cpuSeconds } from '../lib/proc.js';
import { BENCH_CLUSTER, clusterShape, startRedisCluster } from '../lib/redis-cluster.js';
import { figure, type TargetResult } from '../lib/results.js';
import { startRedis, type RedisHandle } from '../lib/servers.js';
import { log } from '../lib/progress.js';
import { centreOptions, runCentre, type CentreOptions } from '../holdline/centre/sim.js';
import { measureWallboard, wallboardOptions, type WallboardOptions } from '../holdline/centre/wallboard.js';
import { startHoldline } from '../holdline/targets.js';
import { runTarget, selected, type ScenarioContext } from './common.js';

type Row = 'memory' | 'redis' | 'redis-cluster';

const round = (v: number, digits = 2): number => Number(v.toFixed(digits));

export async function runContactCentre(
  ctx: ScenarioContext,
  o: CentreOptions = centreOptions(ctx.quick),
  w: WallboardOptions = wallboardOptions(ctx.quick),
): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  for (const row of ['memory', 'redis', 'redis-cluster'] as Row[]) {
    const name = `holdline-${row}`;
    if (!selected(ctx, name)) continue;
    out.push(
      await runTarget('contact-centre', name, 'holdline', async (cleanup) => {
        let redis: RedisHandle | undefined;
        if (row === 'redis') redis = await startRedis();
        if (row === 'redis-cluster') redis = await startRedisCluster(BENCH_CLUSTER);
        if (redis) cleanup.add(redis.stop);
        const redisPids = redis ? (redis.pids ?? [redis.pid]) : [];
        const stores: CallStore[] = [];
        cleanup.add(async () => {
          for (const s of stores) await s.close();
        });
        if (redis) {
          const prefix = `bench-cc-${Date.now()}`;
          for (let i = 0; i < 2; i++) stores.push(await RedisCallStore.open({ url: redis.url, prefix }));
        } else {
          stores.push(new MemoryCallStore());
        }
        const c = await runCentre(stores, o, () => redisPids.reduce((s, p) => s + cpuSeconds(p), 0));
        log(
          `  offer p50 ${round(c.offerP50Ms)} ms, p99 ${round(c.offerP99Ms)} ms; ${Math.round(c.busyDecisionsPerS)} decisions/s busy, ` +
            `${Math.round(c.saturationOffersPerS)} offers/s saturated; double offers ${c.doubleOffers}, idle while waiting ${c.idleWhileWaiting}; ` +
            `estimate error median ${round(c.holdline.percentile(50), 1)} s (Asterisk ${round(c.asterisk.percentile(50), 1)} s) over ${c.holdline.count} callers` +
            (['steady', 'surge'] as const)
              .map((p) => {
                const a = c.accuracy[p];
                return `; ${p} ${round(a.holdline.percentile(50), 1)} s (Asterisk ${round(a.asterisk.percentile(50), 1)} s, hindsight ${round(a.hindsight.medianError(), 1)} s) over ${a.holdline.count}`;
              })
              .join(''),
        );

        // The wallboard push on a real server of the same engine (its own keys on the same Redis).
        const server = await startHoldline(row === 'memory' ? 'memory' : 'redis', redis);
        cleanup.add(server.stop);
        const wb = await measureWallboard(server, w);
        const ratio = c.accuracy.all.ratio();
        const surge = c.accuracy.surge;
        const figures = {
          offer_p50_ms: figure(round(c.offerP50Ms, 3), 'ms', 'lower', 'latency'),
          offer_p99_ms: figure(round(c.offerP99Ms, 3), 'ms', 'lower', 'latency'),
          busy_decisions_per_s: figure(Math.round(c.busyDecisionsPerS), 'decisions/s', 'higher', 'count'),
          saturation_offers_per_s: figure(Math.round(c.saturationOffersPerS), 'offers/s', 'higher', 'throughput'),
          double_offers: figure(c.doubleOffers, 'count', 'lower', 'count'),
          idle_while_waiting: figure(c.idleWhileWaiting, 'count', 'lower', 'count'),
          estimate_median_err_s: figure(round(c.holdline.percentile(50), 1), 's', 'lower', 'count'),
          estimate_p90_err_s: figure(round(c.holdline.percentile(90), 1), 's', 'lower', 'count'),
          asterisk_median_err_s: figure(round(c.asterisk.percentile(50), 1), 's', 'lower', 'count'),
          asterisk_p90_err_s: figure(round(c.asterisk.percentile(90), 1), 's', 'lower', 'count'),
          estimate_error_ratio: figure(round(ratio, 2), 'holdline ÷ asterisk median', 'lower', 'count'),
          // The callers that joined in the surge or its drain (the steady stretch's: steady_* in the details).
          surge_estimate_median_err_s: figure(round(surge.holdline.percentile(50), 1), 's', 'lower', 'count'),
          surge_asterisk_median_err_s: figure(round(surge.asterisk.percentile(50), 1), 's', 'lower', 'count'),
          surge_estimate_error_ratio: figure(round(surge.ratio(), 2), 'holdline ÷ asterisk median', 'lower', 'count'),
          stats_frames_per_s_per_queue: figure(round(wb.statsPerSPerQueue), 'frames/s', 'lower', 'count'),
        };
        return {
          figures,
          details: {
            // The per-phase accuracy block, less what the figures already say.
            ...Object.fromEntries(Object.entries(c.details).filter(([key]) => !(key in figures))),
            ...(redis ? { redis_version: redis.version } : {}),
            ...(row === 'redis-cluster' ? { redis_cluster: clusterShape(BENCH_CLUSTER) } : {}),
            busy_offers_per_s: round(c.busyOffersPerS, 1),
            estimate_samples: c.holdline.count,
            wallboard_read_node_cpu_us_per_push: Math.round(c.wallboardNodeUsPerPush),
            wallboard_read_wall_ms_per_push: round(c.wallboardWallMsPerPush),
            ...wb.details,
            wallboard_max_stats_in_1s: wb.maxStatsPerSPerQueue,
            wallboard_min_gap_ms: wb.minGapMs,
            server_cpu_cores_without_followers: wb.cpuWithout.holdline,
            server_cpu_cores_with_followers: wb.cpuWith.holdline,
            ...(redis ? { redis_cpu_cores_without_followers: wb.cpuWithout.redis, redis_cpu_cores_with_followers: wb.cpuWith.redis } : {}),
          },
        };
      }),
    );
  }
  return out;
}
