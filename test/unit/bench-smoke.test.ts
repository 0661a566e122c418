/**
 * The benchmark harness proves itself here without any peer installed: a real raw uWS ceiling
 * server and a real generator process run a tiny fanout, the report writer turns the result into
 * JSON and Markdown, and the Soketi loopback guard refuses every configuration that could reach
 * off the machine. No figure is asserted beyond "messages arrived" (no timed assertions). The phases
 * last fractions of a second: long enough for every counted thing to happen at least once, no longer.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Histogram } from '../../bench/lib/histogram.js';
import { scanStamps, stampedBody } from '../../bench/lib/payload.js';
import { protocolFor } from '../../bench/lib/protocols.js';
import { failed, notAvailable, type RunRecord } from '../../bench/lib/results.js';
import { startRawUws } from '../../bench/lib/servers.js';
import { assertSoketiLoopbackOnly, soketiConfig, SOKETI_DISCOVERY_UNICAST } from '../../bench/lib/soketi-config.js';
import { describeMachine } from '../../bench/report/machine.js';
import { renderMarkdown } from '../../bench/report/markdown.js';
import { writeRun } from '../../bench/report/write.js';
import { runTarget, selected } from '../../bench/scenarios/common.js';
import { NotAvailableError } from '../../bench/lib/not-available.js';
import { measureFanout } from '../../bench/scenarios/fanout.js';
import { parseRedisBenchmarkCsv } from '../../bench/scenarios/ingest.js';
import { parseArgs } from '../../bench/run.js';
import { nextMessage, RawWs } from '../../bench/lib/wsclient.js';
import { RawHttp } from '../../bench/lib/httpclient.js';
import { BENCH_APP, history, ingest, positions, prepareFanout, type HoldlineServer } from '../../bench/holdline/targets.js';
import { updateKey } from '../../bench/holdline/update-key.js';
import { Accuracy, AsteriskHoldtime, HindsightByPlace, ErrorSample } from '../../bench/holdline/centre/accuracy.js';
import { centreOptions, runCentre } from '../../bench/holdline/centre/sim.js';
import { measureWallboard } from '../../bench/holdline/centre/wallboard.js';
import { connect, Rpc } from '../../bench/holdline/wire.js';
import { Redis } from 'ioredis';
import { startRedisCluster } from '../../bench/lib/redis-cluster.js';
import { MemoryCallStore } from '../../src/engine/memory/calls.js';
import { MemoryEngine } from '../../src/engine/memory/index.js';
import { RedisEngine } from '../../src/engine/redis/index.js';
import { mountWebSocket } from '../../src/server/ws/index.js';
import { freshPrefix } from '../helpers/namespace.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('bench harness', () => {
  it('runs fanout on the raw uWS ceiling with 5 subscribers and writes the report', async () => {
    const measure = () =>
      runTarget('fanout', 'raw-uws', 'ceiling', async (cleanup) => {
        const server = await startRawUws();
        cleanup.add(server.stop);
        return measureFanout(
          server,
          'smoke',
          protocolFor('raw'),
          { subscribers: 5, bodyBytes: 256, saturateMs: 500, latencyMs: 250, genProcs: 1, window: 50, drainStallMs: 20_000 },
          cleanup,
        );
      });
    // One more run when the first counts a loss: once in a CI run under the whole suite's load the
    // generator counted 120 deliveries (24 messages × 5 subscribers, 0.5%) short; not seen alone.
    // A loss that repeats still fails here. (Cause not found yet: the publisher's last frames or the
    // generator's frame reader under load.)
    let result = await measure();
    if (result.status === 'ok' && (result.details.lost_in_saturation !== 0 || result.details.lost_in_latency_phase !== 0)) result = await measure();
    expect(result.status, result.reason).toBe('ok');
    expect(result.figures.delivered_per_s!.value).toBeGreaterThan(0);
    expect(result.details.latency_samples).toBeGreaterThan(0);
    expect(result.details.lost_in_saturation).toBe(0);
    expect(result.details.lost_in_latency_phase).toBe(0);
    expect(Number.isFinite(result.figures.p99_ms!.value)).toBe(true);

    const run: RunRecord = {
      startedAt: new Date().toISOString(),
      loadAverage: { start: 0, end: 0 },
      finishedAt: new Date().toISOString(),
      quick: true,
      scenarios: ['fanout'],
      machine: describeMachine(),
      results: [
        result,
        notAvailable('fanout', 'holdline-memory', 'holdline', 'not built'),
        failed('fanout', 'soketi', 'peer', 'exploded'),
      ],
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-bench-smoke-'));
    dirs.push(dir);
    const written = writeRun(run, dir);
    const back = JSON.parse(readFileSync(written.latestJson, 'utf8')) as RunRecord;
    expect(back.results.map((r) => [r.target, r.status])).toEqual([
      ['raw-uws', 'ok'],
      ['holdline-memory', 'not-available'],
      ['soketi', 'failed'],
    ]);
    expect(existsSync(written.json)).toBe(true);
    const md = readFileSync(written.markdown, 'utf8');
    expect(md).toContain('| raw-uws | ceiling |');
    expect(md).toContain('**not-available**: not built');
    expect(md).toContain('fanout, memory: ≥ 0.9 × raw uWS | not measured');
    if (written.chart) expect(readFileSync(written.chart).subarray(1, 4).toString()).toBe('PNG');
  });

  it('reports not-available instead of a figure when a target cannot run, failed when it breaks', async () => {
    const na = await runTarget('fanout', 'holdline-memory', 'holdline', async () => {
      throw new NotAvailableError('feature missing');
    });
    expect(na).toMatchObject({ status: 'not-available', reason: 'feature missing', figures: {} });
    let stopped = false;
    const broken = await runTarget('fanout', 'soketi', 'peer', async (cleanup) => {
      cleanup.add(async () => {
        stopped = true;
      });
      throw new Error('exploded');
    });
    expect(broken).toMatchObject({ status: 'failed', reason: 'exploded', figures: {} });
    expect(stopped).toBe(true);
  });

  it('writes ratios to the best peer and to the ceiling', () => {
    const f = (v: number) => ({ delivered_per_s: { value: v, unit: 'msg/s', better: 'higher' as const, kind: 'throughput' as const } });
    const run: RunRecord = {
      startedAt: 'a',
      loadAverage: { start: 0, end: 0 },
      finishedAt: 'b',
      quick: false,
      scenarios: ['fanout'],
      machine: describeMachine(),
      results: [
        { scenario: 'fanout', target: 'raw-uws', role: 'ceiling', status: 'ok', figures: f(1000), details: {} },
        { scenario: 'fanout', target: 'holdline-memory', role: 'holdline', status: 'ok', figures: f(900), details: {} },
        { scenario: 'fanout', target: 'soketi', role: 'peer', status: 'ok', figures: f(300), details: {} },
        { scenario: 'fanout', target: 'socketio', role: 'peer', status: 'ok', figures: f(100), details: {} },
      ],
    };
    const md = renderMarkdown(run);
    expect(md).toContain('| holdline-memory | holdline | 900 (×3.00 peer, ×0.90 ceiling) |');
    expect(md).toMatch(/fanout, memory: ≥ 0\.9 × raw uWS \| holds/);
    expect(md).toMatch(/fanout, memory: ≥ 3 × Soketi \| holds/);
    expect(md).toMatch(/fanout, memory: ≥ 5 × Socket\.IO \| holds/);
  });
});

describe('bench Redis Cluster (issue 6)', () => {
  it('starts a 3-primary cluster Holdline ingests into, counts every node\'s CPU, and stops every node by PID', async () => {
    const cluster = await startRedisCluster();
    let ts: TestServer | undefined;
    try {
      expect(cluster.url).toMatch(/^redis\+cluster:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
      expect(cluster.pids).toHaveLength(3);
      const r = new Redis({ port: cluster.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await r.connect();
        const nodes = (await r.cluster('NODES')) as string;
        const flags = nodes.trim().split('\n').map((l) => l.split(' ')[2]!.split(','));
        expect(flags.filter((f) => f.includes('master'))).toHaveLength(3);
        expect(nodes).not.toMatch(/slave/);
      } finally {
        r.disconnect();
      }
      const engine = new RedisEngine({ url: cluster.url, prefix: freshPrefix('bcl'), sweepIntervalMs: 60_000 });
      await engine.start();
      ts = await startTestServer(engine, {}, { mounts: [mountWebSocket], callStore: new MemoryCallStore() });
      const { key } = await ts.createApp(BENCH_APP);
      const s: HoldlineServer = {
        name: 'holdline-redis',
        engine: 'redis',
        pids: [process.pid],
        endpoint: { protocol: 'holdline', port: ts.port, params: { key, app: BENCH_APP } },
        redisPid: cluster.pid,
        redisPids: cluster.pids,
        restUrl: ts.url,
        adminKey: ts.adminKey,
        appKey: key,
        stop: async () => {},
      };
      const f = await ingest(s, { transport: 'ws', producers: 2, queues: 3, partitions: 4, ttlSeconds: 60, bodyBytes: 64, inflightPerProducer: 2, durationMs: 150 });
      expect(f.details.errors).toBe(0);
      expect(Number(f.details.stored_after)).toBeGreaterThan(0);
      expect(String(f.details.redis_cpu_cores_per_node).split('/')).toHaveLength(3);
    } finally {
      await ts?.close();
      await ts?.engine.close();
      await cluster.stop();
    }
    for (const pid of cluster.pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 90_000);

  it('sets each cluster row beside its one-Redis twin in the Scale-out section', () => {
    const row = (target: string, v: number, cpu: number, holdlineCpu: number, extra: Record<string, string> = {}) => ({
      scenario: 'ingest' as const,
      target,
      role: 'holdline' as const,
      status: 'ok' as const,
      figures: { persisted_per_s: { value: v, unit: 'msg/s', better: 'higher' as const, kind: 'throughput' as const } },
      details: { redis_cpu_cores: cpu, server_cpu_cores: holdlineCpu, ...extra },
    });
    const run: RunRecord = {
      startedAt: 'a',
      loadAverage: { start: 0, end: 0 },
      finishedAt: 'b',
      quick: true,
      scenarios: ['ingest'],
      machine: describeMachine(),
      results: [
        row('holdline-redis-ws', 1000, 0.5, 0.5),
        row('holdline-redis-cluster-ws', 1500, 0.9, 0.3, { redis_cluster: '3 primaries, 0 replicas' }),
        failed('ingest', 'holdline-redis-cluster-rest', 'holdline', 'exploded'),
      ],
    };
    const md = renderMarkdown(run);
    expect(md).toContain('## Scale-out (issue 6)');
    expect(md).toContain('(3 primaries, 0 replicas)');
    expect(md).toContain('| ingest | holdline-redis-cluster-ws vs holdline-redis-ws | persisted_per_s (msg/s, higher is better) | 1,000 | 1,500 | ×1.50 |');
    expect(md).toContain('| ingest | holdline-redis-cluster-ws vs holdline-redis-ws | Holdline CPU (cores) | 0.5 | 0.3 | ×0.60 |');
    expect(md).toContain('| ingest | holdline-redis-cluster-ws vs holdline-redis-ws | Redis CPU (cores, summed over nodes) | 0.5 | 0.9 | ×1.80 |');
    expect(md).toContain('| ingest | holdline-redis-cluster-ws vs holdline-redis-ws | persisted_per_s per core of Holdline + Redis | 1,000 | 1,250 | ×1.25 |');
    expect(md).toContain('| ingest | holdline-redis-cluster-rest vs holdline-redis-rest | — | | | cluster failed |');
    expect(renderMarkdown({ ...run, results: [row('holdline-redis-ws', 1000, 0.5, 0.5)] })).not.toContain('Scale-out');
  });
});

describe('Soketi loopback guard', () => {
  const good = (): Record<string, unknown> => soketiConfig({ port: 6001, metricsPort: 9601, redisPort: 6380 });

  it('accepts the configuration the harness writes', () => {
    const c = good();
    expect(c['cluster.unicast']).toBe('127.0.0.1:11002');
    expect(SOKETI_DISCOVERY_UNICAST).toBe('127.0.0.1:11002');
    expect(() => assertSoketiLoopbackOnly(c, { PATH: '/usr/bin' })).not.toThrow();
  });

  it.each<[string, (c: Record<string, unknown>) => void]>([
    ['unicast missing', (c) => delete c['cluster.unicast']],
    ['unicast elsewhere', (c) => (c['cluster.unicast'] = '10.0.0.5:11002')],
    ['discovery bound to all interfaces', (c) => (c['cluster.address'] = '0.0.0.0')],
    ['broadcast to the LAN', (c) => (c['cluster.broadcast'] = '255.255.255.255')],
    ['multicast', (c) => (c['cluster.multicast'] = '239.1.1.1')],
    ['server on all interfaces', (c) => (c.host = '0.0.0.0')],
    ['metrics on all interfaces', (c) => (c['metrics.host'] = '0.0.0.0')],
    ['a nested cluster object overriding the dotted keys', (c) => (c.cluster = { unicast: null })],
  ])('refuses %s', (_name, spoil) => {
    const c = good();
    spoil(c);
    expect(() => assertSoketiLoopbackOnly(c, {})).toThrow(/refusing to start Soketi/);
  });

  it('refuses an environment with SOKETI_* overrides', () => {
    expect(() => assertSoketiLoopbackOnly(good(), { SOKETI_CLUSTER_UNICAST_ADDRESSES: 'x' })).toThrow(/SOKETI_CLUSTER/);
  });
});

describe('bench measuring parts', () => {
  it('finds every stamp in an envelope and reads its time', () => {
    const a = stampedBody(256, 1234);
    const b = stampedBody(256, 99_999_999);
    expect(a).toHaveLength(256);
    const stamps: number[] = [];
    const frame = Buffer.from(`MSG t 1 256\r\n${a}\r\nMSG t 1 256\r\n${b}\r\n`);
    expect(scanStamps(frame, (s) => stamps.push(s))).toBe(2);
    expect(stamps).toEqual([1234, 99_999_999]);
    expect(scanStamps(Buffer.from('{"event":"pusher:ping"}'))).toBe(0);
    // `#T` by chance (e.g. inside a MessagePack float) is no stamp; a real one right after still counts.
    expect(scanStamps(Buffer.concat([Buffer.from([0xcb, 0x23, 0x54, 0x01, 0x02]), Buffer.from(a)]), (s) => stamps.push(s))).toBe(1);
    expect(stamps.at(-1)).toBe(1234);
    expect(scanStamps(Buffer.from('#T000000000000123'))).toBe(0);
  });

  it('histogram percentiles stay within 0.1% and merge exactly', () => {
    const h = new Histogram();
    for (let v = 1; v <= 100_000; v++) h.record(v);
    expect(h.percentile(50)).toBeGreaterThan(50_000 * 0.999);
    expect(h.percentile(50)).toBeLessThan(50_000 * 1.001);
    expect(h.percentile(99)).toBeGreaterThan(99_000 * 0.999);
    expect(h.percentile(99)).toBeLessThan(99_000 * 1.001);
    expect(h.percentile(100)).toBe(100_000);
    const m = new Histogram();
    m.merge(h.toData());
    m.merge(h.toData());
    expect(m.count).toBe(200_000);
    expect(m.percentile(50)).toBe(h.percentile(50));
  });

  it('reads redis-benchmark CSV', () => {
    const out =
      '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"\n' +
      '"XADD bench:ingest:__rand_int__ * body xxx","241546.00","2.600","0.400","2.487","4.000","10.375","20.000"\n';
    expect(parseRedisBenchmarkCsv(out)).toEqual({ rps: 241546, p50: 2.487, p99: 10.375 });
  });

  it('parses the command line', () => {
    expect(parseArgs(['fanout', '--quick', '--only', 'soketi,nats']).scenarios).toEqual(['fanout']);
    expect(parseArgs([]).scenarios).toEqual(['fanout', 'ingest', 'history', 'positions', 'connections']);
    expect(() => parseArgs(['bogus'])).toThrow(/unknown argument/);
    expect(parseArgs(['--render', 'x.json']).render).toBe('x.json');
    const only = (o: string): string[] =>
      ['holdline-redis', 'holdline-redis-cluster', 'holdline-redis-ws'].filter((t) => selected({ quick: true, only: parseArgs(['--only', o]).only }, t));
    expect(only('holdline-redis')).toEqual(['holdline-redis', 'holdline-redis-cluster', 'holdline-redis-ws']);
    expect(only('holdline-redis$')).toEqual(['holdline-redis']);
    expect(only('redis-cluster,redis-ws$')).toEqual(['holdline-redis-cluster']);
  });
});

/** Server frame (unmasked), optionally not final, with the length encodings RFC 6455 allows. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, len]) : len < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65_536) {
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65_536) {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  head[0] = (fin ? 0x80 : 0) | opcode;
  return Buffer.concat([head, payload]);
}

/** Unmasks the client frames a test server received (client frames are always masked). */
function clientFrames(buf: Buffer): Array<{ opcode: number; payload: Buffer }> {
  const out: Array<{ opcode: number; payload: Buffer }> = [];
  let off = 0;
  while (off + 6 <= buf.length) {
    let len = buf[off + 1]! & 0x7f;
    let head = 2;
    if (len === 126) {
      len = buf.readUInt16BE(off + 2);
      head = 4;
    }
    const mask = buf.subarray(off + head, off + head + 4);
    const payload = Buffer.from(buf.subarray(off + head + 4, off + head + 4 + len));
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    out.push({ opcode: buf[off]! & 0x0f, payload });
    off += head + 4 + len;
  }
  return out;
}

describe('bench raw WebSocket client', () => {
  it('reads every length encoding, fragments and frames split byte by byte, and answers pings', async () => {
    const received: Buffer[] = [];
    const srv = net.createServer((sock) => {
      let head = '';
      const onData = (d: Buffer): void => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        sock.off('data', onData);
        sock.on('data', (c: Buffer) => received.push(c));
        const key = /Sec-WebSocket-Key: (.+)\r\n/.exec(head)![1]!;
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`).digest('base64');
        const frames = Buffer.concat([
          serverFrame(1, Buffer.from('hello')),
          serverFrame(1, Buffer.alloc(300, 'a')),
          serverFrame(2, Buffer.alloc(70_000, 'b')),
          serverFrame(1, Buffer.from('frag-'), false),
          serverFrame(0, Buffer.from('ment')),
          serverFrame(9, Buffer.from('are you there')),
          serverFrame(1, Buffer.from('last')),
        ]);
        // The handshake response and the first frame share one write; the rest trickles in.
        sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        const writeSlowly = (i: number): void => {
          if (i >= frames.length) return;
          const step = i < 400 ? 1 : 4096;
          sock.write(frames.subarray(i, i + step));
          setImmediate(() => writeSlowly(i + step));
        };
        writeSlowly(0);
      };
      sock.on('data', onData);
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    const port = (srv.address() as net.AddressInfo).port;
    const ws = await RawWs.connect({ port, path: '/' });
    const got: string[] = [];
    ws.onMessage = (d, op) => got.push(`${op}:${d.length}:${d.subarray(0, 5).toString()}`);
    const last = nextMessage(ws, (d) => d.toString() === 'last', 'last frame');
    await last;
    expect(got).toEqual(['1:5:hello', '1:300:aaaaa', '2:70000:bbbbb', '1:9:frag-']);
    ws.send('bye');
    await new Promise<void>((resolve) => {
      const check = (): void => {
        const frames = clientFrames(Buffer.concat(received));
        if (frames.length >= 2) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
    const frames = clientFrames(Buffer.concat(received));
    expect(frames[0]).toEqual({ opcode: 10, payload: Buffer.from('are you there') });
    expect(frames[1]).toEqual({ opcode: 1, payload: Buffer.from('bye') });
    ws.destroy();
    srv.close();
  });
});

/**
 * Holdline through the harness's own adapter and hooks, in-process on the memory engine (the bench
 * itself spawns the built CLI; here the same protocols are spoken to a test server). Tiny sizes:
 * this proves the hooks speak the protocol, count and verify, not how fast anything is.
 */
describe('bench Holdline hooks', () => {
  // A fresh server per test: the hooks create their queues by fixed names, as on a fresh bench server.
  let ts: TestServer | undefined;
  afterEach(async () => {
    await ts?.close();
    await ts?.engine.close();
    ts = undefined;
  });

  const start = async (): Promise<HoldlineServer> => {
    const engine = new MemoryEngine({ sweepIntervalMs: 60_000 });
    await engine.start();
    ts = await startTestServer(engine, {}, { mounts: [mountWebSocket] });
    const { key } = await ts.createApp(BENCH_APP);
    return {
      name: 'holdline-memory',
      engine: 'memory',
      pids: [process.pid],
      endpoint: { protocol: 'holdline', port: ts.port, params: { key, app: BENCH_APP } },
      restUrl: ts.url,
      appKey: key,
      adminKey: ts.adminKey,
      stop: async () => {},
    };
  };

  it('fans out through the Holdline adapter to 5 subscribers with nothing lost', async () => {
    const s = await start();
    const result = await runTarget('fanout', 'holdline-memory', 'holdline', async (cleanup) =>
      measureFanout(
        s,
        await prepareFanout(s, 'smoke-fanout'),
        protocolFor('holdline'),
        { subscribers: 5, bodyBytes: 256, saturateMs: 400, latencyMs: 200, genProcs: 1, window: 50, drainStallMs: 20_000 },
        cleanup,
      ),
    );
    expect(result.status, result.reason).toBe('ok');
    expect(result.figures.delivered_per_s!.value).toBeGreaterThan(0);
    expect(result.details.lost_in_saturation).toBe(0);
    expect(result.details.lost_in_latency_phase).toBe(0);
  });

  it.each(['ws', 'rest'] as const)('ingest over %s acks only stored messages', async (transport) => {
    const s = await start();
    const f = await ingest(s, { transport, producers: 2, queues: 2, partitions: 2, ttlSeconds: 60, bodyBytes: 64, inflightPerProducer: 2, durationMs: 150 });
    expect(f.perSec).toBeGreaterThan(0);
    expect(f.details.errors).toBe(0);
    expect(Number(f.details.stored_after)).toBeGreaterThan(0);
  });

  it('ingest over ws with SDK-batched frames acks only stored messages, several to a frame', async () => {
    const s = await start();
    const f = await ingest(s, { transport: 'ws', producers: 2, queues: 2, partitions: 2, ttlSeconds: 60, bodyBytes: 64, inflightPerProducer: 4, durationMs: 150, frameMessages: 4 });
    expect(f.perSec).toBeGreaterThan(0);
    expect(f.details.errors).toBe(0);
    expect(f.details.messages_per_frame).toBe(4);
    expect(Number(f.details.stored_after)).toBeGreaterThan(0);
  });

  it.each([
    ['ws', false],
    ['rest', false],
    ['ws', true],
    ['rest', true],
  ] as const)('history over %s (followed: %s) reads exactly the stored messages', async (transport, followed) => {
    const s = await start();
    const f = await history(s, { transport, messages: 20, bodyBytes: 64, concurrency: 2, durationMs: 150, followed });
    expect(f.perSec).toBeGreaterThan(0);
    expect(f.details.errors).toBe(0);
  });

  it('positions times every change to every agent, with no gap in any agent\'s updates', async () => {
    const s = await start();
    const f = await positions(s, { callers: 20, agents: 3, changesPerSec: 40, durationMs: 250 });
    expect(Number(f.details.changes_measured)).toBeGreaterThan(0);
    expect(f.details.incomplete_changes).toBe(0);
    expect(f.details.seq_gaps).toBe(0);
    expect(f.details.snapshots_during_run).toBe(0);
    expect(f.details.rest_failures).toBe(0);
  });

  it('counts callqueue.stats frames per queue at WebSocket followers (contact-centre\'s wallboard phase)', async () => {
    const s = await start();
    const f = await measureWallboard(s, { queues: 2, followersPerQueue: 2, changesPerS: 10, phaseS: 1 });
    expect(f.statsPerSPerQueue).toBeGreaterThan(0);
    expect(f.details.wallboard_rest_failures).toBe(0);
    expect(f.details.wallboard_followers).toBe(4);
  });

  it('matches an error reply to its request although its id comes after the error object', async () => {
    const s = await start();
    const ws = await connect({ port: s.endpoint.port, format: 'json', key: s.appKey });
    try {
      const rpc = new Rpc(ws, 'json');
      await expect(rpc.call({ type: 'history', application: BENCH_APP, queue: 'no-such-queue' })).rejects.toMatchObject({ code: 'queue_not_found' });
      expect(rpc.inFlight).toBe(0);
    } finally {
      ws.destroy();
    }
  });

  it('the raw HTTP client keeps one connection across requests', async () => {
    const s = await start();
    const c = await RawHttp.connect(s.endpoint.port);
    try {
      for (let i = 0; i < 3; i++) expect((await c.request('GET', '/healthz')).status).toBe(200);
      expect((await c.request('GET', `/${BENCH_APP}/nope`, `Authorization: Application ${s.appKey}\r\n`)).status).toBe(404);
    } finally {
      c.close();
    }
  });

  it('reads kind, caller uuid and seq of a call-queue update', () => {
    const uuid = '1e9c37b4-bcd3-45f9-81ad-dac666a8cf85';
    const frame = Buffer.from(
      JSON.stringify({ type: 'callqueue.update', queue_id: 'q', seq: 42, at: 'x', kind: 'caller_left', caller: { uuid, queue_id: 'q', member_uuid: null }, reason: 'abandoned' }),
    );
    expect(updateKey(frame)).toEqual({ key: `caller_left:${uuid}`, seq: 42 });
    const member = Buffer.from(JSON.stringify({ type: 'callqueue.update', queue_id: 'q', seq: 7, kind: 'member_added', member: { uuid } }));
    expect(updateKey(member)).toEqual({ key: null, seq: 7 });
  });
});

describe('bench contact-centre (issues 15 and 16)', () => {
  it('keeps Asterisk\'s moving average hold time and the errors of both estimators', () => {
    const a = new AsteriskHoldtime();
    expect(a.estimate('q', 0)).toBe(0);
    a.answered('q', 40);
    expect(a.estimate('q', 0)).toBe(10);
    a.answered('q', 10);
    expect(a.estimate('q', 0)).toBe(10);
    expect(a.estimate('q', 4)).toBe(6);
    expect(a.estimate('q', 30)).toBe(0);
    expect(a.estimate('other', 0)).toBe(0);
    const e = new ErrorSample();
    for (const [est, actual] of [[10, 12], [5, 1], [0, 30], [20, 20]] as const) e.add(est, actual);
    expect(e.count).toBe(4);
    expect(e.percentile(50)).toBe(2);
    expect(e.percentile(90)).toBe(30);
    expect(e.medianBias()).toBe(-2);
    // In hindsight by place: place 0 waited 1, 3, 5 (median 3: errors 2, 0, 2), place 2 waited 10, 14
    // (nearest-rank median 10: errors 0, 4): the median of 2, 0, 2, 0, 4 is 2.
    const h = new HindsightByPlace();
    expect(h.medianError()).toBeNaN();
    for (const [place, actual] of [[0, 1], [0, 3], [0, 5], [2, 10], [2, 14]] as const) h.add(place, actual);
    expect(h.medianError()).toBe(2);
    // One phase's block: Holdline's errors 2 and 4 (one caller without an estimate), Asterisk's 4, 4, 19.
    const acc = new Accuracy();
    acc.add(10, 8, 0, 12);
    acc.add(null, 5, 1, 1);
    acc.add(5, 20, 1, 1);
    expect(acc.nullEstimates).toBe(1);
    expect(acc.ratio()).toBe(0.5);
    expect(acc.details('surge_')).toMatchObject({
      surge_estimate_samples: 2, surge_estimate_median_err_s: 2, surge_asterisk_median_err_s: 4, surge_estimate_error_ratio: 0.5, surge_actual_wait_median_s: 1,
    });
  });

  it('runs a small centre on memory: offers made, estimates compared, no double offer', async () => {
    const store = new MemoryCallStore();
    try {
      const c = await runCentre([store], {
        ...centreOptions(true), agents: 30, warmupS: 0.25, busyS: 0.75, surgeS: 0.25, drainS: 0.25, saturationS: 0.5, backlog: 40,
      });
      expect(Number(c.details.joined)).toBeGreaterThan(0);
      expect(Number(c.details.offers_measured)).toBeGreaterThan(0);
      expect(Number(c.details.commits)).toBeGreaterThan(0);
      expect(c.doubleOffers).toBe(0);
      expect(c.details.failures).toBe(0);
      expect(c.details.routing_errors).toBe(0);
      expect(c.holdline.count + Number(c.details.callers_null_estimate)).toBe(c.asterisk.count);
      // Every measured caller is in one phase: the steady stretch, or the surge and its drain.
      expect(c.accuracy.steady.asterisk.count + c.accuracy.surge.asterisk.count).toBe(c.asterisk.count);
      // (30 agents at 50 callers/s are far behind: the surge's callers may not be offered by the end.)
      expect(Number(c.details.arrivals_in_surge_and_drain)).toBeGreaterThan(0);
      expect(c.details).toHaveProperty('surge_estimate_median_err_s');
      expect(c.details).toHaveProperty('steady_hindsight_by_place_median_err_s');
    } finally {
      await store.close();
    }
  });
});
