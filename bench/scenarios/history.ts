/**
 * history: since/limit=100 reads of the same 100 messages, back to back, concurrency lanes; reads/s
 * and p99. Baseline: a bare ioredis loop doing XRANGE … COUNT 100 on a stream holding the same
 * 100 messages, on its own fresh redis-server, with the same concurrency.
 */
import { Redis } from 'ioredis';
import { closedLoop } from '../lib/closed-loop.js';
import { stampedBody } from '../lib/payload.js';
import { figure, type TargetResult } from '../lib/results.js';
import { startRedis } from '../lib/servers.js';
import { history, startHoldline, type Engine, type HistoryOptions, type Transport } from '../holdline/targets.js';
import { ms, runTarget, selected, type Measured, type ScenarioContext } from './common.js';

export type HistoryRun = Omit<HistoryOptions, 'transport'>;

export function historyOptions(quick: boolean): HistoryRun {
  return { messages: 100, bodyBytes: 256, concurrency: 32, durationMs: quick ? 1500 : 10_000 };
}

const CONNECTIONS = 4;

async function ioredisLoop(url: string, o: HistoryRun, cleanup: { add(f: () => Promise<void>): void }): Promise<Measured> {
  const clients = Array.from({ length: CONNECTIONS }, () => new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 }));
  cleanup.add(async () => {
    for (const c of clients) c.disconnect();
  });
  const key = 'bench:history';
  const first = await clients[0]!.xadd(key, '*', 'body', stampedBody(o.bodyBytes));
  for (let i = 1; i < o.messages; i++) await clients[0]!.xadd(key, '*', 'body', stampedBody(o.bodyBytes));
  let short = 0;
  const r = await closedLoop({ label: '  ioredis XRANGE loop', concurrency: o.concurrency, durationMs: o.durationMs }, async (lane) => {
    const rows = await clients[lane % CONNECTIONS]!.xrange(key, first!, '+', 'COUNT', o.messages);
    if (rows.length !== o.messages) short++;
  });
  if (short) throw new Error(`${short} reads returned fewer than ${o.messages} messages`);
  return {
    figures: {
      reads_per_s: figure(Math.round(r.opsPerSec), 'reads/s', 'higher', 'throughput'),
      p50_ms: figure(ms(r.hist.percentile(50)), 'ms', 'lower', 'latency'),
      p99_ms: figure(ms(r.hist.percentile(99)), 'ms', 'lower', 'latency'),
    },
    details: { messages_per_read: o.messages, concurrency: o.concurrency, connections: CONNECTIONS, body_bytes: o.bodyBytes, errors: r.errors },
  };
}

export async function runHistory(ctx: ScenarioContext, o = historyOptions(ctx.quick)): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  if (selected(ctx, 'ioredis-xrange')) {
    out.push(
      await runTarget('history', 'ioredis-xrange', 'ceiling', async (cleanup) => {
        const redis = await startRedis();
        cleanup.add(redis.stop);
        return ioredisLoop(redis.url, o, cleanup);
      }),
    );
  }
  for (const engine of ['memory', 'redis'] as Engine[]) {
    for (const transport of ['ws', 'rest'] as Transport[]) {
      const name = `holdline-${engine}-${transport}`;
      if (!selected(ctx, name)) continue;
      out.push(
        await runTarget('history', name, 'holdline', async (cleanup) => {
          const redis = engine === 'redis' ? await startRedis() : undefined;
          if (redis) cleanup.add(redis.stop);
          const server = await startHoldline(engine, redis);
          cleanup.add(server.stop);
          const f = await history(server, { ...o, transport });
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
  }
  return out;
}
