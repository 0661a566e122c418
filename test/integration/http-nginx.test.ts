/**
 * examples/nginx.conf, as shipped (only its addresses replaced), in front of two Holdline nodes that
 * share a Redis this test starts: REST and WebSocket through nginx, and both nodes serve. nginx is
 * Debian's package (.ci/run installs it), run with its own prefix, config, pid and logs in a temp
 * directory, on a free loopback port, and stopped by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freshPrefix } from '../helpers/namespace.js';
import { startHoldlineProcess, type HoldlineProcess } from '../helpers/holdline-process.js';
import { freePort, startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { WsTestClient } from '../helpers/ws-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim() !== '') return which.stdout.trim();
  throw new Error('nginx is not installed: `apt-get install nginx` (.ci/run does it)');
}

describe('nginx in front of two nodes (examples/nginx.conf)', () => {
  const adminKey = 'nginx-admin';
  let redis: RedisServerHandle;
  const nodes: HoldlineProcess[] = [];
  let dir: string;
  let nginx: ChildProcess;
  let nginxExited: Promise<void>;
  let url: string;

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = { HOLDLINE_ENGINE: 'redis', HOLDLINE_REDIS_URL: redis.url, HOLDLINE_REDIS_PREFIX: freshPrefix('nginx'), HOLDLINE_ADMIN_KEY: adminKey };
    nodes.push(await startHoldlineProcess(env), await startHoldlineProcess(env));

    dir = mkdtempSync(path.join(os.tmpdir(), 'holdline-nginx-'));
    // Run as root, nginx's workers drop to `nobody`, and must reach their temp directories here.
    chmodSync(dir, 0o755);
    const port = await freePort();
    const site = readFileSync(path.join(ROOT, 'examples/nginx.conf'), 'utf8')
      .replace('server 127.0.0.1:7701;', `server 127.0.0.1:${nodes[0]!.port};`)
      .replace('server 127.0.0.1:7702;', `server 127.0.0.1:${nodes[1]!.port};`)
      .replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${port};`);
    expect(site).toContain(`listen 127.0.0.1:${port};`);
    writeFileSync(path.join(dir, 'holdline.conf'), site);
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log info;`,
        'events { worker_connections 256; }',
        'http {',
        `  log_format upstream '$request $status $upstream_addr';`,
        `  access_log ${dir}/access.log upstream;`,
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
        `  include ${dir}/holdline.conf;`,
        '}',
      ].join('\n'),
    );
    nginx = spawn(nginxBinary(), ['-p', dir, '-c', `${dir}/nginx.conf`, '-e', `${dir}/error.log`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    nginxExited = new Promise((resolve) => nginx.once('exit', () => resolve()));
    url = `http://127.0.0.1:${port}`;
    await vi.waitFor(
      async () => {
        if (nginx.exitCode !== null) throw new Error(`nginx exited: ${stderr}`);
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
      },
      { timeout: 10_000, interval: 50 },
    );
  }, 60_000);

  afterAll(async () => {
    if (nginx?.pid !== undefined && nginx.exitCode === null) {
      process.kill(nginx.pid, 'SIGTERM');
      await nginxExited;
    }
    for (const node of nodes) await node.kill('SIGTERM');
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function json(method: string, route: string, auth: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: auth };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(url + route, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: await res.json() };
  }

  it('REST through nginx reaches both nodes, which share one Redis', async () => {
    const app = await json('POST', '/v1/apps', `Admin ${adminKey}`, { name: 'viaproxy' });
    expect(app.status).toBe(201);
    const key = `Application ${app.body.key}`;
    expect((await json('POST', '/viaproxy', key, { queue_name: 'calls' })).status).toBe(201);
    const keys: string[] = [];
    for (let i = 0; i < 6; i++) {
      const posted = await json('POST', '/viaproxy/calls', key, { body: `m${i}` });
      expect(posted.status).toBe(201);
      keys.push(posted.body.messages[0].key);
      const read = await json('GET', '/viaproxy/calls?limit=1000', key);
      expect(read.body.messages.map((m: { body: string }) => m.body)).toContain(`m${i}`);
    }
    // 1000 ids (the six, repeated) in a body pass nginx as they pass the nodes.
    const ids = Array.from({ length: 1000 }, (_, i) => keys[i % keys.length]);
    expect((await json('POST', '/viaproxy/calls/delete', key, { ids })).body).toEqual({ status: 'ok', deleted: 6 });
    const log = readFileSync(path.join(dir, 'access.log'), 'utf8');
    for (const node of nodes) expect(log).toContain(`127.0.0.1:${node.port}`);
  });

  it('a WebSocket through nginx gets messages posted through nginx', async () => {
    const app = await json('POST', '/v1/apps', `Admin ${adminKey}`, { name: 'wsviaproxy' });
    const key = app.body.key as string;
    expect((await json('POST', '/wsviaproxy', `Application ${key}`, { queue_name: 'live' })).status).toBe(201);
    const ws = await WsTestClient.open(url, { key });
    try {
      const reply = await ws.request({ type: 'subscribe', application: 'wsviaproxy', queue: 'live' });
      expect(reply.type).toBe('subscribed');
      // Several posts, so that both nodes take some while the socket lives on one of them.
      for (let i = 0; i < 4; i++) expect((await json('POST', '/wsviaproxy/live', `Application ${key}`, { body: `live${i}` })).status).toBe(201);
      await ws.until(() => ws.messages().length === 4, 'four messages');
      expect(ws.messages().map((m) => m.body)).toEqual(['live0', 'live1', 'live2', 'live3']);
    } finally {
      await ws.close();
    }
  });
});
