/**
 * The relay script's Redis cost per event on a full log, where every event relayed makes
 * retention drop the oldest (issue 13), two trees' scripts A/B on one redis-server started here,
 * rounds alternating: each round fills a fresh log to its bound (2,000), then relays 300 calls of
 * 32 call-queue events; `INFO commandstats` evalsha µs (the script with the commands it runs) ÷ events.
 *
 *   BEFORE=/path/to/other/tree npx tsx bench/tools/event-trim-ab.ts
 */
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer } from '../lib/redis-server.js';
import { RedisKeys } from '../../src/engine/redis/keys.js';

if (process.env.BEFORE === undefined) throw new Error('BEFORE=<tree> (its src/ is read)');
const trees = { before: resolve(process.env.BEFORE), after: resolve(import.meta.dirname, '../..') };
const srv = await startRedisServer();
const c = new Redis(srv.url);
const sha: Record<string, string> = {};
for (const [name, root] of Object.entries(trees)) {
  const { loadLua } = (await import(`${root}/src/engine/redis/scripts.ts`)) as { loadLua(f: string, r?: boolean): string };
  sha[name] = (await c.script('LOAD', loadLua('events-relay-8', true))) as string;
}
const traits = '{"name":"queue_id","type":"string","value":"0b7f0c1e-7a53-4f6e-9a51-6c1c0b1f1d2e"},{"name":"caller_id","type":"string","value":"1b7f0c1e-7a53-4f6e-9a51-6c1c0b1f1d2e"},{"name":"name","type":"string","value":"c"},{"name":"number","type":"string","value":"6135550000"},{"name":"priority","type":"integer","value":0},{"name":"status","type":"string","value":"waiting"},{"name":"position","type":"integer","value":1}';
let n = 0;
async function relay(name: string, app: string, count: number, max: number): Promise<void> {
  const keys = new RedisKeys('ab').eventLog(app);
  const args: string[] = ['0', String(max), 'outbox', String(count)];
  for (let k = 0; k < count; k++) {
    n++;
    const us = Date.now() * 1000 + (n % 1000);
    const id = `019af00a-0000-7000-8000-${String(n).padStart(12, '0')}`;
    const rec = `,"us":${us},"q":"q${n % 4}","event":{"message_id":"${id}","event_type":"queue.caller.join","generated":"2026-12-07T15:00:00.000000Z","traits":[{"name":"project_id","type":"string","value":"app"},${traits}],"raw":{}}}`;
    args.push(`1-${n}`, String(us), 'queue.caller.join', `q${n % 4}`, id, rec, '');
  }
  await c.evalsha(sha[name]!, 8, ...keys, ...args);
}
const res: Record<string, number[]> = { before: [], after: [] };
for (let round = 0; round < 8; round++) {
  for (const name of round % 2 ? ['after', 'before'] : ['before', 'after']) {
    await c.flushall();
    const app = `a${round}${name}`;
    for (let i = 0; i < 2000 / 32; i++) await relay(name, app, 32, 2000); // fill to the bound
    await c.config('RESETSTAT');
    const N = 300;
    for (let i = 0; i < N; i++) await relay(name, app, 32, 2000);
    const st = await c.info('commandstats');
    res[name]!.push(Number((Number(/^cmdstat_evalsha:calls=\d+,usec=(\d+)/m.exec(st)![1]) / (N * 32)).toFixed(2)));
  }
}
console.log('relay script µs per event on a full log (evalsha usec, incl. its commands):', JSON.stringify(res));
c.disconnect(); await srv.stop();
