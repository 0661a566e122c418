/**
 * history: since/limit=100 reads of the same 100 messages, back to back, concurrency lanes; reads/s
 * and p99.
 *
 * Ceiling (issue 5: "a bare ioredis loop reading the same 100 messages"): the 100 messages are
 * stored by Holdline's Redis engine itself, then Holdline is stopped and a bare ioredis loop reads
 * them where that engine keeps them (src/engine/redis/keys.ts: a partition's `ids` ZSET of ids and
 * its `msg` HASH id → record): ZRANGEBYLEX ids [<first> + LIMIT 0 100, then HMGET msg <those ids>,
 * records as Buffers, nothing decoded — the least any reader of that layout must do. Same
 * concurrency, 4 connections. A second reference row reads 100 entries of a Redis stream with
 * XRANGE (one command per read: what a stream layout would cost), for comparison only.
 */
import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import { closedLoop } from '../lib/closed-loop.js';
import { stampedBody } from '../lib/payload.js';
import { figure, type TargetResult } from '../lib/results.js';
import { startRedis } from '../lib/servers.js';
import { BENCH_APP, history, startHoldline, type Engine, type HistoryOptions, type Transport } from '../holdline/targets.js';
import { fillHistoryQueue } from '../holdline/history.js';
import { ms, runTarget, selected, type Cleanup, type Measured, type ScenarioContext } from './common.js';

export type HistoryRun = Omit<HistoryOptions, 'transport'>;

export function historyOptions(quick: boolean): HistoryRun {
  return { messages: 100, bodyBytes: 256, concurrency: 32, durationMs: quick ? 1500 : 10_000 };
}

const CONNECTIONS = 4;
/** The engine's key prefix, set explicitly so the baseline reads the keys Holdline wrote. */
const PREFIX = 'hl';

function clientsFor(url: string, cleanup: Cleanup): Redis[] {
  const clients = Array.from({ length: CONNECTIONS }, () => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 }));
  cleanup.add(async () => {
    for (const c of clients) c.disconnect();
  });
  return clients;
}

function measured(r: Awaited<ReturnType<typeof closedLoop>>, o: HistoryRun, details: Record<string, number | string | boolean>): Measured {
  return {
    figures: {
      reads_per_s: figure(Math.round(r.opsPerSec), 'reads/s', 'higher', 'throughput'),
      p50_ms: figure(ms(r.hist.percentile(50)), 'ms', 'lower', 'latency'),
      p99_ms: figure(ms(r.hist.percentile(99)), 'ms', 'lower', 'latency'),
    },
    details: { messages_per_read: o.messages, concurrency: o.concurrency, connections: CONNECTIONS, body_bytes: o.bodyBytes, errors: r.errors, ...details },
  };
}

/** ZRANGEBYLEX + HMGET on the partition Holdline's Redis engine wrote. */
async function ioredisLayoutLoop(o: HistoryRun, cleanup: Cleanup): Promise<Measured> {
  const redis = await startRedis();
  cleanup.add(redis.stop);
  const server = await startHoldline('redis', redis, { HOLDLINE_REDIS_PREFIX: PREFIX });
  let first: string;
  try {
    first = await fillHistoryQueue(server, 'history', o.messages, o.bodyBytes);
  } finally {
    await server.stop();
  }
  const k = new RedisKeys(PREFIX).partition({ app: BENCH_APP, queue: 'history', partition: 1 });
  const clients = clientsFor(redis.url, cleanup);
  let short = 0;
  const r = await closedLoop({ label: '  ioredis ZRANGEBYLEX+HMGET loop', concurrency: o.concurrency, durationMs: o.durationMs }, async (lane) => {
    const c = clients[lane % CONNECTIONS]!;
    const ids = await c.zrangebylex(k.ids, `[${first}`, '+', 'LIMIT', 0, o.messages);
    const records = ids.length ? await c.hmgetBuffer(k.msg, ...ids) : [];
    if (records.filter((x) => x !== null).length !== o.messages) short++;
  });
  if (short) throw new Error(`${short} reads returned fewer than ${o.messages} messages (layout changed? see src/engine/redis/keys.ts)`);
  return measured(r, o, { layout: 'holdline redis engine: ZSET ids + HASH msg', round_trips_per_read: 2 });
}

async function ioredisXrangeLoop(o: HistoryRun, cleanup: Cleanup): Promise<Measured> {
  const redis = await startRedis();
  cleanup.add(redis.stop);
  const clients = clientsFor(redis.url, cleanup);
  const key = 'bench:history';
  const first = await clients[0]!.xadd(key, '*', 'body', stampedBody(o.bodyBytes));
  for (let i = 1; i < o.messages; i++) await clients[0]!.xadd(key, '*', 'body', stampedBody(o.bodyBytes));
  let short = 0;
  const r = await closedLoop({ label: '  ioredis XRANGE loop', concurrency: o.concurrency, durationMs: o.durationMs }, async (lane) => {
    const rows = await clients[lane % CONNECTIONS]!.xrange(key, first!, '+', 'COUNT', o.messages);
    if (rows.length !== o.messages) short++;
  });
  if (short) throw new Error(`${short} reads returned fewer than ${o.messages} messages`);
  return measured(r, o, { layout: 'redis stream (not Holdline\'s)', round_trips_per_read: 1 });
}

export async function runHistory(ctx: ScenarioContext, o = historyOptions(ctx.quick)): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  // The first ceiling row is the one ratios and targets use.
  if (selected(ctx, 'ioredis-layout')) out.push(await runTarget('history', 'ioredis-layout', 'ceiling', (cleanup) => ioredisLayoutLoop(o, cleanup)));
  if (selected(ctx, 'ioredis-xrange')) out.push(await runTarget('history', 'ioredis-xrange', 'ceiling', (cleanup) => ioredisXrangeLoop(o, cleanup)));
  // Redis: a cold partition (nobody follows it: every read goes to Redis) and a followed one
  // (a WebSocket subscriber on it: reads answered from the node's tail, issue 18).
  const rows: Array<[Engine, Transport, boolean]> = [];
  for (const engine of ['memory', 'redis'] as Engine[]) {
    for (const transport of ['ws', 'rest'] as Transport[]) {
      rows.push([engine, transport, false]);
      if (engine === 'redis') rows.push([engine, transport, true]);
    }
  }
  for (const [engine, transport, followed] of rows) {
    const name = `holdline-${engine}-${transport}${followed ? '-followed' : ''}`;
    if (!selected(ctx, name)) continue;
    out.push(
      await runTarget('history', name, 'holdline', async (cleanup) => {
        const redis = engine === 'redis' ? await startRedis() : undefined;
        if (redis) cleanup.add(redis.stop);
        const server = await startHoldline(engine, redis);
        cleanup.add(server.stop);
        const f = await history(server, { ...o, transport, followed });
        return {
          figures: {
            reads_per_s: figure(Math.round(f.perSec), 'reads/s', 'higher', 'throughput'),
            p50_ms: figure(f.p50Ms, 'ms', 'lower', 'latency'),
            p99_ms: figure(f.p99Ms, 'ms', 'lower', 'latency'),
          },
          details: f.details,
        };
      }),
    );
  }
  return out;
}
