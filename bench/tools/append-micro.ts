/**
 * Where append.lua's Redis CPU goes (issue 18): the script, and variants of it with parts taken out,
 * called directly (no engine, no Node work in the measure) with BATCH messages per call on 40
 * partitions, PIPE calls in flight per connection, on one fresh redis-server; Redis CPU per message
 * from INFO cpu (used_cpu_user + used_cpu_sys), and the script's own time from INFO commandstats.
 * Variants run interleaved (A, B, C, A, B, C ...) so machine noise spreads over all of them.
 *
 *   npx tsx bench/tools/append-micro.ts          # BATCH=15 MSGS=150000 ROUNDS=2 by default
 *   HEAD=/tmp/old-append-5.lua ROUNDS=8 npx tsx bench/tools/append-micro.ts   # an older script against this one
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startRedisServer } from '../lib/redis-server.js';
import { loadLua } from '../../src/engine/redis/scripts.js';
import { appendArgs, liveMarker } from '../../src/engine/redis/partition-scripts.js';
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
const PUBLISH = "rcall('SPUBLISH', KEYS[5], pack('>BddBI4', 1, ts, firstSeq, partition, count) .. packed)";
const RECORD = 'records[n + 2] = iHeader .. id .. fields .. tail';
/** Parts of the script a variant takes out or replaces (each must be found: checked below). */
const cut = (src: string, ...parts: [string, string][]): string => {
  for (const [from, to] of parts) {
    if (!src.includes(from)) throw new Error(`append-micro: the script no longer has ${from}`);
    src = src.replace(from, to);
  }
  return src;
};
const storeNothing: [string, string][] = [
  [PUBLISH, ''],
  ["each('ZADD', KEYS[1], ids)", ''],
  ["each('HSET', KEYS[2], records)", ''],
  ["each('ZADD', KEYS[3], expiries)", ''],
];
/**
 * Variants: name -> source. Default: the script, then with one part taken out each, then with no
 * write at all (its Lua work and per-call commands alone), and the floor of a call (state read and
 * write only). HEAD=<file> [HEAD2=<file>]: those append.lua files (with the same arguments; e.g.
 * `git show <commit>:src/engine/redis/lua/append-5.lua > f`) against this tree's, interleaved.
 * LAYOUTS=1: prototypes of the append of other storage layouts, for their cost (storage only: the
 * rest of the engine does not read them).
 */
const variants: Record<string, string> =
  process.env.HEAD !== undefined
    ? {
        head: expand(process.env.HEAD),
        ...(process.env.HEAD2 !== undefined ? { head2: expand(process.env.HEAD2) } : {}),
        tree: full,
      }
    : {
        full,
        'no-publish': cut(full, [PUBLISH, '']),
        'no-ids-zadd': cut(full, ["each('ZADD', KEYS[1], ids)", '']),
        'no-msg-hset': cut(full, ["each('HSET', KEYS[2], records)", '']),
        'lua-only': cut(full, ...storeNothing),
        'lua-only-no-record': cut(full, ...storeNothing, [RECORD, 'records[n + 2] = tail']),
        'lua-only-no-id': cut(full, ...storeNothing, ['local id = format(idFormat, seq, random)', 'local id = idFormat']),
        // The floor of a script call with the same arguments: read the state, write it back.
        empty: "local s = redis.call('HMGET', KEYS[4], 'ts', 'seq', 'q') if s[3] ~= ARGV[2] then return s[3] or '' end redis.call('HSET', KEYS[4], 'seq', 1) return 1",
        ...(process.env.LAYOUTS === '1'
          ? {
              // Records as the ids ZSET's members (no msg hash; a record begins with its id, so they sort as the ids).
              'zset-records': cut(full, ["records[n + 1] = id", "records[n + 1] = '0'"], ["each('ZADD', KEYS[1], ids)", ''], ["each('HSET', KEYS[2], records)", "each('ZADD', KEYS[1], records)"]),
              // A stream per partition, one XADD per message (entry id 0-<seq>), no ids ZSET or msg hash.
              'stream-xadd': cut(full, [RECORD, "rcall('XADD', KEYS[2] .. 's', '0-' .. seq, 'r', iHeader .. id .. fields .. tail)"], ["each('ZADD', KEYS[1], ids)", ''], ["each('HSET', KEYS[2], records)", '']),
              // ... the same storing the tail as the engine sent it (no id or record string: ids and
              // expiries would be spelled from the entry and a batch header, as the live payload is).
              'stream-raw': cut(
                full,
                ['local id = format(idFormat, seq, random)', 'local id = seq'],
                [RECORD, "rcall('XADD', KEYS[2] .. 's', seq, 'r', tail)"],
                ["ids[n + 1] = '0'", ''],
                ['ids[n + 2] = id', ''],
                ['records[n + 1] = id', ''],
                ["each('ZADD', KEYS[1], ids)", ''],
                ["each('HSET', KEYS[2], records)", ''],
              ),
              // One entry per call: the packed argument stored whole under the batch's first seq.
              'batch-blob': cut(
                full,
                ['local id = format(idFormat, seq, random)', 'local id = seq'],
                ['local tail = sub(packed, pos + 12, pos + 11 + length)', ''],
                [RECORD, ''],
                ["ids[n + 1] = '0'", ''],
                ['ids[n + 2] = id', ''],
                ['records[n + 1] = id', ''],
                ["each('ZADD', KEYS[1], ids)", ''],
                ["each('HSET', KEYS[2], records)", "rcall('HSET', KEYS[2], firstSeq, packed)"],
              ),
            }
          : {}),
      };

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
          p.evalsha(shas[name]!, call.keys.length, ...call.keys, ...call.args);
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
