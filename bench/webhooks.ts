/**
 * Webhook deliveries per second against a local receiver (issue 13: "webhook deliveries/s"): a
 * Holdline server in this process (memory, or Redis on a redis-server this script starts on a free
 * port), a loopback HTTP receiver answering 204, `--endpoints` endpoints each receiving every event.
 *
 *   npx tsx bench/webhooks.ts [--engine memory|redis] [--events 2000] [--endpoints 1]
 *
 * How: the receiver first answers 503, so each endpoint's worker stays at the first event while
 * `--events` events are recorded (tags created over REST); then it answers 204 and the clock runs
 * from that switch until every endpoint has every event: the backlog drained by the dispatcher
 * (read from the log, signed, POSTed one at a time per endpoint, cursor saved per event).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULTS, type HoldlineConfig } from '../src/config.js';
import type { CallStore } from '../src/engine/call-types.js';
import { MemoryCallStore } from '../src/engine/memory/calls.js';
import { MemoryEngine } from '../src/engine/memory/index.js';
import { MemoryWebhookStore } from '../src/engine/memory/webhooks.js';
import { RedisCallStore } from '../src/engine/redis/calls.js';
import { RedisEngine } from '../src/engine/redis/index.js';
import { RedisWebhookStore } from '../src/engine/redis/webhooks.js';
import type { Engine } from '../src/engine/types.js';
import type { WebhookStore } from '../src/engine/webhook-types.js';
import { createLogger } from '../src/logger.js';
import { createHoldlineServer } from '../src/server/index.js';
import { startRedisServer, type RedisServerHandle } from './lib/redis-server.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const engineKind = arg('engine', 'memory');
const events = Number(arg('events', '2000'));
const endpoints = Number(arg('endpoints', '1'));

async function main(): Promise<void> {
  let redis: RedisServerHandle | null = null;
  let engine: Engine;
  let calls: CallStore;
  let hooks: WebhookStore;
  if (engineKind === 'redis') {
    redis = await startRedisServer();
    const r = new RedisEngine({ url: redis.url, prefix: 'bench', sweepIntervalMs: 60_000 });
    await r.start();
    engine = r;
    calls = await RedisCallStore.open({ url: redis.url, prefix: 'bench', feeds: r.feeds, events: r.events });
    hooks = await RedisWebhookStore.open({ url: redis.url, prefix: 'bench' });
  } else {
    const m = new MemoryEngine({ sweepIntervalMs: 60_000 });
    await m.start();
    engine = m;
    calls = new MemoryCallStore({ events: m.events });
    hooks = new MemoryWebhookStore();
  }
  const config: HoldlineConfig = {
    ...DEFAULTS,
    port: 0,
    logLevel: 'silent',
    adminKey: 'bench-admin',
    webhookRetryBaseMs: 1,
    webhookRetryMaxMs: 5,
  };
  const server = createHoldlineServer({ config, engine, callStore: calls, webhookStore: hooks, logger: createLogger('silent') });
  const url = `http://127.0.0.1:${await server.listen()}`;

  let accepting = false;
  let delivered = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (!accepting) {
        res.writeHead(503).end();
        return;
      }
      delivered++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;

  const post = async (path: string, body: unknown, auth: string): Promise<Record<string, unknown>> => {
    const res = await fetch(url + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const key = (await post('/v1/apps', { name: 'bench' }, 'Admin bench-admin')).key as string;
  for (let i = 0; i < endpoints; i++) await post('/v1/webhooks', { url: hookUrl, secret: 'bench-secret-1234567890' }, `Application ${key}`);
  for (let i = 0; i < events; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, events - i) }, (_, j) => post('/v1/tags', { tag: `t${i + j}` }, `Application ${key}`)));
  }
  await engine.events.flush();

  const total = events * endpoints;
  const started = process.hrtime.bigint();
  accepting = true;
  while (delivered < total) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ engine: engineKind, endpoints, events, deliveries: total, seconds: Number(seconds.toFixed(3)), deliveries_per_s: Math.round(total / seconds) })}\n`,
  );

  await server.close();
  receiver.close();
  await calls.close();
  await hooks.close();
  await engine.close();
  await redis?.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
