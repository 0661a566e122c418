/**
 * connections: as many idle WebSocket connections as the machine allows, each through its
 * system's own opening handshake; figures are connections held, server resident memory per
 * connection (VmRSS growth over the idle server ÷ connections) and connections opened per second.
 *
 * Limits of this machine, reported with the figures: a process may hold at most RLIMIT_NOFILE
 * descriptors (the server needs one per connection, and the hard limit cannot be raised here), and
 * one source address reaches one server port through at most ~28k ephemeral ports, so connections
 * are spread over several 127.0.0.x source addresses.
 */
import { GenPool } from '../lib/gen.js';
import { cpuSeconds, openFileLimit, rssBytes } from '../lib/proc.js';
import { log } from '../lib/progress.js';
import { protocolFor } from '../lib/protocols.js';
import { figure, type Role, type TargetResult } from '../lib/results.js';
import { startRawUws, startRedis, startSocketIo, startSoketi, type RunningServer } from '../lib/servers.js';
import { startHoldline } from '../holdline/targets.js';
import { runTarget, selected, type Cleanup, type Measured, type ScenarioContext } from './common.js';

export interface ConnectionsOptions {
  /** Wanted; capped by the per-process descriptor limit. */
  connections: number;
  holdMs: number;
  concurrency: number;
  /** Connections per generator process (each has the same descriptor limit). */
  perGenerator: number;
}

/** Descriptors a server keeps for itself (listen socket, logs, Redis, epoll, …). */
const SERVER_FD_MARGIN = 256;

export function connectionsOptions(quick: boolean): ConnectionsOptions {
  return { connections: quick ? 2000 : 50_000, holdMs: quick ? 1000 : 5000, concurrency: 256, perGenerator: 15_000 };
}

const settle = (msWait: number): Promise<void> => new Promise((r) => setTimeout(r, msWait));

/**
 * Opens the connections over every server given (the nodes of one deployment, each its own
 * process with its own descriptor limit), spread evenly; memory and CPU are summed over them all.
 */
export async function measureConnections(servers: RunningServer[], o: ConnectionsOptions, cleanup: Cleanup): Promise<Measured> {
  const limit = openFileLimit();
  const wanted = o.connections;
  const perProcess = limit - SERVER_FD_MARGIN;
  const target = Math.min(wanted, perProcess * servers.length);
  if (target < wanted) log(`  capped at ${target} connections: open-file limit ${limit} per process, ${servers.length} server process(es)`);
  const pids = servers.flatMap((s) => s.pids);
  const sum = (f: (pid: number) => number): number => pids.reduce((a, pid) => a + f(pid), 0);
  await settle(500);
  const rss0 = sum(rssBytes);
  const pool = await GenPool.start(Math.max(1, Math.ceil(target / o.perGenerator)));
  cleanup.add(() => pool.close());
  // Binding a source address makes the kernel search its bind table for a free port, which slows
  // down as that address fills up: a small share per address keeps opening fast.
  const addresses = Array.from({ length: Math.min(250, Math.ceil(target / 2000)) }, (_, i) => `127.0.0.${i + 2}`);
  const cpu0 = sum(cpuSeconds);
  const opened = { ok: 0, failed: 0, ms: 0, firstError: undefined as string | undefined };
  for (const [i, server] of servers.entries()) {
    const share = Math.floor(target / servers.length) + (i < target % servers.length ? 1 : 0);
    const r = await pool.open(server.endpoint, share, null, addresses, o.concurrency);
    opened.ok += r.ok;
    opened.failed += r.failed;
    opened.ms += r.ms;
    opened.firstError ??= r.firstError;
  }
  const openCpu = sum(cpuSeconds) - cpu0;
  if (opened.ok === 0) throw new Error(`no connection opened: ${opened.firstError ?? 'no error given'}`);
  await settle(o.holdMs);
  const held = await pool.report();
  const rss1 = sum(rssBytes);
  const perConn = (rss1 - rss0) / held.open;
  log(`  ${held.open} held (${opened.failed} failed), ${Math.round(perConn)} B/connection, ${Math.round((opened.ok * 1000) / opened.ms)} conn/s`);
  return {
    figures: {
      connections_held: figure(held.open, 'conns', 'higher', 'count'),
      rss_per_conn_bytes: figure(Math.round(perConn), 'B', 'lower', 'memory'),
      connect_per_s: figure(Math.round((opened.ok * 1000) / opened.ms), 'conn/s', 'higher', 'throughput'),
    },
    details: {
      wanted,
      attempted: target,
      open_file_limit: limit,
      server_processes: servers.length,
      failed: opened.failed,
      ...(opened.firstError ? { first_error: opened.firstError.slice(0, 200) } : {}),
      closed_during_hold: held.closedUnexpectedly,
      rss_idle_bytes: rss0,
      rss_loaded_bytes: rss1,
      source_addresses: addresses.length,
      server_cpu_s_opening: Number(openCpu.toFixed(2)),
    },
  };
}

interface ConnTarget {
  name: string;
  role: Role;
  /** One server, or the nodes of one deployment. */
  start(cleanup: Cleanup): Promise<RunningServer | RunningServer[]>;
}

/** Holdline nodes sharing one Redis in the `-nodes` row: enough processes to pass 50,000 under a 20,000 descriptor limit. */
const NODES = 3;

export const connectionTargets: ConnTarget[] = [
  { name: 'raw-uws', role: 'ceiling', start: () => startRawUws() },
  {
    name: 'holdline-memory',
    role: 'holdline',
    async start() {
      protocolFor('holdline');
      return startHoldline('memory');
    },
  },
  {
    name: 'holdline-redis',
    role: 'holdline',
    async start(cleanup) {
      protocolFor('holdline');
      const redis = await startRedis();
      cleanup.add(redis.stop);
      return startHoldline('redis', redis);
    },
  },
  {
    // One process cannot hold 50,000 sockets here (RLIMIT_NOFILE 20,000, hard): the way past it is
    // the one Holdline is built for, several nodes sharing one Redis (README "Running a cluster").
    name: `holdline-redis-${NODES}nodes`,
    role: 'holdline',
    async start(cleanup) {
      protocolFor('holdline');
      const redis = await startRedis();
      cleanup.add(redis.stop);
      const first = await startHoldline('redis', redis);
      const nodes = [first];
      cleanup.add(() => Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
      for (let i = 1; i < NODES; i++) nodes.push(await startHoldline('redis', redis, {}, first));
      return nodes;
    },
  },
  { name: 'soketi', role: 'peer', start: () => startSoketi() },
  { name: 'socketio', role: 'peer', start: () => startSocketIo() },
];

export async function runConnections(ctx: ScenarioContext, o = connectionsOptions(ctx.quick)): Promise<TargetResult[]> {
  const out: TargetResult[] = [];
  for (const t of connectionTargets) {
    if (!selected(ctx, t.name)) continue;
    out.push(
      await runTarget('connections', t.name, t.role, async (cleanup) => {
        const started = await t.start(cleanup);
        const servers = Array.isArray(started) ? started : [started];
        if (!Array.isArray(started)) cleanup.add(started.stop);
        return measureConnections(servers, o, cleanup);
      }),
    );
  }
  return out;
}
