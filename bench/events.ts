/**
 * Event log bench (issue 13): run on demand with tsx, on one redis-server it starts itself.
 *
 *   npx tsx bench/events.ts ops [--root DIR] [--seconds 5] [--concurrency 16]
 *       call-queue ops/s (a caller joins, then leaves; 4 queues) and p99 latency of one op, through
 *       the Redis call store of the tree at DIR (default: this one). Run once here and once with
 *       --root on a checkout from before the event log to compare with and without recording.
 *   npx tsx bench/events.ts query [--events 200000] [--seconds 5]
 *       fills one application's log with that many events (10 types, 10 queues, one per ms of
 *       `generated`), then runs a type + time-range query (the newest tenth, limit 100) for that long:
 *       queries/s through the domain (src/domain/events), no HTTP.
 *
 * Prints one JSON line of results.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedisServer } from './lib/redis-server.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    events: { type: 'string', default: '200000' },
  },
});

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.99)] ?? 0;
}

interface CallStoreLike {
  createCallQueue(app: string, input: Record<string, unknown>): Promise<{ uuid: string }>;
  joinCaller(app: string, queueId: string, input: Record<string, unknown>): Promise<{ value: { uuid: string } }>;
  leaveCaller(app: string, queueId: string, callerUuid: string, reason: string): Promise<unknown>;
  close(): Promise<void>;
}

async function ops(url: string): Promise<Record<string, unknown>> {
  const root = values.root!;
  const mod = (await import(`${root}/src/engine/redis/calls.ts`)) as { RedisCallStore: { open(o: Record<string, unknown>): Promise<CallStoreLike> } };
  const store = await mod.RedisCallStore.open({ url, prefix: 'bench' });
  const app = 'bench';
  const queues: string[] = [];
  for (let i = 0; i < 4; i++) {
    queues.push((await store.createCallQueue(app, { name: `q${i}`, description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 })).uuid);
  }
  const until = Date.now() + Number(values.seconds) * 1000;
  const latencies: number[] = [];
  let done = 0;
  const worker = async (w: number): Promise<void> => {
    const q = queues[w % queues.length]!;
    while (Date.now() < until) {
      let t = performance.now();
      const joined = await store.joinCaller(app, q, { name: 'c', number: '1', priority: 0 });
      latencies.push(performance.now() - t);
      t = performance.now();
      await store.leaveCaller(app, q, joined.value.uuid, 'abandoned');
      latencies.push(performance.now() - t);
      done += 2;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Number(values.concurrency) }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return { root, ops: done, ops_per_s: Math.round(done / seconds), p99_ms: Number(p99(latencies).toFixed(2)) };
}

async function query(url: string): Promise<Record<string, unknown>> {
  const { RedisEngine } = await import('../src/engine/redis/index.js');
  const { EventQueries } = await import('../src/domain/events/service.js');
  const { parseEventQuery, queryOrder, queryParams } = await import('../src/domain/events/query.js');
  const { RedisKeys } = await import('../src/engine/redis/keys.js');
  const { isoMicros } = await import('../src/engine/events.js');
  const engine = new RedisEngine({ url, prefix: 'benchq', sweepIntervalMs: 3_600_000, eventRetention: { maxEvents: 10_000_000, maxAgeMs: 30 * 86_400_000 } });
  await engine.start();
  const total = Number(values.events);
  const app = 'bench';
  const outbox = new RedisKeys('benchq').callApp(app).scripts[8];
  const client = new Redis(url);
  const t0Us = (Date.now() - total) * 1000;
  const fillStart = performance.now();
  for (let i = 0; i < total; ) {
    const pipe = client.pipeline();
    for (let k = 0; k < 1000 && i < total; k++, i++) {
      const type = `bench.type${i % 10}`;
      pipe.xadd(outbox, '*', 'a', '', 't', type, 'u', String(t0Us + i * 1000), 'v', JSON.stringify({ queue_id: `q${i % 10}`, n: i }));
    }
    await pipe.exec();
    await engine.events.relay(outbox, { app });
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const base = await engine.events.base(app);
  const service = new EventQueries(engine.events);
  const from = isoMicros(t0Us + Math.floor(total * 0.9) * 1000);
  const text = `q.field=event_type&q.value=bench.type3&q.field=start_timestamp&q.op=ge&q.value=${from}&limit=100`;
  const q = parseEventQuery(queryParams(text), queryOrder(text));
  const until = Date.now() + Number(values.seconds) * 1000;
  const latencies: number[] = [];
  let n = 0;
  let lastSize = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() < until) {
        const t = performance.now();
        lastSize = (await service.query({ kind: 'app', app }, q)).length;
        latencies.push(performance.now() - t);
        n++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  client.disconnect();
  await engine.close();
  return {
    stored_events: base.seq, fill_events_per_s: Math.round(total / fillSeconds), answer_size: lastSize,
    queries: n, queries_per_s: Math.round(n / seconds), p99_ms: Number(p99(latencies).toFixed(2)),
  };
}

const redis = await startRedisServer();
try {
  const mode = positionals[0] ?? 'ops';
  const result = mode === 'query' ? await query(redis.url) : await ops(redis.url);
  console.log(JSON.stringify({ mode, ...result }));
} finally {
  await redis.stop();
}
