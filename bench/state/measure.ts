/**
 * Processing state on Redis, measured (issue 14): `npx tsx bench/state/measure.ts [--quick]`
 * (needs `npm run build`: it runs the built server, as the other scenarios do).
 *
 * 1. Claims/s: one queue (one partition) of N messages, 20 competing consumers on one node over
 *    the SDK (WebSocket), each looping: history client_state=none limit 100, then claim
 *    (if_state=none → processing) candidates until the page is used up, until none is left.
 *    Two ways of trying a page: `shuffled` (each consumer its own random order, the whole page)
 *    and `striped` (consumer i starts at the page's i-th twentieth and reads again at its first
 *    lost claim: the consumers rarely meet).
 *    claims/s = N / time to claim all; every message claimed exactly once (checked).
 * 2. Filtered reads on a partition of 100,000 messages (every 100th `done`): REST GET latency of
 *    filtered reads against an unfiltered read returning as many messages, sequential, p50/p99.
 *
 * Loopback only; redis-server and Holdline are started on free ports and stopped by PID. Figures
 * go to stdout as JSON and a small table.
 */
import { HoldlineClient } from '../../src/client/index.js';
import { Histogram } from '../lib/histogram.js';
import { startRedis } from '../lib/servers.js';
import { BENCH_APP, rest, startHoldline } from '../holdline/targets.js';

const quick = process.argv.includes('--quick');
const CLAIM_MESSAGES = quick ? 1000 : 5000;
const CONSUMERS = 20;
const PARTITION_SIZE = 100_000;
const READS = quick ? 200 : 1000;

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

async function postMany(url: string, key: string, queue: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1000) {
    const messages = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ body: `job ${i + j}`, partition: 1 }));
    const res = await fetch(`${url}/${BENCH_APP}/${queue}`, { method: 'POST', headers: { authorization: `Application ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages }) });
    if (res.status !== 201) throw new Error(`post answered ${res.status}`);
    ids.push(...((await res.json()) as { messages: Array<{ message_id: string }> }).messages.map((m) => m.message_id));
  }
  return ids;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const server = await startHoldline('redis', redis);
  const results: Record<string, number | string> = { consumers: CONSUMERS, claim_messages: CLAIM_MESSAGES, partition_size: PARTITION_SIZE, reads_per_row: READS };
  try {
    // --- 1. claims/s ---
    const url = `${server.restUrl.replace(/^http/, 'ws')}/v1/ws`;
    for (const order of ['shuffled', 'striped'] as const) {
      const queue = `claims-${order}`;
      await rest(server, 'POST', `/${BENCH_APP}`, { queue_name: queue, partitions: 1 });
      const posted = await postMany(server.restUrl, server.appKey, queue, CLAIM_MESSAGES);
      const clients = Array.from({ length: CONSUMERS }, () => new HoldlineClient({ urls: url, key: server.appKey }));
      await Promise.all(clients.map((c) => c.connect()));
      const claimed: string[] = [];
      let attempts = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        clients.map(async (c, n) => {
          for (;;) {
            const { messages } = await c.history(BENCH_APP, queue, { client_state: ['none'], limit: 100 });
            if (messages.length === 0) return;
            const from = Math.floor((n * messages.length) / CONSUMERS);
            const tries = order === 'shuffled' ? shuffle(messages) : [...messages.slice(from), ...messages.slice(0, from)];
            for (const m of tries) {
              attempts++;
              if ((await c.claim(BENCH_APP, queue, m.message_id, { client_json: { worker: n } })) !== null) claimed.push(m.message_id);
              else if (order === 'striped') break;
            }
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      await Promise.all(clients.map((c) => c.close()));
      if (claimed.length !== CLAIM_MESSAGES || new Set(claimed).size !== posted.length) throw new Error(`claimed ${claimed.length} (${new Set(claimed).size} distinct) of ${posted.length}`);
      results[`${order}: claims_per_s`] = Math.round(CLAIM_MESSAGES / seconds);
      results[`${order}: claim_attempts_per_s`] = Math.round(attempts / seconds);
      results[`${order}: lost_claims (409)`] = attempts - CLAIM_MESSAGES;
    }

    // --- 2. filtered vs unfiltered reads on 100,000 messages ---
    if (process.argv.includes('--claims-only')) return;
    await rest(server, 'POST', `/${BENCH_APP}`, { queue_name: 'big', partitions: 1 });
    const ids = await postMany(server.restUrl, server.appKey, 'big', PARTITION_SIZE);
    for (let i = 0; i < PARTITION_SIZE; i += 100) await rest(server, 'PUT', `/${BENCH_APP}/big/${ids[i]}/client_state/done`);
    const mid = ids[PARTITION_SIZE / 2]!;
    const rows: Array<[string, string, number]> = [
      ['unfiltered, limit 100', '?limit=100', 100],
      ['client_state=done, limit 100', '?client_state=done&limit=100', 100],
      ['client_state=none, limit 100, since mid', `?client_state=none&limit=100&since=${mid}`, 100],
      ['unfiltered, limit 1000', '?limit=1000', 1000],
      ['client_state=done, limit 1000 (all 1000 done)', '?client_state=done&limit=1000', 1000],
      ['updated_since (last 100 changed), limit 100', '', 100],
    ];
    const lastChanged = (await rest<{ message: { updated_at: number } }>(server, 'GET', `/${BENCH_APP}/big/${ids[PARTITION_SIZE - 10_000]}`)).message.updated_at;
    rows[5]![1] = `?updated_since=${lastChanged}&limit=100`;
    for (const [label, query, expected] of rows) {
      const hist = new Histogram();
      for (let i = 0; i < READS; i++) {
        const t = process.hrtime.bigint();
        const res = await fetch(`${server.restUrl}/${BENCH_APP}/big${query}`, { headers: { authorization: `Application ${server.appKey}` } });
        const body = (await res.json()) as { messages: unknown[] };
        hist.record(Number(process.hrtime.bigint() - t) / 1e3);
        if (body.messages.length !== expected) throw new Error(`${label}: ${body.messages.length} messages, expected ${expected}`);
      }
      results[`${label}: p50_ms`] = Number((hist.percentile(50) / 1000).toFixed(2));
      results[`${label}: p99_ms`] = Number((hist.percentile(99) / 1000).toFixed(2));
    }
  } finally {
    await server.stop();
    await redis.stop();
    console.log(JSON.stringify(results, null, 2));
  }
}

await main();
