/**
 * `holdline serve --workers N` (src/cli/serve-workers.ts): N server threads sharing one port, each
 * a node on the same Redis. Which worker accepts a connection is the kernel's choice (SO_REUSEPORT),
 * so the test tells the workers apart by their own /metrics (per worker): an odd number of posts,
 * each on a new connection, splits into two different `holdline_messages_appended_total` values when
 * both workers took some. Every subscriber, whichever worker holds it, gets every message.
 */
import { request } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { holdlineFromSource } from '../helpers/cli.js';
import { freshPrefix } from '../helpers/namespace.js';
import { until } from '../helpers/wait.js';
import { WsTestClient } from '../helpers/ws-client.js';

const ADMIN = 'workers-admin';
// Through tsx, as `npm run dev` runs it: from source each worker thread registers tsx's loader
// itself (serve-workers.ts), a path only this suite takes.

/** One HTTP request on a connection of its own (so the kernel picks a worker for each). */
function fresh(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { ...headers, Connection: 'close' }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A scrape's value of one unlabelled series. */
function series(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

describe('holdline serve --workers', () => {
  it('two workers on Redis share the port and the subscriptions: a message posted through either reaches subscribers on both', async () => {
    const cli = holdlineFromSource(['serve', '--workers', '2', '--port', '0', '--engine', 'redis'], {
      HOLDLINE_REDIS_URL: inject('redisUrl'),
      HOLDLINE_REDIS_PREFIX: freshPrefix('workers'),
      HOLDLINE_ADMIN_KEY: ADMIN,
    });
    const port = await cli.listening();
    // `listening` comes once both workers listen, after each one's own line.
    expect(cli.logs().filter((l) => l.msg === 'worker listening').map((l) => l.worker).sort()).toEqual([0, 1]);

    const created = await fresh(port, 'POST', '/v1/apps', { Authorization: `Admin ${ADMIN}`, 'Content-Type': 'application/json' }, '{"name":"shop"}');
    expect(created.status).toBe(201);
    const key = (JSON.parse(created.text) as { key: string }).key;
    const auth = { Authorization: `Application ${key}` };
    expect((await fresh(port, 'POST', '/shop', { ...auth, 'Content-Type': 'application/json' }, '{"queue_name":"calls"}')).status).toBe(201);

    const subscribers: WsTestClient[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const c = await WsTestClient.open(`http://127.0.0.1:${port}`, { key });
        subscribers.push(c);
        expect((await c.request({ type: 'subscribe', application: 'shop', queue: 'calls' })).type).toBe('subscribed');
      }
      const posts = 21;
      for (let i = 0; i < posts; i++) {
        const r = await fresh(port, 'POST', '/shop/calls', { ...auth, 'Content-Type': 'application/json' }, JSON.stringify({ body: `m${i}`, partition: 1 }));
        expect(r.status).toBe(201);
      }
      for (const c of subscribers) await c.until(() => c.messages().length === posts, 'every message');
      for (const c of subscribers) expect(c.messages().map((m) => m.body)).toEqual(Array.from({ length: posts }, (_, i) => `m${i}`));

      // Both workers took posts and subscribers: their /metrics differ, and add up.
      const seen = new Map<number, number>();
      await until(
        async () => {
          const text = (await fresh(port, 'GET', '/metrics', { Authorization: `Admin ${ADMIN}` })).text;
          seen.set(series(text, 'holdline_messages_appended_total'), series(text, 'holdline_ws_connections'));
          return seen.size === 2;
        },
        { what: 'a scrape from each worker' },
      );
      const [a, b] = [...seen];
      expect(a![0] + b![0]).toBe(posts);
      expect(a![1]).toBeGreaterThan(0);
      expect(b![1]).toBeGreaterThan(0);
      expect(a![1] + b![1]).toBe(subscribers.length);
    } finally {
      for (const c of subscribers) await c.close();
    }

    cli.proc.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    expect(cli.logs().some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('the memory engine refuses more than one worker with a clear message, exit 2', async () => {
    const cli = holdlineFromSource(['serve', '--workers', '2', '--port', '0']);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr).toContain('--workers 2 (HOLDLINE_WORKERS) needs the redis engine');
  });

  it('a taken port is refused as without workers, exit 1', async () => {
    const first = holdlineFromSource(['serve', '--port', '0']);
    const port = await first.listening();
    const cli = holdlineFromSource(['serve', '--workers', '2', '--port', String(port), '--engine', 'redis'], {
      HOLDLINE_REDIS_URL: inject('redisUrl'),
      HOLDLINE_REDIS_PREFIX: freshPrefix('workers'),
    });
    expect((await cli.exited).code).toBe(1);
    expect(cli.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
  });
});
