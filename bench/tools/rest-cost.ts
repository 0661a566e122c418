/**
 * Server CPU per REST request, robust to a busy machine where rates are not: one `holdline serve`
 * per build and scenario, `LANES` keep-alive connections from this one process (bench/lib/httpclient.ts,
 * a write and an indexOf per request), `N` requests after a warm-up, the server's CPU from
 * /proc/<pid>/stat (and its redis-server's) divided by the requests. With several builds
 * (`DISTS=a,b`) the builds take turns per round (`ROUNDS`), so load drifting over the run hits
 * each alike; the median round is printed.
 *
 *   npx tsx bench/tools/rest-cost.ts                      # this tree's dist/, every scenario, memory and redis
 *   DISTS=/tmp/before/dist,dist SCENARIOS=ingest,history ENGINES=memory npx tsx bench/tools/rest-cost.ts
 *
 * Scenarios (the bench's REST rows, and a call queue's change):
 *   ingest   POST /bench/<queue> {body (256 B), partition, ttl}, 10 queues × 4 partitions, weak
 *   history  GET /bench/history?since=<first>&limit=100 on a queue holding 100 messages (cold on Redis)
 *   calls    a caller joining (POST /v1/queues/{q}/callers) then leaving (DELETE …/callers/{uuid}),
 *            on a `manual` queue (the default) with 10 members: one request counted per join or leave
 *   positions the positions bench's queue without its followers: 200 members, 1,000 callers waiting,
 *            requests alternating a join and the leave of a random waiting caller (issue 12: each
 *            join is given its estimated wait behind the callers ahead)
 *
 * `BENCH_HOLDLINE_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"` profiles each server (bench/holdline/server.ts).
 * `SLOWLOG=1` prints each Redis command's and script's mean µs during the measured requests (one Redis).
 */
import { Redis } from 'ioredis';
import { RawHttp } from '../lib/httpclient.js';
import { cpuSeconds } from '../lib/proc.js';
import { startRedisCluster } from '../lib/redis-cluster.js';
import { startRedis, type RedisHandle } from '../lib/servers.js';
import { BENCH_APP, createQueue, rest, startHoldline, type Engine, type HoldlineServer } from '../holdline/server.js';

const N = Number(process.env.N ?? 20_000);
const LANES = Number(process.env.LANES ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DISTS = (process.env.DISTS ?? 'dist').split(',').filter(Boolean);
const SCENARIOS = (process.env.SCENARIOS ?? 'ingest,history,calls').split(',').filter(Boolean);
/** `cluster`: the redis engine on a 3-primary Redis Cluster (lib/redis-cluster.ts), as the bench's -cluster rows. */
const ENGINES = (process.env.ENGINES ?? 'memory,redis').split(',').filter(Boolean) as Array<Engine | 'cluster'>;
const BODY = 'x'.repeat(256);

/** One request of the scenario on `conn`; the scenario's set-up is done when this is returned. */
type Op = (conn: RawHttp, i: number) => Promise<void>;

function expect(status: number, want: number | number[], what: string, body: Buffer): void {
  if (!(Array.isArray(want) ? want : [want]).includes(status)) throw new Error(`${what} answered ${status}: ${body.toString().slice(0, 200)}`);
}

async function prepare(server: HoldlineServer, scenario: string): Promise<Op> {
  const auth = `Authorization: Application ${server.appKey}\r\n`;
  const jsonHeaders = `${auth}Content-Type: application/json\r\n`;
  if (scenario === 'ingest') {
    for (let q = 0; q < 10; q++) await createQueue(server, `ingest-${q}`, 4);
    return async (conn, i) => {
      const r = await conn.request('POST', `/${BENCH_APP}/ingest-${i % 10}`, jsonHeaders, `{"body":"${BODY}","partition":${1 + ((i >> 3) % 4)},"ttl":600}`);
      expect(r.status, 201, 'POST message', r.body);
    };
  }
  if (scenario === 'history') {
    await createQueue(server, 'history', 1);
    const messages = Array.from({ length: 100 }, () => ({ body: BODY, partition: 1 }));
    // `key`: the one name for the id that builds before `message_id` was added answer too.
    const posted = await rest<{ messages: Array<{ key: string }> }>(server, 'POST', `/${BENCH_APP}/history`, { messages }, [201]);
    const route = `/${BENCH_APP}/history?since=${posted.messages[0]!.key}&limit=100`;
    return async (conn) => {
      const r = await conn.request('GET', route, auth);
      expect(r.status, 200, 'GET history', r.body);
    };
  }
  if (scenario === 'calls') {
    const queue = await rest<{ uuid: string }>(server, 'POST', '/v1/queues', { name: 'cost' }, [201]);
    for (let i = 0; i < 10; i++) {
      const agent = await rest<{ uuid: string }>(server, 'POST', '/v1/agents', { name: `agent-${i}` }, [201]);
      await rest(server, 'POST', `/v1/queues/${queue.uuid}/members`, { agent_id: agent.uuid, number: String(1000 + i) }, [201]);
    }
    // Each lane's caller joins and then leaves: every other request is a join.
    const waiting = new Map<RawHttp, string>();
    let number = 6_135_550_000;
    return async (conn) => {
      const uuid = waiting.get(conn);
      if (uuid === undefined) {
        const r = await conn.request('POST', `/v1/queues/${queue.uuid}/callers`, jsonHeaders, `{"number":"${number++}"}`);
        expect(r.status, 201, 'POST caller', r.body);
        waiting.set(conn, (JSON.parse(r.body.toString()) as { uuid: string }).uuid);
      } else {
        const r = await conn.request('DELETE', `/v1/queues/${queue.uuid}/callers/${uuid}?reason=abandoned`, auth);
        expect(r.status, [200, 204], 'DELETE caller', r.body);
        waiting.delete(conn);
      }
    };
  }
  if (scenario === 'positions') {
    const queue = await rest<{ uuid: string }>(server, 'POST', '/v1/queues', { name: 'cost-positions' }, [201]);
    for (let i = 0; i < 200; i++) {
      const agent = await rest<{ uuid: string }>(server, 'POST', '/v1/agents', { name: `agent-${i}` }, [201]);
      await rest(server, 'POST', `/v1/queues/${queue.uuid}/members`, { agent_id: agent.uuid, number: String(1000 + i) }, [201]);
    }
    let number = 6_135_550_000;
    const waiting: string[] = [];
    for (let i = 0; i < 1000; i++) waiting.push((await rest<{ uuid: string }>(server, 'POST', `/v1/queues/${queue.uuid}/callers`, { number: String(number++) }, [201])).uuid);
    let turn = 0;
    return async (conn) => {
      if (turn++ % 2 === 0 || waiting.length === 0) {
        const r = await conn.request('POST', `/v1/queues/${queue.uuid}/callers`, jsonHeaders, `{"number":"${number++}"}`);
        expect(r.status, 201, 'POST caller', r.body);
        waiting.push((JSON.parse(r.body.toString()) as { uuid: string }).uuid);
      } else {
        const k = Math.floor(Math.random() * waiting.length);
        const uuid = waiting[k]!;
        waiting[k] = waiting[waiting.length - 1]!;
        waiting.pop();
        const r = await conn.request('DELETE', `/v1/queues/${queue.uuid}/callers/${uuid}?reason=abandoned`, auth);
        expect(r.status, [200, 204], 'DELETE caller', r.body);
      }
    };
  }
  throw new Error(`unknown scenario ${scenario} (ingest, history, calls, positions)`);
}

async function drive(conns: RawHttp[], op: Op, total: number): Promise<void> {
  let next = 0;
  await Promise.all(conns.map(async (conn) => {
    while (next < total) await op(conn, next++);
  }));
}

interface Cost {
  /** Server CPU per request, µs. */
  serverUs: number;
  /** Its redis-server's CPU per request, µs (0 on memory). */
  redisUs: number;
  perSec: number;
  /** Redis commands per request, by command (`evalsha` counts each script call), with Redis µs per request in each. */
  commands: Record<string, { calls: number; us: number }>;
}

/** Per command: calls, and Redis's own µs in it (a script's µs include the commands it runs). */
async function commandCalls(redis: Redis): Promise<Record<string, { calls: number; us: number }>> {
  const out: Record<string, { calls: number; us: number }> = {};
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_(\S+?):calls=(\d+),usec=(\d+)/gm)) out[m[1]!] = { calls: Number(m[2]), us: Number(m[3]) };
  return out;
}

async function measure(dist: string, engine: Engine, scenario: string, redis: RedisHandle | undefined): Promise<Cost> {
  process.env.BENCH_HOLDLINE_DIST = dist;
  const redisPids = redis?.pids ?? (redis ? [redis.pid] : []);
  const redisCpu = (): number => redisPids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const server = await startHoldline(engine, redis, { HOLDLINE_REDIS_PREFIX: `rc${Date.now().toString(36)}` });
  const conns: RawHttp[] = [];
  try {
    const op = await prepare(server, scenario);
    for (let i = 0; i < LANES; i++) conns.push(await RawHttp.connect(server.endpoint.port));
    await drive(conns, op, Math.min(2000, N / 5)); // warm-up: JIT, caches, pools
    const pid = server.pids[0]!;
    // Commands are counted on one Redis (a cluster's are spread over its nodes).
    const admin = redis && redis.pids === undefined ? new Redis(redis.port, '127.0.0.1') : undefined;
    await admin?.config('RESETSTAT');
    if (process.env.SLOWLOG) {
      await admin?.config('SET', 'slowlog-log-slower-than', '0');
      await admin?.config('SET', 'slowlog-max-len', '100000');
      await admin?.slowlog('RESET');
    }
    const s0 = cpuSeconds(pid);
    const r0 = redisCpu();
    const t0 = performance.now();
    await drive(conns, op, N);
    const secs = (performance.now() - t0) / 1000;
    const serverCpu = cpuSeconds(pid) - s0;
    const redisUsed = redisCpu() - r0;
    const commands = admin ? await commandCalls(admin) : {};
    if (process.env.SLOWLOG && admin) printSlowlog(await admin.slowlog('GET', 100_000));
    admin?.disconnect();
    for (const c of Object.values(commands)) {
      c.calls /= N;
      c.us /= N;
    }
    return {
      commands,
      serverUs: (serverCpu * 1e6) / N,
      redisUs: (redisUsed * 1e6) / N,
      perSec: N / secs,
    };
  } finally {
    for (const c of conns) c.close();
    await server.stop();
  }
}

/**
 * SLOWLOG=1: every command Redis ran during the measured requests, from its slow log (threshold 0),
 * grouped (a script by its SHA, key count and first argument: which script and mode) with its mean
 * µs — the one way to see a script's own cost, which INFO commandstats sums into `evalsha`.
 */
function printSlowlog(entries: unknown): void {
  const agg = new Map<string, { n: number; us: number }>();
  for (const [, , us, args] of entries as [number, number, number, string[]][]) {
    let k = args[0]!;
    if (k.toLowerCase() === 'evalsha') {
      const keys = Number(args[2]);
      k = `evalsha ${args[1]!.slice(0, 8)} keys=${keys} ${args[3 + keys] ?? ''}`;
    }
    const a = agg.get(k) ?? { n: 0, us: 0 };
    a.n++;
    a.us += us;
    agg.set(k, a);
  }
  for (const [k, a] of [...agg].sort((x, y) => y[1].us - x[1].us).slice(0, 15)) console.log(`   slowlog ${k.padEnd(50)} n=${a.n} mean ${(a.us / a.n).toFixed(1)} µs`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => x.toFixed(1).padStart(7);

console.log(`rest-cost: N=${N} LANES=${LANES} ROUNDS=${ROUNDS}, load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log('scenario engine   build                      server µs/req  redis µs/req   req/s (median round)');
for (const engine of ENGINES) {
  const redis = engine === 'redis' ? await startRedis() : engine === 'cluster' ? await startRedisCluster() : undefined;
  try {
    for (const scenario of SCENARIOS) {
      const rounds = new Map<string, Cost[]>(DISTS.map((d) => [d, []]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const dist of DISTS) rounds.get(dist)!.push(await measure(dist, engine === 'memory' ? 'memory' : 'redis', scenario, redis));
      }
      for (const dist of DISTS) {
        const costs = rounds.get(dist)!;
        console.log(
          `${scenario.padEnd(8)} ${engine.padEnd(8)} ${dist.padEnd(26)} ${fmt(median(costs.map((c) => c.serverUs)))}  ${fmt(median(costs.map((c) => c.redisUs)))}  ${fmt(median(costs.map((c) => c.perSec)))}` +
            `   rounds: ${costs.map((c) => c.serverUs.toFixed(0)).join(' ')}`,
        );
        const commands = Object.entries(costs[0]!.commands).filter(([, c]) => c.calls >= 0.01).sort((a, b) => b[1].us - a[1].us);
        if (commands.length > 0) {
          console.log(`${''.padEnd(44)} Redis calls per request (µs): ${commands.map(([k, c]) => `${k} ${c.calls.toFixed(2)} (${c.us.toFixed(1)})`).join(', ')}`);
        }
      }
    }
  } finally {
    await redis?.stop();
  }
}
