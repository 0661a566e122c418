/**
 * history on Holdline: a one-partition queue holding exactly `messages` stamped messages (published
 * in one request); every read is since=<first id>, limit=<messages>, back to back on `concurrency`
 * lanes, and must return all of them (counted by their stamps).
 *
 *   ws:   one /v1/ws connection per lane: a connection handles its frames one after the other
 *         (websocket.md 3.1 "Order"), so lanes sharing a connection would queue behind each other.
 *   rest: one keep-alive connection per lane, GET /bench/<queue>?since=<id>&limit=<n>.
 *
 * `followed`: one more connection subscribes to the partition first, as an agent desktop would, so
 * the node follows it and keeps its tail in memory; otherwise the partition is cold.
 */
import { closedLoop } from '../lib/closed-loop.js';
import { RawHttp } from '../lib/httpclient.js';
import { scanStamps, stampedBody } from '../lib/payload.js';
import { log } from '../lib/progress.js';
import { BENCH_APP, createQueue, selfCpuMeter, serverCpuMeter, type HoldlineServer, type ThroughputFigures, type Transport } from './server.js';
import { connect, Rpc } from './wire.js';

export interface HistoryOptions {
  transport: Transport;
  /** The queue holds exactly this many messages; every read is since=<start>, limit=<messages>. */
  messages: number;
  bodyBytes: number;
  concurrency: number;
  durationMs: number;
  /**
   * A WebSocket subscriber follows the partition during the reads, so the node keeps its tail in
   * memory (issue 18: src/engine/redis/tail-cache.ts); false: a cold partition nobody follows.
   */
  followed?: boolean;
}

const ms = (micros: number): number => Math.round(micros) / 1000;

/** Creates queue `name` holding `count` stamped messages in partition 1; returns the first id. */
export async function fillHistoryQueue(server: HoldlineServer, name: string, count: number, bodyBytes: number): Promise<string> {
  await createQueue(server, name, 1);
  const ws = await connect({ port: server.endpoint.port, format: 'json', key: server.appKey });
  try {
    const rpc = new Rpc(ws, 'json');
    const reply = await rpc.call<{ messages: Array<{ message_id: string }> }>({
      type: 'publish',
      application: BENCH_APP,
      queue: name,
      messages: Array.from({ length: count }, () => ({ body: stampedBody(bodyBytes), partition: 1 })),
    });
    return reply.messages[0]!.message_id;
  } finally {
    ws.destroy();
  }
}

export async function history(server: HoldlineServer, o: HistoryOptions): Promise<ThroughputFigures> {
  const queue = 'history';
  const first = await fillHistoryQueue(server, queue, o.messages, o.bodyBytes);
  const closers: Array<() => void> = [];
  let short = 0;
  let op: (lane: number) => Promise<unknown>;
  try {
    if (o.followed === true) {
      const follower = await connect({ port: server.endpoint.port, format: 'json', key: server.appKey });
      closers.push(() => follower.destroy());
      const reply = await new Rpc(follower, 'json').call<{ type: string }>({ type: 'subscribe', application: BENCH_APP, queue, partitions: [1] });
      if (reply.type !== 'subscribed') throw new Error(`subscribe answered ${JSON.stringify(reply)}`);
    }
    if (o.transport === 'ws') {
      const rpcs: Rpc[] = [];
      for (let i = 0; i < o.concurrency; i++) {
        const ws = await connect({ port: server.endpoint.port, format: 'json', key: server.appKey });
        closers.push(() => ws.destroy());
        rpcs.push(new Rpc(ws, 'json'));
      }
      const frame = { type: 'history', application: BENCH_APP, queue, since: first, limit: o.messages };
      op = async (lane) => {
        const reply = await rpcs[lane]!.request(frame);
        if (scanStamps(reply) !== o.messages) short++;
      };
    } else {
      const conns: RawHttp[] = [];
      for (let i = 0; i < o.concurrency; i++) {
        const c = await RawHttp.connect(server.endpoint.port);
        closers.push(() => c.close());
        conns.push(c);
      }
      const headers = `Authorization: Application ${server.appKey}\r\n`;
      const route = `/${BENCH_APP}/${queue}?since=${first}&limit=${o.messages}`;
      op = async (lane) => {
        const r = await conns[lane]!.request('GET', route, headers);
        if (r.status !== 200) throw new Error(`GET answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
        if (scanStamps(r.body) !== o.messages) short++;
      };
    }
    const cpu = serverCpuMeter(server);
    const self = selfCpuMeter();
    const r = await closedLoop({ label: `  holdline ${o.transport} history`, concurrency: o.concurrency, durationMs: o.durationMs }, op);
    const used = cpu();
    const genCpu = self();
    if (r.ops === 0) throw new Error(`no read completed: ${r.firstError ?? 'no error given'}`);
    if (short) throw new Error(`${short} reads returned other than ${o.messages} messages`);
    log(`  ${Math.round(r.opsPerSec)} reads/s; server CPU ${used.holdline} (+ redis ${used.redis}) cores, generator ${genCpu}`);
    return {
      perSec: r.opsPerSec,
      p50Ms: ms(r.hist.percentile(50)),
      p99Ms: ms(r.hist.percentile(99)),
      details: {
        messages_per_read: o.messages,
        partition: o.followed === true ? 'followed (a WebSocket subscriber on it)' : 'cold (nobody follows it)',
        concurrency: o.concurrency,
        connections: o.concurrency,
        body_bytes: o.bodyBytes,
        errors: r.errors,
        ...(r.firstError ? { first_error: r.firstError.slice(0, 200) } : {}),
        server_cpu_cores: used.holdline,
        redis_cpu_cores: used.redis,
        generator_cpu_cores: genCpu,
      },
    };
  } finally {
    for (const c of closers) c();
  }
}
