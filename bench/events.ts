/**
 * Event log bench (issue 13): run on demand with tsx; Redis rows on a redis-server it starts itself.
 *
 *   npx tsx bench/events.ts ops [--engines memory,redis] [--seconds 5] [--rounds 2] [--concurrency 16] [--root DIR]
 *       the cost of recording events on call-queue operations (a caller joins, then leaves; 4
 *       queues), with and without recording in the same run: each engine's call store is run in
 *       rounds alternating recording on and off (the engines' `recordEvents: false`, what
 *       HOLDLINE_EVENTS=off sets), a fresh key prefix per round. Per row: ops/s, p99 of one op, the
 *       bench process's CPU per op (Node: the store and its relay, plus the load loop, the same in
 *       both rows) and redis-server's CPU per op (INFO cpu) with its commands' share (INFO
 *       commandstats); then on ÷ off. On Redis the relay's work is counted: each round ends once
 *       every outbox is relayed. --root DIR: the call store of another tree (its recording cannot
 *       be switched off when it predates the setting: read its "on" rows). --slowlog: Redis's
 *       SLOWLOG at threshold 0 during each round (costs Redis time itself: its rows' CPU figures are
 *       not comparable with a run without it), summed per top-level command, a script call by its
 *       file name: µs per op and calls per op, printed per row (`slowlog` in the JSON); the
 *       commands scripts call are in INFO commandstats (`redis_cmd_us_per_op`).
 *   npx tsx bench/events.ts rest [--engines memory,redis] [--seconds 5] [--rounds 2] [--clients 64] [--queues 4] [--max-events N] [--root DIR]
 *       the same through the REST API of a real server: see rest() below.
 *   npx tsx bench/events.ts query [--events 1000000] [--seconds 5]
 *       see query() below.
 *
 * Prints one JSON line of results, and a table on stderr.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { RawHttp } from './lib/httpclient.js';
import { startRedisServer } from './lib/redis-server.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    root: { type: 'string', default: resolve(import.meta.dirname, '..') },
    engines: { type: 'string', default: 'memory,redis' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '16' },
    events: { type: 'string', default: '1000000' },
    /** on,off (default) or one of them: a row alone, e.g. to profile it (--cpu-prof). */
    recording: { type: 'string', default: 'on,off' },
    slowlog: { type: 'boolean', default: false },
    /** rest: keep-alive HTTP connections, each one caller's join then leave in turn. */
    clients: { type: 'string', default: '64' },
    queues: { type: 'string', default: '4' },
    /** rest: HOLDLINE_EVENT_MAX_PER_APP (unset: the default, 100,000). Below a round's events, retention trims as the log fills: the steady state of a full log. */
    'max-events': { type: 'string' },
  },
});

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;
}

interface CallStoreLike {
  createCallQueue(app: string, input: Record<string, unknown>): Promise<{ uuid: string }>;
  joinCaller(app: string, queueId: string, input: Record<string, unknown>): Promise<{ value: { uuid: string } }>;
  leaveCaller(app: string, queueId: string, callerUuid: string, reason: string): Promise<unknown>;
  close(): Promise<void>;
  events: { flush(): Promise<void> };
}

/** INFO commandstats as command -> total µs. */
function commandUsec(info: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=\d+,usec=(\d+)/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

function redisCpuSeconds(info: string): number {
  const get = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return get('used_cpu_user') + get('used_cpu_sys');
}

interface OpsRow {
  engine: string;
  recording: boolean;
  ops: number;
  seconds: number;
  latencies: number[];
  node_cpu_us: number;
  redis_cpu_us: number;
  redis_cmd_us: Map<string, number>;
  /** --slowlog: top-level command (a script: its file) -> [µs, calls]. */
  slowlog: Map<string, [number, number]>;
}

/** sha1 -> script file, for naming EVALSHA calls in the SLOWLOG (every variant: recording through the outbox, off, direct). */
async function scriptNames(): Promise<Map<string, string>> {
  const { createHash } = await import('node:crypto');
  const { readdirSync } = await import('node:fs');
  const root = values.root!;
  // A --root of an older tree takes a boolean (recording on or off); 'direct' is then the same as true, and a script that cannot be direct throws.
  const { loadLua } = (await import(`${root}/src/engine/redis/scripts.ts`)) as { loadLua(file: string, mode?: boolean | 'direct'): string };
  const out = new Map<string, string>();
  for (const f of readdirSync(`${root}/src/engine/redis/lua`).filter((n) => n.endsWith('.lua'))) {
    const file = f.slice(0, -4);
    for (const mode of [true, false, 'direct'] as const) {
      try {
        out.set(createHash('sha1').update(loadLua(file, mode)).digest('hex'), file);
      } catch {
        // not a script that can record directly
      }
    }
  }
  return out;
}

let prefixes = 0;

async function openStore(engine: string, recording: boolean, url: string | undefined): Promise<CallStoreLike> {
  const root = values.root!;
  if (engine === 'memory') {
    const { MemoryCallStore } = (await import(`${root}/src/engine/memory/calls.ts`)) as { MemoryCallStore: new (o: Record<string, unknown>) => CallStoreLike };
    const { MemoryEventLog } = (await import(`${root}/src/engine/memory/events.ts`)) as { MemoryEventLog: new (o: Record<string, unknown>) => { close(): void } };
    return new MemoryCallStore({ events: new MemoryEventLog({ recording }) });
  }
  const mod = (await import(`${root}/src/engine/redis/calls.ts`)) as { RedisCallStore: { open(o: Record<string, unknown>): Promise<CallStoreLike> } };
  return mod.RedisCallStore.open({ url, prefix: `bench${++prefixes}`, recordEvents: recording });
}

async function opsRound(engine: string, recording: boolean, url: string | undefined, admin: Redis | undefined): Promise<OpsRow> {
  const store = await openStore(engine, recording, url);
  const app = 'bench';
  const queues: string[] = [];
  for (let i = 0; i < 4; i++) {
    queues.push((await store.createCallQueue(app, { name: `q${i}`, description: '', disabled: false, project_id: null, user_id: null, service_level_seconds: 20 })).uuid);
  }
  await store.events.flush();
  if (admin !== undefined) await admin.config('RESETSTAT');
  if (admin !== undefined && values.slowlog) {
    await admin.config('SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '2000000');
    await admin.slowlog('RESET');
  }
  const redisBefore = admin === undefined ? 0 : redisCpuSeconds(await admin.info('cpu'));
  const cpuBefore = process.cpuUsage();
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
  // The relay's work belongs to the ops: the row ends once every event is in the log.
  await store.events.flush();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  let redisCpu = 0;
  let cmd = new Map<string, number>();
  if (admin !== undefined) {
    redisCpu = (redisCpuSeconds(await admin.info('cpu')) - redisBefore) * 1e6;
    cmd = commandUsec(await admin.info('commandstats'));
    cmd.delete('info');
  }
  const slowlog = new Map<string, [number, number]>();
  if (admin !== undefined && values.slowlog) {
    const names = await scriptNames();
    const entries = (await admin.slowlog('GET', '-1')) as [number, number, number, string[]][];
    await admin.config('SET', 'slowlog-log-slower-than', '-1');
    for (const [, , us, argv] of entries) {
      const command = String(argv[0]).toLowerCase();
      if (command === 'slowlog' || command === 'config' || command === 'info') continue;
      const name = command === 'evalsha' ? (names.get(String(argv[1])) ?? 'evalsha?') : command;
      const row = slowlog.get(name) ?? [0, 0];
      row[0] += Number(us);
      row[1] += 1;
      slowlog.set(name, row);
    }
  }
  await store.close();
  return { engine, recording, ops: done, seconds, latencies, node_cpu_us: cpu.user + cpu.system, redis_cpu_us: redisCpu, redis_cmd_us: cmd, slowlog };
}

interface OpsSummary {
  engine: string;
  recording: boolean;
  ops: number;
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  node_cpu_us_per_op: number;
  redis_cpu_us_per_op: number;
  redis_cmd_us_per_op: Record<string, number>;
  slowlog?: Record<string, { us_per_op: number; calls_per_op: number }>;
}

function summarise(rows: OpsRow[]): OpsSummary {
  const ops = rows.reduce((n, r) => n + r.ops, 0);
  const seconds = rows.reduce((n, r) => n + r.seconds, 0);
  const latencies = rows.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const cmd: Record<string, number> = {};
  for (const r of rows) for (const [k, v] of r.redis_cmd_us) cmd[k] = (cmd[k] ?? 0) + v;
  for (const k of Object.keys(cmd)) cmd[k] = Number((cmd[k]! / ops).toFixed(2));
  const slow = new Map<string, [number, number]>();
  for (const r of rows) {
    for (const [k, [us, calls]] of r.slowlog) {
      const row = slow.get(k) ?? [0, 0];
      row[0] += us;
      row[1] += calls;
      slow.set(k, row);
    }
  }
  const slowlog = Object.fromEntries(
    [...slow].sort((a, b) => b[1][0] - a[1][0]).map(([k, [us, calls]]) => [k, { us_per_op: Number((us / ops).toFixed(2)), calls_per_op: Number((calls / ops).toFixed(3)) }]),
  );
  return {
    engine: rows[0]!.engine, recording: rows[0]!.recording, ops, ops_per_s: Math.round(ops / seconds),
    p50_ms: Number(quantile(latencies, 0.5).toFixed(3)), p99_ms: Number(quantile(latencies, 0.99).toFixed(3)),
    node_cpu_us_per_op: Number((rows.reduce((n, r) => n + r.node_cpu_us, 0) / ops).toFixed(1)),
    redis_cpu_us_per_op: Number((rows.reduce((n, r) => n + r.redis_cpu_us, 0) / ops).toFixed(1)),
    redis_cmd_us_per_op: cmd,
    ...(values.slowlog ? { slowlog } : {}),
  };
}

/**
 * --rounds rounds of one engine, recording on then off, then off then on, and so on (only the
 * --recording values asked for), so that a change of the machine's load during the run hits both
 * rows alike. The rows by recording.
 */
async function alternatingRounds<R>(round: (recording: boolean) => Promise<R>): Promise<Map<boolean, R[]>> {
  const rows = new Map<boolean, R[]>([[true, []], [false, []]]);
  const asked = values.recording!.split(',');
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const recording of r % 2 === 0 ? [true, false] : [false, true]) {
      if (asked.includes(recording ? 'on' : 'off')) rows.get(recording)!.push(await round(recording));
    }
  }
  return rows;
}

async function ops(): Promise<Record<string, unknown>> {
  const engines = values.engines!.split(',');
  const out: Record<string, unknown>[] = [];
  for (const engine of engines) {
    const redis = engine === 'redis' ? await startRedisServer() : undefined;
    const admin = redis === undefined ? undefined : new Redis(redis.url);
    try {
      const rows = await alternatingRounds((recording) => opsRound(engine, recording, redis?.url, admin));
      if (rows.get(true)!.length === 0 || rows.get(false)!.length === 0) {
        const only = summarise([...rows.get(true)!, ...rows.get(false)!]);
        process.stderr.write(`${engine} recording ${only.recording ? 'on' : 'off'}: ${JSON.stringify(only)}\n`);
        out.push({ ...only });
        continue;
      }
      const on = summarise(rows.get(true)!);
      const off = summarise(rows.get(false)!);
      const ratio = {
        engine, ops_per_s_on_over_off: Number((on.ops_per_s / off.ops_per_s).toFixed(3)), p99_on_over_off: Number((on.p99_ms / off.p99_ms).toFixed(3)),
        node_cpu_us_added_per_op: Number((on.node_cpu_us_per_op - off.node_cpu_us_per_op).toFixed(1)),
        redis_cpu_us_added_per_op: Number((on.redis_cpu_us_per_op - off.redis_cpu_us_per_op).toFixed(1)),
      };
      for (const r of [on, off]) {
        process.stderr.write(
          `${engine.padEnd(7)} recording ${r.recording ? 'on ' : 'off'}  ${String(r.ops_per_s).padStart(7)} ops/s  p50 ${r.p50_ms.toFixed(2)} ms  p99 ${r.p99_ms.toFixed(2)} ms  ` +
            `node ${r.node_cpu_us_per_op} µs/op  redis ${r.redis_cpu_us_per_op} µs/op\n`,
        );
        if (r.slowlog !== undefined) {
          const top = Object.entries(r.slowlog).slice(0, 8).map(([k, v]) => `${k} ${v.us_per_op} µs/op (${v.calls_per_op}/op)`);
          process.stderr.write(`        slowlog: ${top.join(', ')}\n`);
        }
      }
      process.stderr.write(`${engine.padEnd(7)} on ÷ off: ops/s ×${ratio.ops_per_s_on_over_off}, p99 ×${ratio.p99_on_over_off}\n`);
      out.push({ ...on }, { ...off }, { ratio });
    } finally {
      admin?.disconnect();
      await redis?.stop();
    }
  }
  return { root: values.root, concurrency: Number(values.concurrency), seconds_per_round: Number(values.seconds), rounds: Number(values.rounds), rows: out };
}

/**
 * Queries over a big log (Redis engine, through the domain: src/domain/events, no HTTP): fills one
 * application's log with --events events (10 types, 10 queues, one per ms of `generated`) by the
 * recording path's own outbox entries (pre-typed traits, as a call-queue change's script writes
 * them, lua/includes/change-event.lua) and the engine's relay, then for --seconds each, with 4
 * queries in flight: a type + time range (the newest tenth, limit 100), a queue_id trait + time
 * range (same), the time range alone (every type's index merged), and a marker-paged walk (the type query page after page, each following the last
 * page's marker: queries/s counts pages). Prints queries/s and p50/p99 per query.
 */
async function query(url: string): Promise<Record<string, unknown>> {
  const { RedisEngine } = await import('../src/engine/redis/index.js');
  const { EventQueries } = await import('../src/domain/events/service.js');
  const { parseEventQuery, queryOrder, queryParams } = await import('../src/domain/events/query.js');
  const { RedisKeys } = await import('../src/engine/redis/keys.js');
  const { isoMicros } = await import('../src/engine/events.js');
  const total = Number(values.events);
  const engine = new RedisEngine({ url, prefix: 'benchq', sweepIntervalMs: 3_600_000, eventRetention: { maxEvents: total + 1, maxAgeMs: 30 * 86_400_000 } });
  await engine.start();
  const app = 'bench';
  const outbox = new RedisKeys('benchq').callApp(app).scripts[8]!;
  const client = new Redis(url);
  const t0Us = (Date.now() - total) * 1000;
  const fillStart = performance.now();
  const CHUNK = 5000;
  for (let i = 0; i < total; ) {
    const pipe = client.pipeline();
    for (let k = 0; k < CHUNK && i < total; k++, i++) {
      const queue = `q${i % 10}`;
      const traits = `{"name":"queue_id","type":"string","value":"${queue}"},{"name":"n","type":"integer","value":${i}}`;
      pipe.xadd(outbox, '*', 'a', '', 't', `bench.type${i % 10}`, 'u', String(t0Us + i * 1000), 'j', traits, 'q', queue);
    }
    await pipe.exec();
    await engine.events.relay(outbox, { app });
    if (i % 100_000 === 0) process.stderr.write(`filled ${i} events in ${((performance.now() - fillStart) / 1000).toFixed(0)} s\n`);
  }
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const base = await engine.events.base(app);
  const service = new EventQueries(engine.events);
  const from = isoMicros(t0Us + Math.floor(total * 0.9) * 1000);
  const to = isoMicros(t0Us + total * 1000);
  const parse = (text: string) => parseEventQuery(queryParams(text), queryOrder(text));
  const scope = { kind: 'app' as const, app };
  const run = async (name: string, next: () => Promise<number>): Promise<Record<string, unknown>> => {
    const until = Date.now() + Number(values.seconds) * 1000;
    const latencies: number[] = [];
    let answered = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (Date.now() < until) {
          const t = performance.now();
          answered = await next();
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const row = {
      query: name, answer_size: answered, queries: latencies.length, queries_per_s: Math.round(latencies.length / seconds),
      p50_ms: Number(quantile(latencies, 0.5).toFixed(2)), p99_ms: Number(quantile(latencies, 0.99).toFixed(2)),
    };
    process.stderr.write(`${JSON.stringify(row)}\n`);
    return row;
  };
  const byType = parse(`q.field=event_type&q.value=bench.type3&q.field=start_timestamp&q.op=ge&q.value=${from}&q.field=end_timestamp&q.op=le&q.value=${to}&limit=100`);
  const byQueue = parse(`q.field=queue_id&q.value=q7&q.field=start_timestamp&q.op=ge&q.value=${from}&q.field=end_timestamp&q.op=le&q.value=${to}&limit=100`);
  // No type or queue: on Redis every type's index is walked and merged (protocol/events.md "Indexes and cost").
  const byTime = parse(`q.field=start_timestamp&q.op=ge&q.value=${from}&q.field=end_timestamp&q.op=le&q.value=${to}&limit=100`);
  const rows = [
    await run('event_type + time range', async () => (await service.query(scope, byType)).length),
    await run('queue_id trait + time range', async () => (await service.query(scope, byQueue)).length),
    await run('time range only (10 types merged)', async () => (await service.query(scope, byTime)).length),
  ];
  // The walk: each lane pages through the type's events from the start of the range, marker to marker.
  const firstPage = `q.field=event_type&q.value=bench.type3&q.field=start_timestamp&q.op=ge&q.value=${isoMicros(t0Us)}&limit=100`;
  rows.push(
    await (async () => {
      const markers = new Map<number, string | undefined>();
      let lane = 0;
      return run('marker-paged walk (event_type, 100 a page)', async () => {
        const me = lane++ % 4;
        const marker = markers.get(me);
        const page = await service.query(scope, parse(marker === undefined ? firstPage : `${firstPage}&marker=${marker}`));
        markers.set(me, page.length === 100 ? page[page.length - 1]!.message_id : undefined);
        return page.length;
      });
    })(),
  );
  client.disconnect();
  await engine.close();
  return { stored_events: base.seq, fill_seconds: Number(fillSeconds.toFixed(1)), fill_events_per_s: Math.round(total / fillSeconds), rows };
}

/**
 * Recording's cost as a user sees it: per round one `holdline serve` of the tree's dist/
 * (`--root`: another tree's, built), memory engine or Redis on one redis-server started here (a
 * fresh prefix and FLUSHALL per round), with HOLDLINE_EVENTS=off or recording on (the default),
 * rounds alternating on/off then off/on. Set-up: --queues call queues (the default strategy,
 * manual) of 10 members each. Then --clients keep-alive connections (bench/lib/httpclient.ts),
 * each driving one queue in turn: a caller's join (POST …/callers) then its leave (DELETE
 * …/callers/{uuid}), every request one op, for a 1 s warm-up and then --seconds measured. On
 * Redis a round (warm-up and measure alike) ends only once every outbox registered is relayed (its
 * last stream id is in the log's `sources`), so the relay's CPU is counted. Per row: ops/s, p50/p99
 * of one request, the server's CPU per op and redis-server's (/proc/<pid>/stat), then on ÷ off.
 * --max-events N: the log's size bound (HOLDLINE_EVENT_MAX_PER_APP); below what the warm-up
 * records, every event recorded in the measured part makes retention drop the oldest, as in a
 * log that has filled up.
 */
async function restMode(): Promise<Record<string, unknown>> {
  const { RawHttp: Http } = await import('./lib/httpclient.js');
  const { cpuSeconds } = await import('./lib/proc.js');
  const { startRedis } = await import('./lib/servers.js');
  const { rest: call, startHoldline } = await import('./holdline/server.js');
  process.env.BENCH_HOLDLINE_DIST = resolve(values.root!, 'dist');
  interface RestRow { ops: number; seconds: number; latencies: number[]; server_cpu_us: number; redis_cpu_us: number; redis_cmd_us: Map<string, number>; drain_ms: number }
  const round = async (engine: 'memory' | 'redis', recording: boolean, redis: Awaited<ReturnType<typeof startRedis>> | undefined, admin: Redis | undefined): Promise<RestRow> => {
    await admin?.flushall();
    const prefix = `evrest${++prefixes}`;
    const server = await startHoldline(engine, redis, {
      HOLDLINE_REDIS_PREFIX: prefix,
      ...(recording ? {} : { HOLDLINE_EVENTS: 'off' }),
      ...(values['max-events'] === undefined ? {} : { HOLDLINE_EVENT_MAX_PER_APP: values['max-events'] }),
    });
    const conns: RawHttp[] = [];
    try {
      const auth = `Authorization: Application ${server.appKey}\r\n`;
      const jsonHeaders = `${auth}Content-Type: application/json\r\n`;
      const queues: string[] = [];
      for (let q = 0; q < Number(values.queues); q++) {
        const queue = await call<{ uuid: string }>(server, 'POST', '/v1/queues', { name: `q${q}` }, [201]);
        for (let i = 0; i < 10; i++) {
          const agent = await call<{ uuid: string }>(server, 'POST', '/v1/agents', { name: `agent-${q}-${i}` }, [201]);
          await call(server, 'POST', `/v1/queues/${queue.uuid}/members`, { agent_id: agent.uuid, number: String(1000 + q * 10 + i) }, [201]);
        }
        queues.push(queue.uuid);
      }
      for (let i = 0; i < Number(values.clients); i++) conns.push(await Http.connect(server.endpoint.port));
      let number = 6_135_550_000;
      const drive = async (ms: number, latencies: number[] | null): Promise<number> => {
        const until = Date.now() + ms;
        let done = 0;
        await Promise.all(conns.map(async (conn, c) => {
          const queue = queues[c % queues.length]!;
          while (Date.now() < until) {
            let t = performance.now();
            const joined = await conn.request('POST', `/v1/queues/${queue}/callers`, jsonHeaders, `{"number":"${number++}"}`);
            if (joined.status !== 201) throw new Error(`POST caller answered ${joined.status}: ${joined.body.toString().slice(0, 200)}`);
            latencies?.push(performance.now() - t);
            const uuid = (JSON.parse(joined.body.toString()) as { uuid: string }).uuid;
            t = performance.now();
            const left = await conn.request('DELETE', `/v1/queues/${queue}/callers/${uuid}?reason=abandoned`, auth);
            if (left.status !== 200 && left.status !== 204) throw new Error(`DELETE caller answered ${left.status}: ${left.body.toString().slice(0, 200)}`);
            latencies?.push(performance.now() - t);
            done += 2;
          }
        }));
        return done;
      };
      // Every registered outbox relayed: its last stream id is what the log's sources hold for it.
      const drained = async (): Promise<void> => {
        if (admin === undefined) return;
        for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 10))) {
          const outboxes = (await admin.zrange(`{${prefix}:evreg}:outboxes`, 0, -1)).map((m) => m.slice(0, m.indexOf('\n')));
          const sources = await admin.keys(`{${prefix}:ev:*}:sources`);
          let pending = false;
          for (const outbox of outboxes) {
            // An outbox registered but never written (a node registers before its script runs) has nothing to relay.
            if ((await admin.exists(outbox)) === 0) continue;
            const last = ((await admin.call('XINFO', 'STREAM', outbox)) as unknown[]);
            const lastId = String(last[last.indexOf('last-generated-id') + 1]);
            if (lastId === '0-0') continue;
            const relayed = await Promise.all(sources.map((k) => admin.hget(k, outbox)));
            if (!relayed.includes(lastId)) pending = true;
          }
          if (!pending) return;
        }
        throw new Error('outboxes not relayed within 60 s');
      };
      await drive(1000, null);
      await drained();
      const pid = server.pids[0]!;
      await admin?.config('RESETSTAT');
      const s0 = cpuSeconds(pid);
      const r0 = redis === undefined ? 0 : cpuSeconds(redis.pid);
      const latencies: number[] = [];
      const started = performance.now();
      const ops = await drive(Number(values.seconds) * 1000, latencies);
      const driven = performance.now();
      // Redis's time per command in the measured part (before drained() polls: its commands are the bench's).
      const cmd = admin === undefined ? new Map<string, number>() : commandUsec(await admin.info('commandstats'));
      cmd.delete('config|resetstat');
      await drained();
      const seconds = (performance.now() - started) / 1000;
      return {
        ops, seconds, latencies, drain_ms: performance.now() - driven, redis_cmd_us: cmd,
        server_cpu_us: (cpuSeconds(pid) - s0) * 1e6, redis_cpu_us: redis === undefined ? 0 : (cpuSeconds(redis.pid) - r0) * 1e6,
      };
    } finally {
      for (const c of conns) c.close();
      await server.stop();
    }
  };
  const summary = (rows: RestRow[], engine: string, recording: boolean) => {
    const ops = rows.reduce((n, r) => n + r.ops, 0);
    const latencies = rows.flatMap((r) => r.latencies).sort((a, b) => a - b);
    return {
      engine, recording, ops, ops_per_s: Math.round(ops / rows.reduce((n, r) => n + r.seconds, 0)),
      p50_ms: Number(quantile(latencies, 0.5).toFixed(3)), p99_ms: Number(quantile(latencies, 0.99).toFixed(3)),
      server_cpu_us_per_op: Number((rows.reduce((n, r) => n + r.server_cpu_us, 0) / ops).toFixed(1)),
      redis_cpu_us_per_op: Number((rows.reduce((n, r) => n + r.redis_cpu_us, 0) / ops).toFixed(1)),
      drain_ms_max: Math.round(Math.max(...rows.map((r) => r.drain_ms))),
      redis_cmd_us_per_op: Object.fromEntries(
        [...rows.reduce((m, r) => { for (const [k, v] of r.redis_cmd_us) m.set(k, (m.get(k) ?? 0) + v); return m; }, new Map<string, number>())]
          .map(([k, v]) => [k, Number((v / ops).toFixed(2))] as const),
      ),
      rounds_ops_per_s: rows.map((r) => Math.round(r.ops / r.seconds)),
    };
  };
  const out: Record<string, unknown>[] = [];
  for (const engine of values.engines!.split(',') as ('memory' | 'redis')[]) {
    const redis = engine === 'redis' ? await startRedis() : undefined;
    const admin = redis === undefined ? undefined : new Redis(redis.url);
    try {
      const rows = await alternatingRounds((recording) => round(engine, recording, redis, admin));
      const sums = [true, false].filter((x) => rows.get(x)!.length > 0).map((x) => summary(rows.get(x)!, engine, x));
      for (const s of sums) {
        process.stderr.write(
          `${engine.padEnd(7)} recording ${s.recording ? 'on ' : 'off'}  ${String(s.ops_per_s).padStart(7)} ops/s  p50 ${s.p50_ms.toFixed(2)} ms  p99 ${s.p99_ms.toFixed(2)} ms  ` +
            `server ${s.server_cpu_us_per_op} µs/op  redis ${s.redis_cpu_us_per_op} µs/op  (rounds ${s.rounds_ops_per_s.join(', ')} ops/s)\n`,
        );
      }
      out.push(...sums);
      if (sums.length === 2) {
        const [on, off] = sums as [ReturnType<typeof summary>, ReturnType<typeof summary>];
        const ratio = {
          engine, ops_per_s_on_over_off: Number((on.ops_per_s / off.ops_per_s).toFixed(3)), p99_on_over_off: Number((on.p99_ms / off.p99_ms).toFixed(3)),
          server_cpu_us_added_per_op: Number((on.server_cpu_us_per_op - off.server_cpu_us_per_op).toFixed(1)),
          redis_cpu_us_added_per_op: Number((on.redis_cpu_us_per_op - off.redis_cpu_us_per_op).toFixed(1)),
        };
        process.stderr.write(`${engine.padEnd(7)} on ÷ off: ops/s ×${ratio.ops_per_s_on_over_off}, p99 ×${ratio.p99_on_over_off}, server +${ratio.server_cpu_us_added_per_op} µs/op, redis +${ratio.redis_cpu_us_added_per_op} µs/op\n`);
        // Where recording's Redis time goes (INFO commandstats, µs per op; commands scripts run are in `evalsha` and again under their name).
        const added = Object.entries(on.redis_cmd_us_per_op)
          .map(([k, v]) => [k, Number((v - (off.redis_cmd_us_per_op[k] ?? 0)).toFixed(2))] as const)
          .filter(([, v]) => Math.abs(v) >= 0.1)
          .sort((a, b) => b[1] - a[1]);
        if (added.length > 0) process.stderr.write(`${engine.padEnd(7)} commands, on − off µs/op: ${added.map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${v}`).join(', ')}\n`);
        out.push({ ratio });
      }
    } finally {
      admin?.disconnect();
      await redis?.stop();
    }
  }
  return { root: values.root, clients: Number(values.clients), queues: Number(values.queues), max_events: values['max-events'] ?? 'default', seconds_per_round: Number(values.seconds), rounds: Number(values.rounds), rows: out };
}

const mode = positionals[0] ?? 'ops';
if (mode === 'rest') {
  const loadAverage = (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2)));
  console.log(JSON.stringify({ mode, load_average: loadAverage, ...(await restMode()) }));
} else if (mode === 'ops') {
  console.log(JSON.stringify({ mode, load_average: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))), ...(await ops()) }));
} else {
  const redis = await startRedisServer();
  try {
    console.log(JSON.stringify({ mode, ...(await query(redis.url)) }));
  } finally {
    await redis.stop();
  }
}
