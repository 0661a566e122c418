/**
 * CPU per history read (issue 18, item 1), robust to a busy machine where reads/s are not: the
 * same since/limit=100 read of 100 stored messages, 32 lanes, for MS ms each, as
 *   - bare ioredis ZRANGEBYLEX + HMGET on Holdline's layout (the history scenario's ceiling);
 *   - RedisEngine.read on a cold partition (nobody follows it);
 *   - RedisEngine.read on a followed partition (the engine subscribed: its tail answers);
 * each reporting this process's CPU (µs per read) and the redis-server's (INFO cpu), one after the
 * other on one fresh redis-server. Decoding and serving to a client are not included on either side.
 *
 *   npx tsx bench/tools/history-cost.ts            # MS=3000 by default
 */
import { Redis } from 'ioredis';
import { startRedisServer } from '../lib/redis-server.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';
import type { QueueMeta, ReadOptions } from '../../src/engine/types.js';

async function redisCpu(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)![1]);
  return get('used_cpu_user') + get('used_cpu_sys');
}

const MS = Number(process.env.MS ?? 3000);
const LANES = 32;
const srv = await startRedisServer();
const admin = new Redis(srv.port, '127.0.0.1');
const prefix = 'hc';
const followedNode = new RedisEngine({ url: srv.url, prefix, sweepIntervalMs: 60_000 });
const coldNode = new RedisEngine({ url: srv.url, prefix, sweepIntervalMs: 60_000, historyCacheBytes: 0 });
await followedNode.start();
await coldNode.start();
await coldNode.createApp('a');
const meta: QueueMeta = { application: 'a', name: 'h', partitions: 1, type: 'user', consistency: 'weak', principles: [], created: 0 };
await coldNode.createQueue(meta);
const stored = await coldNode.append(meta, Array.from({ length: 100 }, (_, i) => ({ body: `${i}`.padStart(256, 'x'), ttl: 3600, partition: 1 })));
const ref = { app: 'a', queue: 'h', partition: 1 };
const opts: ReadOptions = { since: { kind: 'id', id: stored[0]!.id }, limit: 100, order: 'ascending' };
const unsubscribe = await followedNode.subscribe(ref, () => undefined);
await followedNode.read(ref, opts);
await new Promise((r) => setTimeout(r, 200));

const k = new RedisKeys(prefix).partition(ref);
const bare = Array.from({ length: 4 }, () => new Redis(srv.port, '127.0.0.1'));

async function measure(label: string, read: (lane: number) => Promise<number>): Promise<void> {
  const c0 = process.cpuUsage();
  const r0 = await redisCpu(admin);
  const end = Date.now() + MS;
  let reads = 0;
  await Promise.all(
    Array.from({ length: LANES }, async (_, lane) => {
      while (Date.now() < end) {
        if ((await read(lane)) !== 100) throw new Error(`${label}: short read`);
        reads++;
      }
    }),
  );
  const c = process.cpuUsage(c0);
  const r = (await redisCpu(admin)) - r0;
  console.log(
    `${label.padEnd(28)} ${String(reads).padStart(7)} reads; node CPU ${((c.user + c.system) / reads).toFixed(1).padStart(6)} µs/read; redis CPU ${((r * 1e6) / reads).toFixed(1).padStart(6)} µs/read`,
  );
}

await measure('bare ioredis (ceiling)', async (lane) => {
  const c = bare[lane % 4]!;
  const ids = await c.zrangebylex(k.ids, `[${stored[0]!.id}`, '+', 'LIMIT', 0, 100);
  return (await c.hmgetBuffer(k.msg, ...ids)).length;
});
await measure('engine read, cold', async () => (await coldNode.read(ref, opts)).length);
await measure('engine read, followed', async () => (await followedNode.read(ref, opts)).length);
console.log('tail:', JSON.stringify(followedNode.historyCacheStats()));
await unsubscribe();
for (const c of bare) c.disconnect();
admin.disconnect();
await followedNode.close();
await coldNode.close();
await srv.stop();
