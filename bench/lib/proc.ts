/**
 * Child processes of a bench run: every server binds 127.0.0.1 on a free port, is awaited until its
 * port answers, and is stopped by its own PID (SIGTERM, then SIGKILL after a grace period). Its
 * output goes to a log file in its own temp dir, named in errors, so a failed start can be read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return port;
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `holdline-bench-${label}-`));
}

export async function portAnswers(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export interface Spawned {
  name: string;
  pid: number;
  proc: ChildProcess;
  dir: string;
  logFile: string;
  stop(): Promise<void>;
  /** Last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Defaults to a fresh empty temp dir (Soketi reads a .env from its cwd: give it nothing to read). */
  cwd?: string;
  /** Ports that must answer before the start counts as done. */
  waitPorts: number[];
  timeoutMs?: number;
  /** Keep stdin open as an IPC channel (child_process 'ipc'). */
  ipc?: boolean;
}

export async function spawnServer(opts: SpawnOptions): Promise<Spawned> {
  const dir = tempDir(opts.name);
  const logFile = path.join(dir, 'out.log');
  const fd = openSync(logFile, 'a');
  const proc = spawn(opts.cmd, opts.args, {
    cwd: opts.cwd ?? dir,
    env: opts.env ?? process.env,
    stdio: opts.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
  });
  closeSync(fd);
  if (proc.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.cmd}`);
  const pid = proc.pid;
  const exited = new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve();
    else proc.once('exit', () => resolve());
  });
  const logTail = (lines = 15): string => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return exited;
    stopped = true;
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const handle: Spawned = { name: opts.name, pid, proc, dir, logFile, stop, logTail };
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (const port of opts.waitPorts) {
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        const tail = logTail();
        await stop();
        throw new Error(`${opts.name} exited during start-up (${proc.exitCode ?? proc.signalCode}):\n${tail}`);
      }
      if (await portAnswers(port)) break;
      if (Date.now() > deadline) {
        const tail = logTail();
        await stop();
        throw new Error(`${opts.name}: port ${port} did not answer in time:\n${tail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return handle;
}

/** Resident set size of a process in bytes (VmRSS in /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m?.[1]) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

const clockTicks = 100; // USER_HZ on Linux x86_64/arm64

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may contain spaces).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / clockTicks;
}

/** The per-process open-file limit children inherit (caps connections per server process). */
export function openFileLimit(): number {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+)/m.exec(limits);
    return m?.[1] ? Number(m[1]) : 1024;
  } catch {
    return 1024;
  }
}
