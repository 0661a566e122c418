/**
 * ingest on Holdline: `producers` clients publish one message per request, each keeping
 * `inflightPerProducer` requests awaiting their ack, round-robin over queues × partitions, with a
 * TTL, into weak-consistency queues (acked once the engine stored the message). The peers get the
 * same shape: redis-benchmark 50 clients × pipeline 16, JetStream 50 connections × 16 in flight.
 *
 *   ws:   one /v1/ws connection per producer, `publish` frames with integer ids, 16 outstanding.
 *   rest: HTTP/1.1 has no multiplexing and clients do not pipeline, so a producer with 16 requests
 *         in flight holds 16 keep-alive connections (800 in all), each POST /bench/<queue> JSON
 *         {body, partition, ttl} → 201.
 *
 * After the loop the stored count (GET …/info?include_count) must cover every acked message:
 * "persisted" is checked, not assumed.
 */
import { closedLoop } from '../lib/closed-loop.js';
import { RawHttp } from '../lib/httpclient.js';
import { stampedBody } from '../lib/payload.js';
import { log } from '../lib/progress.js';
import type { RawWs } from '../lib/wsclient.js';
import { BENCH_APP, createQueue, rest, selfCpuMeter, serverCpuMeter, type HoldlineServer, type ThroughputFigures, type Transport } from './server.js';
import { connect, Rpc } from './wire.js';

export interface IngestOptions {
  transport: Transport;
  producers: number;
  queues: number;
  partitions: number;
  ttlSeconds: number;
  bodyBytes: number;
  /** Messages each producer keeps in flight awaiting their ack (the peers get the same). */
  inflightPerProducer: number;
  durationMs: number;
  /**
   * Messages per `publish` frame (WebSocket only; default 1). Above 1, the SDK's coalescing as a
   * producer gets it (src/client/publish-batch.ts): its `inflightPerProducer` publishes of one turn
   * leave as frames of this many messages to one queue, and the next ones once those are answered.
   */
  frameMessages?: number;
}

const ms = (micros: number): number => Math.round(micros) / 1000;

export async function ingest(server: HoldlineServer, o: IngestOptions): Promise<ThroughputFigures> {
  const queues = Array.from({ length: o.queues }, (_, i) => `ingest-${i}`);
  for (const q of queues) await createQueue(server, q, o.partitions);
  const slots = o.queues * o.partitions;
  let n = 0;
  const nextSlot = (): { queue: string; partition: number } => {
    const s = n++ % slots;
    return { queue: queues[s % o.queues]!, partition: 1 + Math.floor(s / o.queues) };
  };
  const perFrame = o.transport === 'ws' ? Math.max(1, o.frameMessages ?? 1) : 1;
  // Frames in flight: a producer's in-flight messages, perFrame to a frame.
  const lanes = o.producers * Math.max(1, Math.ceil(o.inflightPerProducer / perFrame));
  let frames = 0;
  const closers: Array<() => void> = [];
  let op: (lane: number) => Promise<unknown>;
  try {
    if (o.transport === 'ws') {
      const conns: Rpc[] = [];
      for (let i = 0; i < o.producers; i++) {
        const ws: RawWs = await connect({ port: server.endpoint.port, format: 'json', key: server.appKey });
        closers.push(() => ws.destroy());
        conns.push(new Rpc(ws, 'json'));
      }
      op = (lane) => {
        if (perFrame === 1) {
          const { queue, partition } = nextSlot();
          return conns[lane % o.producers]!.request({
            type: 'publish',
            application: BENCH_APP,
            queue,
            messages: [{ body: stampedBody(o.bodyBytes), partition, ttl: o.ttlSeconds }],
          });
        }
        // One queue per frame (the SDK coalesces per application and queue), partitions in turn.
        const queue = queues[frames++ % o.queues]!;
        return conns[lane % o.producers]!.request({
          type: 'publish',
          application: BENCH_APP,
          queue,
          messages: Array.from({ length: perFrame }, (_, j) => ({ body: stampedBody(o.bodyBytes), partition: 1 + (j % o.partitions), ttl: o.ttlSeconds })),
        });
      };
    } else {
      const conns: RawHttp[] = [];
      for (let i = 0; i < lanes; i++) {
        const c = await RawHttp.connect(server.endpoint.port);
        closers.push(() => c.close());
        conns.push(c);
      }
      const headers = `Authorization: Application ${server.appKey}\r\nContent-Type: application/json\r\n`;
      op = async (lane) => {
        const { queue, partition } = nextSlot();
        const r = await conns[lane]!.request(
          'POST',
          `/${BENCH_APP}/${queue}`,
          headers,
          `{"body":"${stampedBody(o.bodyBytes)}","partition":${partition},"ttl":${o.ttlSeconds}}`,
        );
        if (r.status !== 201) throw new Error(`POST answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
      };
    }
    const cpu = serverCpuMeter(server);
    const self = selfCpuMeter();
    const r = await closedLoop(
      { label: `  holdline ${o.transport} publish`, concurrency: lanes, durationMs: o.durationMs },
      (lane) => op(lane),
    );
    const used = cpu();
    const genCpu = self();
    if (r.ops === 0) throw new Error(`no publish acknowledged: ${r.firstError ?? 'no error given'}`);
    const acked = r.ops * perFrame;
    const perSec = r.opsPerSec * perFrame;
    let stored = 0;
    for (const q of queues) stored += (await rest<{ count: number }>(server, 'GET', `/${BENCH_APP}/${q}/info?include_count=1`)).count;
    // Every counted ack must be stored (more may be: warm-up and requests still in flight at the end).
    if (stored < acked) throw new Error(`only ${stored} messages stored after ${acked} acked messages`);
    log(`  ${Math.round(perSec)} persisted/s, ${stored} stored; server CPU ${used.holdline} (+ redis ${used.redis}) cores, generator ${genCpu}`);
    return {
      perSec,
      p50Ms: ms(r.hist.percentile(50)),
      p99Ms: ms(r.hist.percentile(99)),
      details: {
        producers: o.producers,
        inflight_per_producer: o.inflightPerProducer,
        messages_per_frame: perFrame,
        connections: o.transport === 'ws' ? o.producers : lanes,
        queues: o.queues,
        partitions: o.partitions,
        ttl_s: o.ttlSeconds,
        consistency: 'weak',
        body_bytes: o.bodyBytes,
        errors: r.errors,
        ...(r.firstError ? { first_error: r.firstError.slice(0, 200) } : {}),
        stored_after: stored,
        server_cpu_cores: used.holdline,
        redis_cpu_cores: used.redis,
        // Redis CPU per persisted message (issue 18: against XADD's in the ceiling row).
        ...(used.redis > 0 ? { redis_cpu_us_per_msg: Number(((used.redis * 1e6) / perSec).toFixed(2)) } : {}),
        ...(used.redisPerNode ? { redis_cpu_cores_per_node: used.redisPerNode.join('/') } : {}),
        generator_cpu_cores: genCpu,
      },
    };
  } finally {
    for (const c of closers) c();
  }
}
