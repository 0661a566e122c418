/**
 * Starts real redis-server processes on free loopback ports (never the shared one on 6379) and stops
 * them by PID: the one launcher of the tests (a shared server with a fresh key prefix per test, and
 * servers of their own for AOF, restarts and clusters) and of the benchmarks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './proc.js';

export { freePort };

export interface RedisServerOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes']. */
  args?: string[];
  /** Reuse a directory (for restart tests); default: a fresh temp dir removed on stop. */
  dir?: string;
  port?: number;
  /** Cluster mode: the cluster bus gets its own free port, drawn afresh with the client port. */
  clusterBus?: boolean;
}

export interface RedisServerHandle {
  port: number;
  url: string;
  dir: string;
  pid: number;
  /** SIGTERM by PID and wait for the exit (graceful: AOF is flushed). */
  stop(): Promise<void>;
  /** SIGKILL by PID: a crash. */
  kill(): Promise<void>;
}

async function waitForPing(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => sock.write('PING\r\n'));
      sock.once('data', (d) => {
        sock.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  // A port found free can be taken before redis-server binds it (tests run in parallel, and
  // outgoing connections take ephemeral ports): a server that exits at once on ports it chose
  // itself is started again on others.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisServerOnce(opts);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 5 || !(err instanceof Error) || !/exited with/.test(err.message)) throw err;
    }
  }
}

async function startRedisServerOnce(opts: RedisServerOptions): Promise<RedisServerHandle> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'holdline-redis-'));
  const port = opts.port ?? (await freePort());
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
    '--logfile', path.join(dir, 'redis.log'),
    ...(opts.clusterBus === true ? ['--cluster-port', String(await freePort())] : []),
    ...(opts.args ?? []),
  ];
  const proc = spawn('redis-server', args, { stdio: 'ignore' });
  if (proc.pid === undefined) throw new Error('redis-server could not be started (is it installed?)');
  const pid = proc.pid;
  try {
    await waitForPing(port, proc, 10_000);
  } catch (err) {
    if (proc.exitCode === null) process.kill(pid, 'SIGKILL');
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, signal);
    await exited;
    if (ownDir && signal === 'SIGTERM') rmSync(dir, { recursive: true, force: true });
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    pid,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}
