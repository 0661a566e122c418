/**
 * The `holdline` command as a child process (run through tsx, no build needed): serve, graceful
 * SIGTERM, refusal of uWS's JS fallback, flags over environment, apps create|list|revoke on Redis.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { freshPrefix } from '../helpers/namespace.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

/** The environment without any HOLDLINE_* or UWS_* setting of the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOLDLINE_') && !k.startsWith('UWS_')) env[k] = v;
  return { ...env, HOLDLINE_LOG_LEVEL: 'info', ...extra };
}

class Cli {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(readonly proc: ChildProcess) {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => this.push('stdout', d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => this.push('stderr', d));
    this.exited = once(proc, 'exit').then(([code, signal]) => {
      for (const w of this.waiters.splice(0)) w();
      return { code: code as number | null, signal: signal as NodeJS.Signals | null };
    });
  }

  private push(stream: 'stdout' | 'stderr', d: string): void {
    this[stream] += d;
    for (const w of this.waiters.splice(0)) w();
  }

  /** JSON log lines (pino) on stdout. */
  logs(): Array<Record<string, unknown>> {
    return this.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Resolves with the first value `find` returns, re-checked on every output (the test timeout bounds the wait). */
  async waitFor<T>(find: () => T | undefined): Promise<T> {
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`holdline exited (${this.proc.exitCode ?? this.proc.signalCode}); stdout: ${this.stdout} stderr: ${this.stderr}`);
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  listening(): Promise<number> {
    return this.waitFor(() => this.logs().find((l) => l.msg === 'listening')?.port as number | undefined);
  }
}

const running: Cli[] = [];

function holdline(args: string[], env: Record<string, string> = {}): Cli {
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = new Cli(proc);
  running.push(cli);
  return cli;
}

afterEach(async () => {
  for (const cli of running.splice(0)) {
    if (cli.proc.exitCode === null && cli.proc.signalCode === null) {
      cli.proc.kill('SIGKILL');
      await cli.exited;
    }
  }
});

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = holdline(args, env);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

// Every case starts `holdline` child processes through tsx (transpiled at start-up): seconds each on a
// loaded 2-core machine. The timeout bounds a hang; it says nothing about speed.
const CHILD_PROCESS_TIMEOUT_MS = 120_000;

describe('holdline serve', { timeout: CHILD_PROCESS_TIMEOUT_MS }, () => {
  it('serves on the port it logs, and exits 0 on SIGTERM after finishing the request in flight', async () => {
    const cli = holdline(['serve', '--port', '0', '--admin-key', 'sekrit'], { HOLDLINE_PORT: '1' });
    const port = await cli.listening();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    // Half a request in flight when the signal arrives.
    const sock = net.connect(port, '127.0.0.1');
    await once(sock, 'connect');
    const body = '{"name":"inflight"}';
    let reply = '';
    const continued = new Promise<void>((resolve) => {
      sock.setEncoding('utf8').on('data', (d: string) => {
        reply += d;
        if (reply.includes('100 Continue')) resolve();
      });
    });
    // Expect: 100-continue — uWS answers "100 Continue" in the same event-loop turn in which it hands
    // the request to Holdline, so once it arrives the request is in flight. Then the signal.
    sock.write(
      `POST /v1/apps HTTP/1.1\r\nHost: x\r\nAuthorization: Admin sekrit\r\nContent-Type: application/json\r\n` +
        `Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await continued;
    cli.proc.kill('SIGTERM');
    await cli.waitFor(() => cli.logs().find((l) => l.msg === 'shutting down'));
    sock.write(body);
    await once(sock, 'close');
    expect(reply).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    expect(reply).toContain('"application_name":"inflight"');

    const { code, signal } = await cli.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(cli.logs().map((l) => l.msg)).toEqual(expect.arrayContaining(['listening', 'shutting down', 'server closed', 'stopped']));
  });

  it('exits 0 on SIGINT too', async () => {
    const cli = holdline(['serve', '--port', '0']);
    await cli.listening();
    cli.proc.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });

  it('refuses uWS\'s JS fallback with a clear message, unless allowed', async () => {
    const refused = await run(['serve', '--port', '0'], { UWS_USE_FALLBACK: '1' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('refuses to run on the slow pure-JS fallback');
    expect(refused.stderr).toContain('--allow-uws-fallback');
    expect(refused.stdout).not.toContain('listening');

    const allowed = holdline(['serve', '--port', '0', '--allow-uws-fallback'], { UWS_USE_FALLBACK: '1' });
    const port = await allowed.listening();
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    allowed.proc.kill('SIGTERM');
    expect((await allowed.exited).code).toBe(0);
  });

  it('prints a bootstrap application\'s key, which then works', async () => {
    const cli = holdline(['serve', '--port', '0', '--bootstrap-app', 'demo']);
    const port = await cli.listening();
    const key = await cli.waitFor(() => /created application demo; its key \(shown once\): (\S+)/.exec(cli.stderr)?.[1]);
    const res = await fetch(`http://127.0.0.1:${port}/demo`, { method: 'POST', headers: { authorization: `Application ${key}` } });
    expect(res.status).toBe(201);
    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('exits 2 on usage errors and bad configuration', async () => {
    const unknownFlag = await run(['serve', '--prot', '1']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain('Usage:');
    const badEngine = await run(['serve', '--engine', 'mongo']);
    expect([badEngine.code, badEngine.stderr]).toEqual([2, expect.stringContaining('HOLDLINE_ENGINE must be "memory" or "redis"')]);
    const badPort = await run(['serve'], { HOLDLINE_PORT: 'eighty' });
    expect([badPort.code, badPort.stderr]).toEqual([2, expect.stringContaining('HOLDLINE_PORT')]);
    expect((await run(['frobnicate'])).code).toBe(2);
    const help = await run(['help']);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('holdline apps create NAME')]);
  });
});

describe('holdline apps', { timeout: CHILD_PROCESS_TIMEOUT_MS }, () => {
  it('creates, lists and revokes applications on Redis; a running server accepts the key', async () => {
    const env = { HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: inject('redisUrl'), HOLDLINE_REDIS_PREFIX: freshPrefix('cli') };
    const created = await run(['apps', 'create', 'billing'], env);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^\S{16,}$/);
    expect(created.stderr).toContain('created application billing');
    const again = await run(['apps', 'create', 'billing'], env);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('app_exists')]);
    expect((await run(['apps', 'create', 'healthz'], env)).stderr).toContain('invalid_name');

    const listed = await run(['apps', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^billing\t\d{4}-\d\d-\d\dT/);

    const server = holdline(['serve', '--port', '0'], env);
    const port = await server.listening();
    const ok = await fetch(`http://127.0.0.1:${port}/billing`, { headers: { authorization: `Application ${key}` } });
    expect(ok.status).toBe(200);

    const revoked = await run(['apps', 'revoke', 'billing'], env);
    expect(revoked.code).toBe(0);
    const refused = await fetch(`http://127.0.0.1:${port}/billing`, { headers: { authorization: `Application ${key}` } });
    expect(refused.status).toBe(401);
    expect((await run(['apps', 'revoke', 'billing'], env)).stderr).toContain('app_not_found');
    expect((await run(['apps', 'list'], env)).stdout).toBe('');
    server.proc.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('explains how to get a key when the engine is memory', async () => {
    const res = await run(['apps', 'create', 'x']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('HOLDLINE_ADMIN_KEY');
    expect(res.stderr).toContain('--bootstrap-app');
  });

  it('needs a name for create and revoke', async () => {
    const env = { HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: inject('redisUrl') };
    expect((await run(['apps', 'create'], env)).code).toBe(2);
    expect((await run(['apps', 'list', 'x'], env)).code).toBe(2);
    expect((await run(['apps', 'drop', 'x'], env)).code).toBe(2);
  });
});
