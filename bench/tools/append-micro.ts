/**
 * Where append.lua's Redis CPU goes (issue 18): the script, and variants of it with parts taken out,
 * called directly (no engine, no Node work in the measure) with BATCH messages per call on 40
 * partitions, PIPE calls in flight per connection, on one fresh redis-server; Redis CPU per message
 * from INFO cpu (used_cpu_user + used_cpu_sys), and the script's own time from INFO commandstats.
 * Variants run interleaved (A, B, C, A, B, C ...) so machine noise spreads over all of them.
 *
 *   npx tsx bench/tools/append-micro.ts          # BATCH=15 MSGS=150000 ROUNDS=2 by default
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startRedisServer } from '../lib/redis-server.js';
import { loadLua } from '../../src/engine/redis/scripts.js';
import { appendArgs, liveMarker, recordTail } from '../../src/engine/redis/partition-scripts.js';
import type { NewMessage } from '../../src/engine/types.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';

const BATCH = Number(process.env.BATCH ?? 15);
const MSGS = Number(process.env.MSGS ?? 150_000);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const PIPE = 16;
const body = 'x'.repeat(256);

const full = loadLua('append-5');
/** HEAD=<file>: that append.lua (e.g. `git show <commit>:src/engine/redis/lua/append-5.lua > f`) against this tree's, interleaved. */
function expand(file: string): string {
  const dir = new URL('../../src/engine/redis/lua/includes/', import.meta.url);
  const seen = new Set<string>();
  const go = (src: string): string =>
    src.replace(/^--- @include "([A-Za-z0-9_-]+)"\s*$/gm, (_l, name: string) => {
      if (seen.has(name)) return '';
      seen.add(name);
      return go(readFileSync(new URL(`${name}.lua`, dir), 'utf8'));
    });
  return go(readFileSync(file, 'utf8'));
}
/** Variants: name -> source (a variant drops or replaces one part of the script). */
const variants: Record<string, string> = process.env.HEAD !== undefined ? {
        head: expand(process.env.HEAD),
        tree: full,
        ...(process.env.HEAD0 === '1' ? { 'head-str0': expand(process.env.HEAD).replace('ids[n + 1] = 0', "ids[n + 1] = '0'") } : {}),
        ...(process.env.LAYOUTS === '1'
          ? {
              // Prototypes of other layouts' append (storage only, for their cost): records as the ids ZSET's members (no msg hash) ...
              'zset-records': full
                .replace("records[n + 1] = id\n  records[n + 2] = iHeader", "records[n + 1] = '0'\n  records[n + 2] = iHeader")
                .replace("each('ZADD', KEYS[1], ids)", '')
                .replace("each('HSET', KEYS[2], records)", "each('ZADD', KEYS[1], records)"),
              // ... and a stream per partition, one XADD per message (entry id 0-<seq>).
              'stream-xadd': full
                .replace("records[n + 1] = id\n  records[n + 2] = iHeader .. id .. fields .. sub(packed, pos + 12, pos + 11 + length)", "rcall('XADD', KEYS[2] .. 's', '0-' .. seq, 'r', iHeader .. id .. fields .. sub(packed, pos + 12, pos + 11 + length))")
                .replace("each('ZADD', KEYS[1], ids)", '')
                .replace("each('HSET', KEYS[2], records)", ''),
            }
          : {}),
      } : {
  full,
  'no-publish': full.replace("rcall('SPUBLISH', KEYS[5], table.concat(payload))", ''),
  'no-ids-zadd': full.replace("each('ZADD', KEYS[1], ids)", ''),
  'no-msg-hset': full.replace("each('HSET', KEYS[2], records)", ''),
  'lua-only': full
    .replace("rcall('SPUBLISH', KEYS[5], table.concat(payload))", '')
    .replace("each('ZADD', KEYS[1], ids)", '')
    .replace("each('HSET', KEYS[2], records)", '')
    .replace("each('ZADD', KEYS[3], expiries)", ''),
  ...(process.env.LUA_PARTS === '1'
    ? (() => {
        const base = full
          .replace("rcall('SPUBLISH', KEYS[5], table.concat(payload))", '')
          .replace("each('ZADD', KEYS[1], ids)", '')
          .replace("each('HSET', KEYS[2], records)", '')
          .replace("each('ZADD', KEYS[3], expiries)", '');
        return {
          'lua-no-payload': base.replace('payload[n + 1] = prefix', '').replace('payload[n + 2] = record', ''),
          'lua-no-concat': base.replace('local record = iHeader .. id .. t.fields .. sub(packed, pos + 12, pos + 11 + length)', 'local record = sub(packed, pos + 12, pos + 11 + length)'),
          'lua-no-sub': base.replace('local record = iHeader .. id .. t.fields .. sub(packed, pos + 12, pos + 11 + length)', 'local record = iHeader .. id .. t.fields'),
          'lua-no-format': base.replace('local id = format(idFormat, seq, random)', 'local id = idFormat'),
          'lua-no-tables': base.replace('ids[n + 1] = 0', '').replace('ids[n + 2] = id', '').replace('records[n + 1] = id', '').replace('records[n + 2] = record', '').replace('payload[n + 1] = prefix', '').replace('payload[n + 2] = record', ''),
        };
      })()
    : {}),
  // The floor of a script call with the same arguments: read the state, write it back, publish.
  empty: "local s = redis.call('HMGET', KEYS[4], 'ts', 'seq', 'q') if s[3] ~= ARGV[2] then return s[3] or '' end redis.call('HSET', KEYS[4], 'seq', 1) return 1",
};
for (const [name, src] of Object.entries(variants)) if (process.env.HEAD === undefined && name !== 'full' && name !== 'empty' && (src === full || (name.startsWith('lua-') && name !== 'lua-only' && src === variants['lua-only']))) throw new Error(`variant ${name} changed nothing`);

async function cpu(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)![1]);
  return get('used_cpu_user') + get('used_cpu_sys');
}
async function evalUsec(r: Redis): Promise<number> {
  const m = /cmdstat_evalsha:calls=\d+,usec=(\d+)/.exec(await r.info('commandstats'));
  return m === null ? 0 : Number(m[1]);
}

const srv = await startRedisServer();
const admin = new Redis(srv.port, '127.0.0.1');
const clients = Array.from({ length: 4 }, () => new Redis(srv.port, '127.0.0.1'));
const shas: Record<string, string> = {};
for (const [name, src] of Object.entries(variants)) shas[name] = (await admin.script('LOAD', src)) as string;
const messages: NewMessage[] = Array.from({ length: BATCH }, () => ({ body, ttl: 3600, partition: 1 }));
/** The arguments of append.lua before issue 18's cut (one packed value: random, ttl, length, tail per message), for HEAD scripts of that time (OLD_ARGS=1). */
function packedArgs(call: ReturnType<typeof appendArgs>): (string | number | Buffer)[] {
  const parts: Buffer[] = [];
  for (let j = 0; j < messages.length; j++) {
    const tail = recordTail(messages[j]!);
    const head = Buffer.alloc(12);
    head.writeUInt32BE(call.randoms[j]!, 0);
    head.writeUInt32BE(call.ttls[j]!, 4);
    head.writeUInt32BE(tail.length, 8);
    parts.push(head, tail);
  }
  return [call.args[0]!, call.args[1]!, Buffer.concat(parts)];
}

async function run(name: string, round: number): Promise<{ cpuUs: number; scriptUs: number }> {
  const parts = Array.from({ length: 40 }, (_, i) => {
    const k = new RedisKeys('p').partition({ app: 'a', queue: `${name}-${round}-q${i % 10}`, partition: 1 + (i >> 2) % 4 });
    return { k, partition: 1 + (i >> 2) % 4 };
  });
  for (const { k } of parts) await admin.hset(k.state, 'q', liveMarker(1));
  const calls = Math.ceil(MSGS / BATCH);
  await admin.config('RESETSTAT');
  const c0 = await cpu(admin);
  let next = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (next < calls) {
        const p = c.pipeline();
        for (let j = 0; j < PIPE && next < calls; j++) {
          const { k, partition } = parts[next++ % 40]!;
          const call = appendArgs(k, partition, 1, messages, () => (Math.random() * 65536) | 0);
          p.evalsha(shas[name]!, call.keys.length, ...call.keys, ...(name.startsWith('head') && process.env.OLD_ARGS === '1' ? packedArgs(call) : call.args));
        }
        const res = await p.exec();
        for (const [err] of res ?? []) if (err) throw err;
      }
    }),
  );
  const c1 = await cpu(admin);
  const n = calls * BATCH;
  return { cpuUs: ((c1 - c0) * 1e6) / n, scriptUs: (await evalUsec(admin)) / n };
}

const results: Record<string, { cpu: number[]; script: number[] }> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(variants)) {
    const r = await run(name, round);
    const into = results[name] ?? { cpu: [], script: [] };
    results[name] = into;
    into.cpu.push(r.cpuUs);
    into.script.push(r.scriptUs);
  }
  await admin.flushall();
}
const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
console.log(`BATCH=${BATCH} MSGS=${MSGS} per variant per round; us per message (each round)`);
for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(12)} redis CPU ${fmt(r.cpu)}   script usec ${fmt(r.script)}`);
for (const c of clients) c.disconnect();
admin.disconnect();
await srv.stop();
