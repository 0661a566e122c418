/**
 * positions on Holdline: one call queue with `callers` waiting callers (joined over REST), `agents`
 * agents, each a member of the queue holding its own agent token and following the queue over
 * /v1/ws with `callqueue.subscribe` (in agents-worker.ts processes). Then `changesPerSec` changes per second, open loop, alternating
 * a caller joining (POST …/callers) and a random waiting caller leaving (DELETE …/callers/{uuid}),
 * so the line stays near `callers` and every change moves positions.
 *
 * Figure: per change, the time from its REST call returning to the moment the LAST agent received
 * the `callqueue.update` for it (0 when every agent had it before the REST answer arrived); p50
 * and p99 over the changes after a warm-up. Also recorded: the p99 from the request being sent.
 * Updates are matched to changes by kind and caller uuid; every
 * agent's updates must arrive with seq + 1 each time (gaps and unexpected snapshots are counted).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Histogram } from '../lib/histogram.js';
import { RawHttp } from '../lib/httpclient.js';
import { NotAvailableError } from '../lib/not-available.js';
import { nowMicros } from '../lib/payload.js';
import { log, timedBar } from '../lib/progress.js';
import { rest, selfCpuMeter, serverCpuMeter, type HoldlineServer, type LatencyFigures } from './server.js';
import { nodeArgsFor } from '../lib/paths.js';
import type { FromAgents, ToAgents } from './agents-worker.js';
import { connect, RequestError, Rpc } from './wire.js';

export interface PositionsOptions {
  callers: number;
  agents: number;
  /** Joins + leaves per second, half each, keeping the queue near `callers`. */
  changesPerSec: number;
  durationMs: number;
}

const ms = (micros: number): number => Math.round(micros) / 1000;

export { updateKey } from './update-key.js';

interface Change {
  /** nowMicros() when the request was sent / its answer arrived (undefined: not yet). */
  sent?: number;
  returned?: number;
  agentsSeen: number;
  lastSeen: number;
}

/** Agent processes (agents-worker.ts): 200 sockets' reads spread like the fanout generators'. */
const AGENT_PROCS = 2;

interface Agents {
  gaps(): number;
  extraSnapshots(): number;
  stop(): void;
}

/** Starts the agent processes; resolves once every agent holds its first snapshot. */
async function startAgents(
  port: number,
  qid: string,
  tokens: string[],
  procs: number,
  onSeen: (items: Array<[string, number, number]>) => void,
): Promise<Agents> {
  const children: ChildProcess[] = [];
  const gaps = new Array<number>(procs).fill(0);
  const extra = new Array<number>(procs).fill(0);
  const stop = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  };
  try {
    await Promise.all(
      Array.from({ length: procs }, (_, w) => {
        const child = spawn(process.execPath, nodeArgsFor('holdline/agents-worker'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('agents not subscribed within 120 s')), 120_000);
          child.once('exit', (code) => reject(new Error(`agent process exited (${code}) before it was ready`)));
          child.on('message', (m: FromAgents) => {
            if (m.t === 'ready') {
              clearTimeout(timer);
              resolve();
            } else if (m.t === 'failed') {
              clearTimeout(timer);
              reject(new Error(`agent process: ${m.message}`));
            } else {
              gaps[w] = m.gaps;
              extra[w] = m.extraSnapshots;
              onSeen(m.items);
            }
          });
          child.send({ t: 'start', port, qid, tokens: tokens.filter((_, i) => i % procs === w) } satisfies ToAgents);
        });
      }),
    );
  } catch (e) {
    stop();
    throw e;
  }
  return { gaps: () => gaps.reduce((a, b) => a + b, 0), extraSnapshots: () => extra.reduce((a, b) => a + b, 0), stop };
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

    // Agents, in child processes, each with its own token; their sightings are matched to changes.
    const changes = new Map<string, Change>();
    const done = (key: string, c: Change): void => {
      if (c.agentsSeen >= o.agents && c.returned !== undefined) changes.delete(key);
    };
    const agents = await startAgents(server.endpoint.port, qid, tokens, AGENT_PROCS, (items) => {
      for (const [key, n, t] of items) {
        let c = changes.get(key);
        if (!c) {
          c = { agentsSeen: 0, lastSeen: 0 };
          changes.set(key, c);
        }
        c.agentsSeen += n;
        if (t > c.lastSeen) c.lastSeen = t;
        done(key, c);
      }
    });
    closers.push(() => agents.stop());

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
        c = { agentsSeen: 0, lastSeen: 0 };
        changes.set(key, c);
      }
      c.sent = sent;
      c.returned = returned;
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
        `(p99 ${ms(fromSent.percentile(99))} ms after the request); ${incomplete} incomplete, ${agents.gaps()} gaps; server CPU ${used.holdline} (+ redis ${used.redis})`,
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
        seq_gaps: agents.gaps(),
        snapshots_during_run: agents.extraSnapshots(),
        agent_processes: AGENT_PROCS,
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
