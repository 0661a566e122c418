/**
 * `holdline serve` in its own process (src/ transpiled once for the run by test/global-setup.ts, no
 * build needed), as in production: for tests that kill a node (SIGKILL, no goodbye) or run several
 * nodes that meet only through Redis. Stopped by its PID.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { freePort } from './redis-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface HoldlineProcess {
  pid: number;
  port: number;
  /** http://127.0.0.1:port */
  url: string;
  /** Sends `signal` by PID (unless it has exited) and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `holdline serve` on 127.0.0.1:`port` (a free one unless given) with `env` on top of this
 * process's environment; resolves once it logs "listening", rejects with its stderr if it exits first.
 */
export async function startHoldlineProcess(env: Record<string, string>, port?: number): Promise<HoldlineProcess> {
  const listenPort = port ?? (await freePort());
  const proc = spawn(process.execPath, [inject('cliMain'), 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...env, HOLDLINE_PORT: String(listenPort), HOLDLINE_HOST: '127.0.0.1', HOLDLINE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = proc.pid;
  if (pid === undefined) throw new Error('could not start holdline');
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (!out.includes('"msg":"listening"')) return;
      proc.stdout.off('data', onData);
      proc.stdout.resume();
      resolve();
    };
    proc.stdout.on('data', onData);
    void exited.then(() => reject(new Error(`holdline on ${listenPort} exited before listening: ${stderr}`)));
  });
  return {
    pid,
    port: listenPort,
    url: `http://127.0.0.1:${listenPort}`,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(pid, signal);
      await exited;
    },
  };
}
