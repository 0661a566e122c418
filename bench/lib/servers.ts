/**
 * Starts the systems under test, each on free loopback ports, each stopped by PID:
 * our own redis-server (never the machine's on 6379), the raw uWS ceiling, Soketi (local or Redis
 * adapter), Socket.IO (local or Redis adapter) and nats-server (WebSocket listener + JetStream).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NotAvailableError } from './not-available.js';
import { nodeArgsFor, peerRequire, peersInstalled } from './paths.js';
import { freePort, spawnServer, tempDir, type Spawned } from './proc.js';
import type { Endpoint } from './protocols.js';
import { startRedisServer } from './redis-server.js';
import { assertSoketiLoopbackOnly, soketiConfig, SOKETI_APP } from './soketi-config.js';

export interface RunningServer {
  name: string;
  /** Processes whose CPU and memory are the server's (not the generator's). */
  pids: number[];
  endpoint: Endpoint;
  /** Redis-backed variants: the Redis they use, so it can be counted in memory/CPU too. */
  redisPid?: number;
  /** A Redis Cluster's every node (redisPid is the first): CPU is summed over these. */
  redisPids?: number[];
  stop(): Promise<void>;
}

function requirePeers(): void {
  if (!peersInstalled()) throw new NotAvailableError('bench peers not installed: run `npm run bench:setup`');
}

export function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

export interface RedisHandle {
  port: number;
  url: string;
  pid: number;
  /** A cluster's every node (pid is the first); absent for one server. */
  pids?: number[];
  version: string;
  stop(): Promise<void>;
}

/** Every Redis process a server uses (one, or a cluster's nodes). */
export function redisPidsOf(server: RunningServer): number[] {
  return server.redisPids ?? (server.redisPid ? [server.redisPid] : []);
}

export function redisVersion(bin: string): string {
  return /v=(\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
}

export async function startRedis(): Promise<RedisHandle> {
  const bin = which('redis-server');
  if (!bin) throw new NotAvailableError('redis-server not installed (Debian package redis-server)');
  const s = await startRedisServer({ args: ['--protected-mode', 'yes'] });
  return { port: s.port, url: s.url, pid: s.pid, version: redisVersion(bin), stop: s.stop };
}

function node(script: string, args: string[]): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: [...nodeArgsFor(script), ...args] };
}

/** Modes: bench/servers/raw-uws.ts (deferred is the ceiling; inline and batch are shown beside it). */
export async function startRawUws(mode: 'deferred' | 'inline' | 'batch' = 'deferred'): Promise<RunningServer> {
  const port = await freePort();
  const name = mode === 'deferred' ? 'raw-uws' : mode === 'batch' ? 'raw-uws-batched' : 'raw-uws-inline';
  const s = await spawnServer({ name, ...node('servers/raw-uws', [String(port), mode]), waitPorts: [port] });
  return { name, pids: [s.pid], endpoint: { protocol: 'raw', port, params: {} }, stop: s.stop };
}

export async function startSocketIo(redis?: RedisHandle): Promise<RunningServer> {
  requirePeers();
  const port = await freePort();
  const s = await spawnServer({
    name: 'socketio',
    ...node('servers/socketio', [String(port), ...(redis ? [redis.url] : [])]),
    waitPorts: [port],
  });
  return {
    name: redis ? 'socketio-redis' : 'socketio',
    pids: [s.pid],
    endpoint: { protocol: 'socketio', port, params: {} },
    ...(redis ? { redisPid: redis.pid } : {}),
    stop: s.stop,
  };
}

export async function startSoketi(redis?: RedisHandle): Promise<RunningServer> {
  requirePeers();
  const port = await freePort();
  const metricsPort = await freePort();
  const dir = tempDir('soketi-conf');
  const file = path.join(dir, 'soketi.json');
  writeFileSync(file, JSON.stringify(soketiConfig({ port, metricsPort, ...(redis ? { redisPort: redis.port } : {}) }), null, 2));
  // Soketi lets SOKETI_* variables override its config file and reads a .env from its cwd (the
  // spawned process gets a fresh empty dir): start it with neither, so the file is all it sees.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toUpperCase().startsWith('SOKETI_')) env[k] = v;
  // The check reads back what was written, so nothing between here and the spawn can differ.
  assertSoketiLoopbackOnly(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>, env);
  const bin = peerRequire().resolve('@soketi/soketi/bin/server.js');
  let s: Spawned;
  try {
    s = await spawnServer({ name: 'soketi', cmd: process.execPath, args: [bin, 'start', `--config=${file}`], env, waitPorts: [port, metricsPort] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    name: redis ? 'soketi-redis' : 'soketi',
    pids: [s.pid],
    endpoint: { protocol: 'pusher', port, params: { key: SOKETI_APP.key, secret: SOKETI_APP.secret } },
    ...(redis ? { redisPid: redis.pid } : {}),
    stop: async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startNats(): Promise<RunningServer & { clientPort: number; storeDir: string }> {
  const bin = which('nats-server');
  if (!bin) throw new NotAvailableError('nats-server not installed (Debian package nats-server): run `npm run bench:setup`');
  const clientPort = await freePort();
  const wsPort = await freePort();
  const dir = tempDir('nats-conf');
  const storeDir = path.join(dir, 'jetstream');
  const conf = path.join(dir, 'nats.conf');
  writeFileSync(
    conf,
    [
      `listen: 127.0.0.1:${clientPort}`,
      `server_name: holdline_bench`,
      `max_payload: 1048576`,
      `jetstream {`,
      `  store_dir: "${storeDir}"`,
      `  max_memory_store: 1073741824`,
      `  max_file_store: 8589934592`,
      `}`,
      `websocket {`,
      `  host: 127.0.0.1`,
      `  port: ${wsPort}`,
      `  no_tls: true`,
      `  compression: false`,
      `}`,
      '',
    ].join('\n'),
  );
  const s = await spawnServer({ name: 'nats', cmd: bin, args: ['-c', conf], waitPorts: [clientPort, wsPort] });
  return {
    name: 'nats-ws',
    pids: [s.pid],
    endpoint: { protocol: 'nats', port: wsPort, params: {} },
    clientPort,
    storeDir,
    stop: async () => {
      await s.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
