/**
 * positions on Holdline: one call queue with `callers` waiting callers (joined over REST), `agents`
 * agents, each a member of the queue holding its own agent token and following the queue over
 * /v1/ws with `callqueue.subscribe`. Then `changesPerSec` changes per second, open loop, alternating
 * a caller joining (POST …/callers) and a random waiting caller leaving (DELETE …/callers/{uuid}),
 * so the line stays near `callers` and every change moves positions.
 *
 * Figure: per change, the time from its REST call returning to the moment the LAST agent received
 * the `callqueue.update` for it (0 when every agent had it before the REST answer arrived); p50
 * and p99 over the changes after a warm-up. Also recorded: the p99 from the request being sent.
 * Updates are matched to changes by kind and caller uuid; every
 * agent's updates must arrive with seq + 1 each time (gaps and unexpected snapshots are counted).
 */
import { Histogram } from '../lib/histogram.js';
import { RawHttp } from '../lib/httpclient.js';
import { NotAvailableError } from '../lib/not-available.js';
import { nowMicros } from '../lib/payload.js';
import { log, timedBar } from '../lib/progress.js';
import { rest, selfCpuMeter, serverCpuMeter, type HoldlineServer, type LatencyFigures } from './server.js';
import { connect, frameType, RequestError, Rpc } from './wire.js';

export interface PositionsOptions {
  callers: number;
  agents: number;
  /** Joins + leaves per second, half each, keeping the queue near `callers`. */
  changesPerSec: number;
  durationMs: number;
}

const ms = (micros: number): number => Math.round(micros) / 1000;

const KIND = Buffer.from('"kind":"');
const CALLER = Buffer.from('"caller":{');
const UUID = Buffer.from('"uuid":"');
const SEQ = Buffer.from('"seq":');

function intAfter(data: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < data.length; i++) {
    const c = data[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

/** `kind:uuid` of a callqueue.update about a caller, and its seq; read without parsing the frame. */
export function updateKey(data: Buffer): { key: string | null; seq: number } {
  const s = data.indexOf(SEQ);
  const seq = s === -1 ? -1 : intAfter(data, s + SEQ.length);
  const k = data.indexOf(KIND);
  if (k === -1) return { key: null, seq };
  const kEnd = data.indexOf(0x22, k + KIND.length);
  const kind = data.toString('latin1', k + KIND.length, kEnd);
  if (!kind.startsWith('caller_')) return { key: null, seq };
  const c = data.indexOf(CALLER);
  const u = c === -1 ? -1 : data.indexOf(UUID, c);
  if (u === -1) return { key: null, seq };
  return { key: `${kind}:${data.toString('latin1', u + UUID.length, u + UUID.length + 36)}`, seq };
}

interface Change {
  /** nowMicros() when the request was sent / its answer arrived (undefined: not yet). */
  sent?: number;
  returned?: number;
  agentsSeen: number;
  lastSeen: number;
  counted: boolean;
}

async function inParallel<T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await f(i);
      }
    }),
  );
  return out;
}

/** Before any set-up work: a server without the call-queue frames makes this target not available. */
async function probeCallQueueFrames(server: HoldlineServer, qid: string): Promise<void> {
  const ws = await connect({ port: server.endpoint.port, format: 'json', key: server.appKey });
  try {
    await new Rpc(ws, 'json').call({ type: 'callqueue.subscribe', queue_id: qid });
  } catch (e) {
    if (e instanceof RequestError && e.code === 'not_implemented') {
      throw new NotAvailableError('the WebSocket server answers callqueue.subscribe with not_implemented (call-queue frames not there yet)');
    }
    throw e;
  } finally {
    ws.destroy();
  }
}

export async function positions(server: HoldlineServer, o: PositionsOptions): Promise<LatencyFigures> {
  const closers: Array<() => void> = [];
  try {
    const queue = await rest<{ uuid: string }>(server, 'POST', '/v1/queues', { name: 'bench-positions' }, [201]);
    const qid = queue.uuid;
    await probeCallQueueFrames(server, qid);
    const tokens = await inParallel(o.agents, 16, async (i) => {
      const agent = await rest<{ uuid: string }>(server, 'POST', '/v1/agents', { name: `agent-${i}` }, [201]);
      await rest(server, 'POST', `/v1/queues/${qid}/members`, { agent_id: agent.uuid, number: String(1000 + i) }, [201]);
      return (await rest<{ token: string }>(server, 'POST', `/v1/agents/${agent.uuid}/tokens`, {}, [201])).token;
    });

    const http = await inParallel(16, 16, () => RawHttp.connect(server.endpoint.port));
    for (const c of http) closers.push(() => c.close());
    let rr = 0;
    const headers = `Authorization: Application ${server.appKey}\r\nContent-Type: application/json\r\n`;
    let number = 0;
    const join = async (): Promise<string> => {
      const r = await http[rr++ % http.length]!.request('POST', `/v1/queues/${qid}/callers`, headers, `{"number":"${6_135_550_000 + number++}"}`);
      if (r.status !== 201) throw new Error(`caller join answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
      return (JSON.parse(r.body.toString()) as { uuid: string }).uuid;
    };
    const leave = async (uuid: string): Promise<void> => {
      const r = await http[rr++ % http.length]!.request('DELETE', `/v1/queues/${qid}/callers/${uuid}?reason=abandoned`, headers);
      if (r.status !== 204) throw new Error(`caller leave answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
    };
    const waiting = await inParallel(o.callers, 16, () => join());

    // Agents: each follows the queue with its own token; updates are matched to changes below.
    const changes = new Map<string, Change>();
    let gaps = 0;
    const snapshots: number[] = new Array<number>(o.agents).fill(0);
    const done = (key: string, c: Change): void => {
      if (c.agentsSeen >= o.agents && c.returned !== undefined) changes.delete(key);
    };
    const agentSeq: number[] = new Array<number>(o.agents).fill(0);
    await inParallel(o.agents, 16, async (i) => {
      const ws = await connect({ port: server.endpoint.port, format: 'json', token: tokens[i]! });
      closers.push(() => ws.destroy());
      const rpc = new Rpc(ws, 'json');
      rpc.onEvent = (data) => {
        const type = frameType(data, 'json');
        if (type === 'callqueue.snapshot') {
          // One follows callqueue.subscribed; any other means updates were interrupted.
          snapshots[i]!++;
          agentSeq[i] = updateKey(data).seq;
          return;
        }
        if (type !== 'callqueue.update') return;
        const t = nowMicros();
        const { key, seq } = updateKey(data);
        if (seq !== agentSeq[i]! + 1) gaps++;
        agentSeq[i] = seq;
        if (key === null) return;
        let c = changes.get(key);
        if (!c) {
          c = { agentsSeen: 0, lastSeen: 0, counted: false };
          changes.set(key, c);
        }
        c.agentsSeen++;
        c.lastSeen = t;
        done(key, c);
      };
      const reply = await rpc.call<{ seq: number }>({ type: 'callqueue.subscribe', queue_id: qid });
      agentSeq[i] = Math.max(agentSeq[i]!, reply.seq);
    });
    // Every agent holds its first snapshot before the changes start (bounded wait).
    const snapshotDeadline = Date.now() + 30_000;
    while (snapshots.some((n) => n === 0) && Date.now() < snapshotDeadline) await new Promise((r) => setTimeout(r, 10));
    if (snapshots.some((n) => n === 0)) throw new Error('some agents got no callqueue.snapshot within 30 s of subscribing');

    // Changes, open loop at changesPerSec, alternating join and leave.
    const fromReturn = new Histogram();
    const fromSent = new Histogram();
    const tracked: Array<[string, Change]> = [];
    let issued = 0;
    let failures = 0;
    let firstFailure: string | undefined;
    const warmupMs = Math.min(1000, o.durationMs / 4);
    const track = (key: string, sent: number, returned: number, counted: boolean): void => {
      let c = changes.get(key);
      if (!c) {
        c = { agentsSeen: 0, lastSeen: 0, counted };
        changes.set(key, c);
      }
      c.sent = sent;
      c.returned = returned;
      c.counted = counted;
      if (counted) tracked.push([key, c]);
      done(key, c);
    };
    const change = (counted: boolean): void => {
      const sent = nowMicros();
      const isJoin = issued % 2 === 0 || waiting.length === 0;
      issued++;
      const p = isJoin
        ? join().then((uuid) => {
            waiting.push(uuid);
            track(`caller_joined:${uuid}`, sent, nowMicros(), counted);
          })
        : (() => {
            const k = Math.floor(Math.random() * waiting.length);
            const uuid = waiting[k]!;
            waiting[k] = waiting[waiting.length - 1]!;
            waiting.pop();
            return leave(uuid).then(() => track(`caller_left:${uuid}`, sent, nowMicros(), counted));
          })();
      p.catch((e: unknown) => {
        failures++;
        firstFailure ??= (e as Error).message;
      });
    };
    const cpu = serverCpuMeter(server);
    const self = selfCpuMeter();
    const total = warmupMs + o.durationMs;
    const bar = timedBar(`  ${o.changesPerSec} changes/s to ${o.agents} agents`, total, () => `${issued} changes`);
    const t0 = Date.now();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Date.now() - t0;
        if (elapsed >= total) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor((o.changesPerSec * elapsed) / 1000) - issued;
        for (let k = 0; k < due; k++) change(elapsed >= warmupMs);
      }, 1);
    });
    const used = cpu();
    const genCpu = self();
    // Let the last changes reach every agent (bounded).
    const until = Date.now() + 3000;
    while (tracked.some(([, c]) => c.agentsSeen < o.agents || c.returned === undefined) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 10));
    }
    bar.stop(`${issued} changes`);
    let incomplete = 0;
    let beforeReturn = 0;
    for (const [, c] of tracked) {
      if (c.agentsSeen < o.agents || c.returned === undefined || c.sent === undefined) {
        incomplete++;
        continue;
      }
      const d = c.lastSeen - c.returned;
      if (d < 0) beforeReturn++;
      fromReturn.record(Math.max(0, d));
      fromSent.record(c.lastSeen - c.sent);
    }
    if (fromReturn.count === 0) throw new Error(`no change reached every agent: ${firstFailure ?? `${incomplete} incomplete`}`);
    log(
      `  p50 ${ms(fromReturn.percentile(50))} ms, p99 ${ms(fromReturn.percentile(99))} ms after the REST answer ` +
        `(p99 ${ms(fromSent.percentile(99))} ms after the request); ${incomplete} incomplete, ${gaps} gaps; server CPU ${used.holdline} (+ redis ${used.redis})`,
    );
    return {
      p50Ms: ms(fromReturn.percentile(50)),
      p99Ms: ms(fromReturn.percentile(99)),
      details: {
        callers: o.callers,
        agents: o.agents,
        changes_per_s: o.changesPerSec,
        changes_measured: fromReturn.count,
        changes_all_agents_before_rest_answer: beforeReturn,
        p99_from_request_ms: ms(fromSent.percentile(99)),
        incomplete_changes: incomplete,
        seq_gaps: gaps,
        snapshots_during_run: snapshots.reduce((sum, n) => sum + Math.max(0, n - 1), 0),
        rest_failures: failures,
        ...(firstFailure ? { first_rest_failure: firstFailure.slice(0, 200) } : {}),
        server_cpu_cores: used.holdline,
        redis_cpu_cores: used.redis,
        generator_cpu_cores: genCpu,
      },
    };
  } finally {
    for (const c of closers) c();
  }
}
