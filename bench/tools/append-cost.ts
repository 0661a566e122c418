/**
 * Redis CPU per persisted message (issue 18, item 2): Holdline's append (the engine, `LANES`
 * concurrent appends of `PER_CALL` messages each, which the appender combines per partition into
 * append.lua calls) against XADD (redis-benchmark, 50 clients, -P 16, 40 keys), on one fresh
 * redis-server, from INFO cpu (used_cpu_user + used_cpu_sys) and INFO commandstats; and this process's
 * CPU per message (the engine and ioredis: building the calls, parsing the replies).
 *
 *   npx tsx bench/tools/append-cost.ts            # LANES=800 PER_CALL=1 MS=3000 by default
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { startRedisServer } from '../lib/redis-server.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import type { QueueMeta } from '../../src/engine/types.js';

async function cpu(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)![1]);
  return get('used_cpu_user') + get('used_cpu_sys');
}
async function stats(r: Redis): Promise<string> {
  return (await r.info('commandstats')).split('\n').filter((l) => /calls=/.test(l)).map((l) => l.trim()).join('\n');
}
const body = 'x'.repeat(256);
const srv = await startRedisServer();
const admin = new Redis(srv.port, '127.0.0.1');
const engine = new RedisEngine({ url: srv.url, prefix: 'p', sweepIntervalMs: 1000 });
await engine.start();
await engine.createApp('a');
const queues: QueueMeta[] = [];
for (let i = 0; i < 10; i++) {
  const meta = { application: 'a', name: `q${i}`, partitions: 4, type: 'user' as const, consistency: 'weak' as const, principles: [], created: 0 };
  await engine.createQueue(meta);
  queues.push(meta);
}
const lanes = Number(process.env.LANES ?? 800);
const perCall = Number(process.env.PER_CALL ?? 1);
let n = 0;
let done = 0;
// warm up
await Promise.all(Array.from({ length: 40 }, (_, i) => engine.append(queues[i % 10]!, [{ body, ttl: 3600, partition: 1 + (i >> 2) % 4 }])));
await admin.config('RESETSTAT');
const c0 = await cpu(admin);
const n0 = process.cpuUsage();
const t0 = Date.now();
const end = t0 + Number(process.env.MS ?? 3000);
await Promise.all(
  Array.from({ length: lanes }, async () => {
    while (Date.now() < end) {
      const s = n++ % 40;
      const q = queues[s % 10]!;
      const p = 1 + Math.floor(s / 10);
      await engine.append(q, Array.from({ length: perCall }, () => ({ body, ttl: 3600, partition: p })));
      done += perCall;
    }
  }),
);
const secs = (Date.now() - t0) / 1000;
const c1 = await cpu(admin);
const node = process.cpuUsage(n0);
console.log(
  `holdline append: ${done} msgs in ${secs.toFixed(1)} s = ${Math.round(done / secs)}/s; redis CPU ${((c1 - c0) * 1e6 / done).toFixed(2)} us/msg; ` +
    `this process (engine, ioredis) CPU ${((node.user + node.system) / done).toFixed(2)} us/msg`,
);
console.log(await stats(admin));
await engine.close();
// XADD
await admin.config('RESETSTAT');
const x0 = await cpu(admin);
const reqs = 300_000;
spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(srv.port), '-c', '50', '-P', '16', '-n', String(reqs), '-r', '40', '-q', 'XADD', 'bench:ingest:__rand_int__', '*', 'body', body]);
const x1 = await cpu(admin);
console.log(`XADD -P16: redis CPU ${((x1 - x0) * 1e6 / reqs).toFixed(2)} us/msg`);
console.log(await stats(admin));
admin.disconnect();
await srv.stop();
